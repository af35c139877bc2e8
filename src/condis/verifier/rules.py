"""The rule catalogue: every check condis makes, as data.

Each `Rule` has an id, a one-line statement, the DDIs and handlers it applies
to, the document it comes from, and the bug check Windows would raise. Where
Static Driver Verifier or Driver Verifier names a rule (spec/rules/), the id
is that name (`Irql_MCM_Function`, `SpinLock`, `NdisOidDoubleComplete`);
otherwise the id is a name in the same style, and the statement cites the
DDI page whose text the rule enforces. The runtime's checks look rules up
here by id; there is no second list.

Bug check codes: Driver Verifier reports NDIS DDI-compliance violations as
0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION, and documents a Parameter 1 code
for a few run-time rules (constants.md section 8). The Irql_* and SpinLock*
rules are Static Driver Verifier rules with no run-time code; condis reports
them as 0xC4 with Parameter 1 unset. NDIS's own run-time checks (an OID
completed that was not pending, a leaked NET_BUFFER_LIST) are 0x7C
BUGCODE_NDIS_DRIVER with the documented Parameter 1.

Every rule here applies to at least one DDI or handler condis implements.
The NDIS IRQL rule set has four more rules that do not: Irql_OID_Function,
Irql_SendRcv_Function, Irql_StatusIndication_Function and
Irql_NetBuffer_Function. Their pages (spec/rules/) list only connectionless
or filter DDIs (NdisOidRequest, NdisSendNetBufferLists,
NdisMIndicateStatusEx, NdisAllocateNetBufferList and the like), none of
which is part of CoNDIS or of spec/INDEX.md. The CoNDIS forms of those
operations (NdisCoOidRequest, NdisCoSendNetBufferLists,
NdisMCoIndicateStatusEx...) name Irql_Connection_Function,
Irql_MCM_Function or Irql_MCO_Function on their own pages, and are checked
under those.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType

from condis.catalogue import CATALOGUE
from condis.constants import BUGCODE_NDIS_DRIVER, DRIVER_VERIFIER_DETECTED_VIOLATION

__all__ = ["RULES", "Rule", "rule"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    id: str
    statement: str
    applies_to: tuple[str, ...]
    source: str
    bugcheck: int = DRIVER_VERIFIER_DETECTED_VIOLATION
    parameter1: int | None = None
    #: True for the rules that Static Driver Verifier or Driver Verifier define;
    #: False for the rules condis names after a DDI page's text.
    windows: bool = False


def _irql_rule(rule_id: str, page: str, who: str) -> Rule:
    return Rule(
        id=rule_id,
        statement=f"The NDIS functions for {who} must be called at their documented IRQL.",
        applies_to=(),  # filled from the DDI catalogue (spec/INDEX.md req.ddi-compliance)
        source=f"rules/{page}",
        windows=True,
    )


_RULES: tuple[Rule, ...] = (
    # --- IRQL (Static Driver Verifier) -----------------------------------
    _irql_rule("Irql_MCM_Function", "ndis-irql-mcm-function.md", "miniport call managers"),
    _irql_rule("Irql_CallManager_Function", "ndis-irql-callmanager-function.md", "call managers"),
    _irql_rule(
        "Irql_Protocol_Driver_Function",
        "ndis-irql-protocol-driver-function.md",
        "protocol drivers and CoNDIS clients",
    ),
    _irql_rule(
        "Irql_Miniport_Driver_Function", "ndis-irql-miniport-driver-function.md", "miniports"
    ),
    _irql_rule("Irql_Connection_Function", "ndis-irql-connection-function.md", "connections"),
    _irql_rule("Irql_MCO_Function", "ndis-irql-mco-function.md", "CoNDIS miniports"),
    _irql_rule("Irql_Miscellaneous_Function", "irql-rule-set--ndis-.md", "miscellaneous use"),
    _irql_rule("Irql_Timer_Function", "irql-rule-set--ndis-.md", "timers"),
    _irql_rule("Irql_Synch_Function", "irql-rule-set--ndis-.md", "synchronization"),
    # --- spin locks (Static Driver Verifier) ------------------------------
    Rule(
        id="SpinLock",
        statement="A spin lock is acquired only when unlocked, and released before the "
        "handler that acquired it returns to NDIS.",
        applies_to=(
            "NdisAcquireSpinLock",
            "NdisDprAcquireSpinLock",
            "NdisReleaseSpinLock",
            "NdisDprReleaseSpinLock",
        ),
        source="rules/ndis-spinlock.md",
        windows=True,
    ),
    Rule(
        id="SpinLockDpr",
        statement="NdisDprAcquireSpinLock and NdisDprReleaseSpinLock are called only at "
        "DISPATCH_LEVEL, on an unlocked / a held lock respectively.",
        applies_to=("NdisDprAcquireSpinLock", "NdisDprReleaseSpinLock"),
        source="rules/ndis-spinlockdpr.md",
        windows=True,
    ),
    Rule(
        id="SpinLockDprRelease",
        statement="A lock acquired with NdisDprAcquireSpinLock is released with "
        "NdisDprReleaseSpinLock, and one acquired with NdisAcquireSpinLock with "
        "NdisReleaseSpinLock.",
        applies_to=("NdisReleaseSpinLock", "NdisDprReleaseSpinLock"),
        source="rules/ndis-spinlockdprrelease.md",
        windows=True,
    ),
    Rule(
        id="SpinlockRelease",
        statement="A driver must not release a spin lock that it does not hold.",
        applies_to=("NdisReleaseSpinLock", "NdisDprReleaseSpinLock"),
        source="rules/ndis-spinlockrelease.md",
        windows=True,
    ),
    Rule(
        id="SpinLockBalanced",
        statement="Acquisitions and releases of each spin lock balance; a lock is not "
        "freed while held.",
        applies_to=("NdisFreeSpinLock",),
        source="rules/ndis-spinlockbalanced.md",
        windows=True,
    ),
    # --- handles -----------------------------------------------------------
    Rule(
        id="NdisHandleStale",
        statement="A driver must not use a handle after it became invalid for that driver "
        "(closed, completed, or its object gone).",
        applies_to=(),
        source="ddi/nf-ndis-ndisclcloseaddressfamily.md",
    ),
    Rule(
        id="NdisHandleForeign",
        statement="A driver may use only the handles NDIS gave it on this host.",
        applies_to=(),
        source="ddi/nf-ndis-ndisclopenaddressfamilyex.md",
    ),
    Rule(
        id="NdisHandleWrongKind",
        statement="A handle is passed only where a handle of its kind is expected.",
        applies_to=(),
        source="ddi/nf-ndis-ndisclopenaddressfamilyex.md",
    ),
    Rule(
        id="NdisHandleNotYetValid",
        statement="A driver must not use a handle before the operation that issues it has "
        "completed successfully (a pended NdisOpenAdapterEx or NdisClOpenAddressFamilyEx).",
        applies_to=(),
        source="ddi/nf-ndis-ndisopenadapterex.md",
    ),
    # --- completions ---------------------------------------------------------
    Rule(
        id="CoNdisCompleteNotPending",
        statement="A completion DDI is called only for an operation whose handler returned "
        "NDIS_STATUS_PENDING (or is still running and will return it).",
        applies_to=(),
        source="ddi/nf-ndis-ndiscmopenaddressfamilycomplete.md",
    ),
    Rule(
        id="CoNdisDoubleComplete",
        statement="A pended operation is completed exactly once.",
        applies_to=(),
        source="rules/ndis-doublecomplete.md",
    ),
    Rule(
        id="CoNdisCompletedButNotPended",
        statement="A handler that already called the completion DDI for its operation "
        "must return NDIS_STATUS_PENDING.",
        applies_to=(),
        source="ddi/nc-ndis-protocol_cm_open_af.md",
    ),
    Rule(
        id="CoNdisMcmSpelling",
        statement="An MCM completes and notifies with the NdisMCm spelling; a stand-alone "
        "call manager with the NdisCm spelling.",
        applies_to=(),
        source="ddi/nf-ndis-ndismcmcloseaddressfamilycomplete.md",
    ),
    Rule(
        id="CoNdisHandlerStatus",
        statement="A handler returns one of the statuses its page documents.",
        applies_to=(),
        source="ddi/nc-ndis-protocol_cm_close_af.md",
    ),
    Rule(
        id="CoNdisCompleteStatus",
        statement="A completion DDI is never given NDIS_STATUS_PENDING as the final status.",
        applies_to=(),
        source="ddi/nf-ndis-ndiscmopenaddressfamilycomplete.md",
    ),
    # --- teardown --------------------------------------------------------------
    Rule(
        id="CoNdisPendingOnTeardown",
        statement="No operation a driver pended is still pending when its adapter halts or "
        "its binding closes.",
        applies_to=("MiniportHaltEx", "NdisCloseAdapterEx"),
        source="ddi/nc-ndis-miniport_halt.md",
    ),
    Rule(
        id="CoNdisAfOpenOnTeardown",
        statement="Every address family opened on an adapter or binding is closed before the "
        "adapter halts or the binding closes.",
        applies_to=("MiniportHaltEx", "NdisCloseAdapterEx"),
        source="guide/closing-an-address-family.md",
    ),
    Rule(
        id="NdisBindIncomplete",
        statement="A bind completes with NDIS_STATUS_SUCCESS only after its NdisOpenAdapterEx "
        "succeeded, and a failed bind leaves the adapter closed.",
        applies_to=("ProtocolBindAdapterEx", "NdisCompleteBindAdapterEx"),
        source="ddi/nc-ndis-protocol_bind_adapter_ex.md",
    ),
    Rule(
        id="CoNdisUnbindIncomplete",
        statement="An unbind completes only after NdisCloseAdapterEx was called and its close "
        "completed.",
        applies_to=("ProtocolUnbindAdapterEx", "NdisCompleteUnbindAdapterEx"),
        source="ddi/nc-ndis-protocol_unbind_adapter_ex.md",
    ),
    Rule(
        id="CoNdisNotifyCloseNotClosed",
        statement="A client that reports a close notification as successful has closed the AF "
        "with NdisClCloseAddressFamily.",
        applies_to=("ProtocolClNotifyCloseAf", "NdisClNotifyCloseAddressFamilyComplete"),
        source="ddi/nc-ndis-protocol_cl_notify_close_af.md",
    ),
    Rule(
        id="CoNdisAfCloseWithChildren",
        statement="A client deregisters its SAPs and deletes its VCs on an AF before closing "
        "the AF; NDIS fails the close with NDIS_STATUS_FAILURE otherwise.",
        applies_to=("NdisClCloseAddressFamily",),
        source="ddi/nc-ndis-protocol_cl_close_af_complete.md",
    ),
    Rule(
        id="CoNdisDeleteActiveVc",
        statement="A VC is deleted only when it has no call and has been deactivated; NDIS "
        "returns NDIS_STATUS_NOT_ACCEPTED otherwise.",
        applies_to=("NdisCoDeleteVc", "NdisMCmDeleteVc"),
        source="ddi/nf-ndis-ndiscodeletevc.md",
    ),
    Rule(
        id="CoNdisVcNotCreator",
        statement="Only the driver that created a VC may delete it.",
        applies_to=("NdisCoDeleteVc", "NdisMCmDeleteVc"),
        source="guide/deleting-a-vc.md",
    ),
    Rule(
        id="CoNdisVcOpenOnTeardown",
        statement="Every VC a driver created on an adapter is deleted before its binding "
        "closes or the adapter halts.",
        applies_to=("NdisCloseAdapterEx", "MiniportHaltEx"),
        source="guide/deleting-a-vc.md",
    ),
    Rule(
        id="CoNdisCallOnInactiveVc",
        statement="A call manager activates a VC before it completes an outgoing call on it "
        "with NDIS_STATUS_SUCCESS or dispatches an incoming call on it.",
        applies_to=(
            "NdisCmMakeCallComplete",
            "NdisMCmMakeCallComplete",
            "NdisCmDispatchIncomingCall",
            "NdisMCmDispatchIncomingCall",
        ),
        source="ddi/nf-ndis-ndiscmmakecallcomplete.md",
    ),
    Rule(
        id="CoNdisCallState",
        statement="Call DDIs follow the documented sequence: an incoming call is connected only "
        "after the client accepted it, and only a call that is up can be closed.",
        applies_to=(),
        source="guide/indicating-an-incoming-call.md",
    ),
    Rule(
        id="CoNdisSendOnInactiveVc",
        statement="Data is sent or indicated only on an active VC whose call is connected; NDIS "
        "fails such a send with NDIS_STATUS_VC_NOT_ACTIVATED.",
        applies_to=("NdisCoSendNetBufferLists", "NdisMCoIndicateReceiveNetBufferLists"),
        source="ddi/nf-ndis-ndisclclosecall.md",
    ),
    Rule(
        id="CoNdisNblOwnership",
        statement="A driver passes on only NBLs it owns: each NBL sent is completed once, each "
        "NBL indicated is returned once, and SourceHandle names the VC.",
        applies_to=(
            "NdisCoSendNetBufferLists",
            "NdisMCoSendNetBufferListsComplete",
            "NdisMCoIndicateReceiveNetBufferLists",
            "NdisReturnNetBufferLists",
        ),
        source="ddi/nf-ndis-ndiscosendnetbufferlists.md",
    ),
    Rule(
        id="CoNdisCloseCallWithSends",
        statement="Before calling NdisClCloseCall, a client makes sure all its sends on the "
        "VC have come back (ProtocolCoSendNetBufferListsComplete).",
        applies_to=("NdisClCloseCall",),
        source="ddi/nf-ndis-ndisclclosecall.md",
    ),
    Rule(
        id="CoNdisCloseCallWithQosPending",
        statement="A call manager completes a QoS change it pended "
        "(Ndis(M)CmModifyCallQoSComplete) before it completes the close of that call with "
        "NDIS_STATUS_SUCCESS, and before it deletes the VC of, or offers a new call on, a "
        "call that ended otherwise (an incoming call the client rejected).",
        applies_to=(
            "ProtocolCmCloseCall",
            "NdisCmCloseCallComplete",
            "NdisMCmCloseCallComplete",
            "ProtocolCmModifyCallQoS",
            "NdisCoDeleteVc",
            "NdisMCmDeleteVc",
            "NdisCmDispatchIncomingCall",
            "NdisMCmDispatchIncomingCall",
        ),
        source="ddi/nc-ndis-protocol_cm_modify_qos_call.md",
    ),
    Rule(
        id="CoNdisNblLeak",
        statement="No NBL is still out (sent and not completed, indicated and not returned) when "
        "its adapter halts.",
        applies_to=("MiniportHaltEx",),
        source="ddi/nf-ndis-ndismcosendnetbufferlistscomplete.md",
        bugcheck=BUGCODE_NDIS_DRIVER,
        parameter1=0x27,  # NDIS_BUGCHECK_LEAKED_NBL
    ),
    Rule(
        id="NdisOidComplete",
        statement="An OID request is completed with a final status, never NDIS_STATUS_PENDING.",
        applies_to=(
            "NdisMCoOidRequestComplete",
            "NdisCoOidRequestComplete",
            "NdisMCmOidRequestComplete",
        ),
        source="rules/ndis-ndisoidcomplete.md",
        parameter1=0x00091001,
        windows=True,
    ),
    Rule(
        id="NdisOidDoubleComplete",
        statement="A driver completes an OID request only once.",
        applies_to=(
            "NdisMCoOidRequestComplete",
            "NdisCoOidRequestComplete",
            "NdisMCmOidRequestComplete",
        ),
        source="rules/ndis-ndisoiddoublecomplete.md",
        parameter1=0x00091002,
        windows=True,
    ),
    Rule(
        id="NdisOidDoubleRequest",
        statement="A driver does not issue an NDIS_OID_REQUEST that is still pending.",
        applies_to=("NdisCoOidRequest", "NdisMCmOidRequest"),
        source="rules/bug-check-0xc4--driver-verifier-detected-violation.md",
        parameter1=0x0009100E,
        windows=True,
    ),
    Rule(
        id="NdisInvalidOidCompletion",
        statement="A driver completes only an OID request that is pending on it.",
        applies_to=(
            "NdisMCoOidRequestComplete",
            "NdisCoOidRequestComplete",
            "NdisMCmOidRequestComplete",
        ),
        source="rules/bug-check-0x7c--bugcode-ndis-driver.md",
        bugcheck=BUGCODE_NDIS_DRIVER,
        parameter1=0x26,  # NDIS_BUGCHECK_INVALID_OID_COMPLETION
    ),
    Rule(
        id="CoNdisDropLastParty",
        statement="A client closes a multipoint call with its last party instead of dropping "
        "that party.",
        applies_to=("NdisClDropParty",),
        source="ddi/nf-ndis-ndiscldropparty.md",
    ),
    Rule(
        id="NdisWaitDeadlock",
        statement="A thread that waits at PASSIVE_LEVEL waits for something that can still happen.",
        applies_to=("NdisWaitEvent",),
        source="ddi/nc-ndis-protocol_unbind_adapter_ex.md",
    ),
    Rule(
        id="NdisWorkItemLeak",
        statement="A work item allocated with an adapter handle is freed before or in "
        "MiniportHaltEx.",
        applies_to=("NdisAllocateIoWorkItem", "MiniportHaltEx"),
        source="ddi/nf-ndis-ndisallocateioworkitem.md",
    ),
    Rule(
        id="NdisWorkItemQueued",
        statement="A work item is queued again or freed only after its routine has started "
        "running.",
        applies_to=("NdisQueueIoWorkItem", "NdisFreeIoWorkItem"),
        source="ddi/nf-ndis-ndisqueueioworkitem.md",
    ),
    Rule(
        id="CoNdisMissingEntryPoint",
        statement="A client or call manager sets every entry point of its "
        "NDIS_CO_*_OPTIONAL_HANDLERS, with placeholders that return "
        "NDIS_STATUS_NOT_SUPPORTED for what it does not support.",
        applies_to=("NdisSetOptionalHandlers",),
        source="ddi/ns-ndis-_ndis_co_call_manager_optional_handlers.md",
    ),
    Rule(
        id="NdisWatchdog",
        statement="A driver completes an operation it pended before NDIS's watchdog expires "
        "(Ndis(watchdog_ms=...)); a call into a driver that takes too long is a bug check.",
        applies_to=(),  # filled below: every completion DDI
        source="rules/bug-check-0x7c--bugcode-ndis-driver.md",
        bugcheck=BUGCODE_NDIS_DRIVER,
        parameter1=0x25,  # NDIS_BUGCHECK_WATCHDOG
    ),
    Rule(
        id="NdisDriverUnloadLeak",
        statement="A driver that unloads, or whose DriverEntry fails after registering, has "
        "deregistered (NdisMDeregisterMiniportDriver, NdisDeregisterProtocolDriver) and freed "
        "everything it allocated through NDIS.",
        applies_to=("DriverEntry", "MiniportDriverUnload", "DriverUnload"),
        source="rules/bug-check-0xc4--driver-verifier-detected-violation.md",
        parameter1=0x62,  # unloading without first freeing its pool allocations
        windows=True,
    ),
    Rule(
        id="NdisDeregisterContext",
        statement="A driver deregisters only from DriverEntry (after a failure) or from its "
        "unload routine, never from an entry point NDIS calls.",
        applies_to=("NdisMDeregisterMiniportDriver", "NdisDeregisterProtocolDriver"),
        source="ddi/nf-ndis-ndismregisterminiportdriver.md",
    ),
    Rule(
        id="NdisTimerLeak",
        statement="A timer object is cancelled and freed before its adapter halts.",
        applies_to=("NdisAllocateTimerObject", "MiniportHaltEx"),
        source="ddi/nf-ndis-ndiscanceltimerobject.md",
        bugcheck=BUGCODE_NDIS_DRIVER,
        parameter1=0x09,  # NDIS_BUGCHECK_HALT_WITHOUT_CANCEL_TIMER
    ),
)


def _with_catalogue(r: Rule) -> Rule:
    """Fill an SDV rule's `applies_to` from the DDIs whose pages name it."""
    if r.applies_to:
        return r
    if r.id == "NdisWatchdog":
        completions = (
            e.name
            for e in CATALOGUE.values()
            if e.name.startswith("Ndis") and "Complete" in e.name and "NetBuffer" not in e.name
        )
        return replace(r, applies_to=tuple(sorted(completions)))
    ddis = tuple(e.name for e in CATALOGUE.values() if r.id in e.rules)
    return replace(r, applies_to=ddis) if ddis else r


RULES: Mapping[str, Rule] = MappingProxyType({r.id: _with_catalogue(r) for r in _RULES})


def rule(rule_id: str) -> Rule:
    """The rule with this id; KeyError names it if it does not exist."""
    try:
        return RULES[rule_id]
    except KeyError:
        raise KeyError(f"unknown rule {rule_id!r}: not in condis.verifier.rules") from None
