"""The completion contract every pendable operation follows.

Many CoNDIS operations go the same way: a driver calls a DDI, NDIS calls the
other driver's handler, and the handler either finishes and returns a
status, or returns NDIS_STATUS_PENDING and later calls the completion DDI
the page names (ProtocolCmOpenAf -> NdisCmOpenAddressFamilyComplete). The
handler may also call the completion DDI before it returns PENDING (on
Windows another processor can get there first), and NDIS then delivers the
completion at once. This module is that contract as one table, shared by all
operations, after trio's rule that a parked task is rescheduled exactly once.

Every pendable operation is declared once, as a `Pendable` row of
`OPERATIONS`: its kind, the handler that may pend it, the completion DDI that
ends it (spelled NdisMCm... by an MCM and NdisCm... by a stand-alone call
manager where the call manager completes it) and its page. operations.py
runs every one of them the same way.

Inputs are what NDIS observes: the handler returned PENDING, the handler
returned another status, or the driver called the completion DDI. A row with
a rule is a violation: completing what never pended, completing twice, or
completing inside the handler and then not returning PENDING.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from condis.constants import Key
from condis.handles import NDIS_HANDLE

__all__ = [
    "OPERATIONS",
    "OP_TRANSITIONS",
    "OUTSTANDING",
    "OpInput",
    "OpState",
    "OpTransition",
    "Operation",
    "Pendable",
]


class OpState(Key):
    IN_HANDLER = "in handler"
    COMPLETED_IN_HANDLER = "completed in handler"
    PENDING = "pending"
    DONE_SYNC = "done (synchronously)"
    DONE_ASYNC = "done (completed)"


class OpInput(Key):
    RETURNED_PENDING = "handler returned NDIS_STATUS_PENDING"
    RETURNED = "handler returned a final status"
    COMPLETED = "completion DDI called"


@dataclass(frozen=True, slots=True)
class OpTransition:
    target: OpState
    #: the rule broken by taking this row, or None for a legal row
    rule: str | None = None
    #: True when this input delivers the operation's result to the initiator now
    delivers: bool = False


_S, _I = OpState, OpInput
_ROWS: Final[dict[tuple[OpState, OpInput], OpTransition]] = {
    (_S.IN_HANDLER, _I.RETURNED): OpTransition(_S.DONE_SYNC, delivers=True),
    (_S.IN_HANDLER, _I.RETURNED_PENDING): OpTransition(_S.PENDING),
    (_S.IN_HANDLER, _I.COMPLETED): OpTransition(_S.COMPLETED_IN_HANDLER, delivers=True),
    (_S.COMPLETED_IN_HANDLER, _I.RETURNED_PENDING): OpTransition(_S.DONE_ASYNC),
    (_S.COMPLETED_IN_HANDLER, _I.RETURNED): OpTransition(
        _S.DONE_ASYNC, rule="CoNdisCompletedButNotPended"
    ),
    (_S.COMPLETED_IN_HANDLER, _I.COMPLETED): OpTransition(
        _S.COMPLETED_IN_HANDLER, rule="CoNdisDoubleComplete"
    ),
    (_S.PENDING, _I.COMPLETED): OpTransition(_S.DONE_ASYNC, delivers=True),
    (_S.DONE_SYNC, _I.COMPLETED): OpTransition(_S.DONE_SYNC, rule="CoNdisCompleteNotPending"),
    (_S.DONE_ASYNC, _I.COMPLETED): OpTransition(_S.DONE_ASYNC, rule="CoNdisDoubleComplete"),
}
OP_TRANSITIONS: Final[Mapping[tuple[OpState, OpInput], OpTransition]] = MappingProxyType(_ROWS)
OUTSTANDING: Final = frozenset((_S.IN_HANDLER, _S.COMPLETED_IN_HANDLER, _S.PENDING))
del _S, _I


@dataclass(slots=True, eq=False)
class Operation:
    """One pendable operation: which handler runs it and who must complete it."""

    id: int
    kind: str
    handler: str
    #: the completion DDI spellings allowed, e.g. ("NdisMCmOpenAddressFamilyComplete",)
    completers: tuple[str, ...]
    handle: NDIS_HANDLE | None
    started: int
    state: OpState = OpState.IN_HANDLER

    @property
    def outstanding(self) -> bool:
        """True until the operation has reached a DONE state."""
        return self.state in OUTSTANDING

    def step(self, event: OpInput) -> OpTransition:
        """Take the row for (state, event); the caller reports its rule if any."""
        row = _ROWS.get((self.state, event))
        if row is None:
            raise ValueError(f"operation {self.kind}#{self.id}: no row for {self.state} x {event}")
        self.state = row.target
        return row


@dataclass(frozen=True, slots=True)
class Pendable:
    """One kind of pendable operation: who may pend it and what completes it."""

    kind: str
    #: the handler that may return NDIS_STATUS_PENDING
    handler: str
    #: the completion DDI; for a call manager's, what follows NdisCm / NdisMCm
    completion: str
    page: str
    #: True when a call manager completes it: NdisMCm<completion> for an MCM,
    #: NdisCm<completion> for a stand-alone call manager
    spelled: bool = False
    #: a second spelling an MCM may also use (a macro that expands to `completion`)
    mcm_alias: str | None = None
    #: `completers(False)` and `completers(True)`, worked out once
    _spellings: tuple[tuple[str, ...], tuple[str, ...]] = field(
        init=False, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_spellings", (self._completers(False), self._completers(True)))

    def completers(self, mcm: bool = False) -> tuple[str, ...]:
        """The completion DDI spellings allowed when the completer is (or is not) an MCM."""
        return self._spellings[mcm]

    def _completers(self, mcm: bool) -> tuple[str, ...]:
        if self.spelled:
            return (("NdisMCm" if mcm else "NdisCm") + self.completion,)
        if mcm and self.mcm_alias is not None:
            return (self.completion, self.mcm_alias)
        return (self.completion,)


def _p(kind: str, handler: str, completion: str, page: str, **kw: object) -> Pendable:
    return Pendable(kind, handler, completion, "ddi/" + page, **kw)  # type: ignore[arg-type]


#: Every pendable operation of CoNDIS, by name.
OPERATIONS: Final[Mapping[str, Pendable]] = MappingProxyType(
    {
        "bind": _p(
            "bind",
            "ProtocolBindAdapterEx",
            "NdisCompleteBindAdapterEx",
            "nc-ndis-protocol_bind_adapter_ex.md",
        ),
        "unbind": _p(
            "unbind",
            "ProtocolUnbindAdapterEx",
            "NdisCompleteUnbindAdapterEx",
            "nc-ndis-protocol_unbind_adapter_ex.md",
        ),
        "open-af": _p(
            "open-af",
            "ProtocolCmOpenAf",
            "OpenAddressFamilyComplete",
            "nc-ndis-protocol_cm_open_af.md",
            spelled=True,
        ),
        "close-af": _p(
            "close-af",
            "ProtocolCmCloseAf",
            "CloseAddressFamilyComplete",
            "nc-ndis-protocol_cm_close_af.md",
            spelled=True,
        ),
        "notify-close-af": _p(
            "notify-close-af",
            "ProtocolClNotifyCloseAf",
            "NdisClNotifyCloseAddressFamilyComplete",
            "nc-ndis-protocol_cl_notify_close_af.md",
        ),
        "register-sap": _p(
            "register-sap",
            "ProtocolCmRegisterSap",
            "RegisterSapComplete",
            "nc-ndis-protocol_cm_reg_sap.md",
            spelled=True,
        ),
        "deregister-sap": _p(
            "deregister-sap",
            "ProtocolCmDeregisterSap",
            "DeregisterSapComplete",
            "nc-ndis-protocol_cm_deregister_sap.md",
            spelled=True,
        ),
        "activate-vc": _p(
            "activate-vc",
            "MiniportCoActivateVc",
            "NdisMCoActivateVcComplete",
            "nc-ndis-miniport_co_activate_vc.md",
        ),
        "deactivate-vc": _p(
            "deactivate-vc",
            "MiniportCoDeactivateVc",
            "NdisMCoDeactivateVcComplete",
            "nc-ndis-miniport_co_deactivate_vc.md",
        ),
        "make-call": _p(
            "make-call",
            "ProtocolCmMakeCall",
            "MakeCallComplete",
            "nc-ndis-protocol_cm_make_call.md",
            spelled=True,
        ),
        "incoming-call": _p(
            "incoming-call",
            "ProtocolClIncomingCall",
            "NdisClIncomingCallComplete",
            "nc-ndis-protocol_cl_incoming_call.md",
        ),
        "close-call": _p(
            "close-call",
            "ProtocolCmCloseCall",
            "CloseCallComplete",
            "nc-ndis-protocol_cm_close_call.md",
            spelled=True,
        ),
        "modify-qos": _p(
            "modify-qos",
            "ProtocolCmModifyCallQoS",
            "ModifyCallQoSComplete",
            "nc-ndis-protocol_cm_modify_qos_call.md",
            spelled=True,
        ),
        "add-party": _p(
            "add-party",
            "ProtocolCmAddParty",
            "AddPartyComplete",
            "nc-ndis-protocol_cm_add_party.md",
            spelled=True,
        ),
        "drop-party": _p(
            "drop-party",
            "ProtocolCmDropParty",
            "DropPartyComplete",
            "nc-ndis-protocol_cm_drop_party.md",
            spelled=True,
        ),
        # an OID request to the miniport under a binding
        "miniport-oid": _p(
            "oid-request",
            "MiniportCoOidRequest",
            "NdisMCoOidRequestComplete",
            "nc-ndis-miniport_co_oid_request.md",
        ),
        # an OID request to the other protocol of an AF; an MCM may complete it with the
        # macro NdisMCmOidRequestComplete, which expands to NdisCoOidRequestComplete
        "protocol-oid": _p(
            "oid-request",
            "ProtocolCoOidRequest",
            "NdisCoOidRequestComplete",
            "nc-ndis-protocol_co_oid_request.md",
            mcm_alias="NdisMCmOidRequestComplete",
        ),
    }
)
