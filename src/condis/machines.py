"""Every entity's state machine, as data: the tables the DDIs' guards read.

Each NDIS object condis tracks (adapter, binding and its adapter open, AF,
SAP, VC, call, party) has a `State` enum, an `Input` enum and one table of
rows, h2-style: ``(state, input) -> Transition``. All transition logic of the
objects is here; the entity engines (af.py, sap.py, ...) take rows, they do
not decide. The pend/complete contract every operation follows is the
seventh machine, ops.py's `OP_TRANSITIONS`, listed here with the others.

Inputs are of two kinds:

* what NDIS observes and moves on (an open completed, a close refused): a
  state without a row for such an input means condis itself went wrong;
* what a driver asks for with a DDI (NdisClCloseAddressFamily, a send on a
  VC). For those, every state has a row. A row with a `target` is legal and
  gives the next state (a self-loop when the DDI only needs the state, like
  NdisClRegisterSap needing an open AF). A row without a target refuses the
  DDI and leaves the state as it was: its `status` is what the DDI returns,
  its `rule` the rule the driver broke, if any, and its `page` where the WDK
  says so. The DDI's precondition is that lookup (`Machine.guard`); the
  verifier, `condis states`, the docs and the tests read the same rows.

`step` is the one transition function; each record's `move` calls it with
the message its entity has always given.

Choices the pages leave open, and what the tables say:

* "No call on a VC" reads as `CallState.CLOSED`: a VC whose last call closed
  and a VC that never carried one answer every call DDI alike.
* A party whose drop the call manager fails stays on its call, connected,
  whether the client dropped it of its own accord or after
  ProtocolClIncomingDropParty. The drop pages say only what a successful
  drop does (the NdisPartyHandle becomes invalid); the client may drop the
  party again.
* `PartyState` is a `StrEnum`, so a party's state still compares equal to
  the strings ("connected", "dropped") it was before it had a table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import Enum, StrEnum
from types import MappingProxyType
from typing import Any, Final, Generic, TypeVar, cast

from condis.errors import CondisInternalError
from condis.ops import OP_TRANSITIONS, OpInput, OpState, OpTransition
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_CALL_ACTIVE,
    NDIS_STATUS_CLOSING,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
)

__all__ = [
    "ADAPTER",
    "AF",
    "BINDING",
    "BINDING_OPEN",
    "CALL",
    "MACHINES",
    "OPERATION",
    "PARTY",
    "SAP",
    "VC",
    "AdapterInput",
    "AdapterState",
    "AfInput",
    "AfState",
    "BindingInput",
    "BindingState",
    "CallInput",
    "CallState",
    "Machine",
    "OpenInput",
    "OpenState",
    "PartyInput",
    "PartyState",
    "SapInput",
    "SapState",
    "Transition",
    "VcInput",
    "VcState",
    "step",
]

S = TypeVar("S", bound=Enum)
I = TypeVar("I", bound=Enum)  # noqa: E741


@dataclass(frozen=True, slots=True)
class Transition(Generic[S]):
    """One row: what an input does in a state.

    `target` is the next state, or None when the row refuses the input (the
    state stays); `status` is what a refused DDI returns, `rule` the rule the
    driver broke by asking, and `page` the spec page that documents the row.
    """

    target: S | None
    page: str
    status: NDIS_STATUS | None = None
    rule: str | None = None

    @property
    def refused(self) -> bool:
        return self.target is None


#: A row of any machine: an entity's Transition, or the pend/complete contract's OpTransition.
Row = Transition[Any] | OpTransition


@dataclass(frozen=True, slots=True)
class Machine(Generic[S, I]):
    """One entity's machine: its states, its inputs and its read-only table."""

    name: str
    #: what the machine is the life of, for people
    title: str
    states: type[S]
    inputs: type[I]
    initial: S
    rows: Mapping[tuple[S, I], Row]

    def row(self, state: S, event: I) -> Row | None:
        return self.rows.get((state, event))

    def guard(self, state: S, event: I) -> Transition[S]:
        """The row a DDI's precondition reads; a missing one is condis's own bug."""
        row = self.rows.get((state, event))
        if not isinstance(row, Transition):
            raise CondisInternalError(f"{self.name} machine: no row for {event.value} in {state}")
        return row

    def targets(self) -> Mapping[tuple[S, I], S]:
        """The legal rows, as (state, input) -> next state."""
        out: dict[tuple[S, I], S] = {}
        for pair, row in self.rows.items():
            if row.target is not None:
                out[pair] = cast(S, row.target)
        return MappingProxyType(out)

    def legal(self) -> Mapping[tuple[S, I], Row]:
        """The legal rows themselves (those with a target and no rule)."""
        return MappingProxyType(
            {p: r for p, r in self.rows.items() if r.target is not None and r.rule is None}
        )


def step(machine: Machine[S, I], state: S, event: I, error: Callable[[], Exception]) -> S:
    """The one transition function: the next state, or `error()` raised, state unchanged."""
    row = machine.rows.get((state, event))
    if row is None or row.target is None:
        raise error()
    return cast(S, row.target)


def _table(
    rows: Mapping[tuple[S, I], Transition[S]],
    *refusals: tuple[Iterable[S], I, Transition[S]],
) -> Mapping[tuple[S, I], Row]:
    """`rows`, plus for each (states, input, refusal) the refusal in each of those states
    that has no row of its own for the input."""
    table: dict[tuple[S, I], Row] = dict(rows)
    for states, event, refusal in refusals:
        for state in states:
            table.setdefault((state, event), refusal)
    return MappingProxyType(table)


def _refuse(page: str, status: NDIS_STATUS | None = None, rule: str | None = None) -> Any:
    return Transition(None, page, status=status, rule=rule)


_DDI = "ddi/"

# --- adapters (guide/adapter-states-of-a-miniport-driver.md) -------------------------------------


class AdapterState(Enum):
    HALTED = "halted"
    INITIALIZING = "initializing"
    RUNNING = "running"
    HALTING = "halting"


class AdapterInput(Enum):
    INITIALIZE = "MiniportInitializeEx called"
    INIT_SUCCEEDED = "MiniportInitializeEx returned NDIS_STATUS_SUCCESS"
    INIT_FAILED = "MiniportInitializeEx returned a failure"
    HALT = "halt started"
    HALTED = "MiniportHaltEx returned"
    REGISTER_AF = "NdisMCmRegisterAddressFamilyEx"


_A, _AI = AdapterState, AdapterInput
_INIT, _HALT = _DDI + "nc-ndis-miniport_initialize.md", _DDI + "nc-ndis-miniport_halt.md"
_MCM_AF = _DDI + "nf-ndis-ndismcmregisteraddressfamilyex.md"
ADAPTER: Final = Machine(
    "adapter",
    "miniport adapter (MiniportAdapterHandle)",
    AdapterState,
    AdapterInput,
    AdapterState.HALTED,
    _table(
        {
            (_A.HALTED, _AI.INITIALIZE): Transition(_A.INITIALIZING, _INIT),
            (_A.INITIALIZING, _AI.INIT_SUCCEEDED): Transition(_A.RUNNING, _INIT),
            (_A.INITIALIZING, _AI.INIT_FAILED): Transition(_A.HALTED, _INIT),
            (_A.RUNNING, _AI.HALT): Transition(_A.HALTING, _HALT),
            (_A.HALTING, _AI.HALTED): Transition(_A.HALTED, _HALT),
            # an MCM registers its AFs from MiniportInitializeEx (or later, while running)
            (_A.INITIALIZING, _AI.REGISTER_AF): Transition(_A.INITIALIZING, _MCM_AF),
            (_A.RUNNING, _AI.REGISTER_AF): Transition(_A.RUNNING, _MCM_AF),
        },
        (AdapterState, _AI.REGISTER_AF, _refuse(_MCM_AF, NDIS_STATUS_FAILURE)),
    ),
)

# --- bindings (guide/binding-states-of-a-protocol-driver.md) -------------------------------------


class BindingState(Enum):
    OPENING = "opening"
    RUNNING = "running"
    CLOSING = "closing"
    UNBOUND = "unbound"


class BindingInput(Enum):
    BIND_COMPLETE = "bind completed with NDIS_STATUS_SUCCESS"
    BIND_FAILED = "bind completed with a failure"
    UNBIND = "ProtocolUnbindAdapterEx called"
    UNBIND_COMPLETE = "unbind completed"
    REGISTER_AF = "NdisCmRegisterAddressFamilyEx on the binding"
    OPEN_AF = "NdisClOpenAddressFamilyEx on the binding"
    SERVE_OPEN = "a client opens an AF that the binding's call manager offers"


_B, _BI = BindingState, BindingInput
_BIND = _DDI + "nc-ndis-protocol_bind_adapter_ex.md"
_UNBIND = _DDI + "nc-ndis-protocol_unbind_adapter_ex.md"
_CM_AF = _DDI + "nf-ndis-ndiscmregisteraddressfamilyex.md"
_OPEN_AF = _DDI + "nf-ndis-ndisclopenaddressfamilyex.md"
BINDING: Final = Machine(
    "binding",
    "protocol binding (NdisBindingHandle)",
    BindingState,
    BindingInput,
    BindingState.OPENING,
    _table(
        {
            (_B.OPENING, _BI.BIND_COMPLETE): Transition(_B.RUNNING, _BIND),
            (_B.OPENING, _BI.BIND_FAILED): Transition(_B.UNBOUND, _BIND),
            (_B.RUNNING, _BI.UNBIND): Transition(_B.CLOSING, _UNBIND),
            (_B.CLOSING, _BI.UNBIND_COMPLETE): Transition(_B.UNBOUND, _UNBIND),
            # a call manager may offer AFs as soon as its adapter open has succeeded
            (_B.OPENING, _BI.REGISTER_AF): Transition(_B.OPENING, _CM_AF),
            (_B.RUNNING, _BI.REGISTER_AF): Transition(_B.RUNNING, _CM_AF),
            (_B.OPENING, _BI.OPEN_AF): Transition(_B.OPENING, _OPEN_AF),
            (_B.RUNNING, _BI.OPEN_AF): Transition(_B.RUNNING, _OPEN_AF),
            (_B.RUNNING, _BI.SERVE_OPEN): Transition(_B.RUNNING, _OPEN_AF),
        },
        (BindingState, _BI.REGISTER_AF, _refuse(_CM_AF, NDIS_STATUS_FAILURE)),
        (BindingState, _BI.OPEN_AF, _refuse(_OPEN_AF, NDIS_STATUS_FAILURE)),
        (BindingState, _BI.SERVE_OPEN, _refuse(_OPEN_AF, NDIS_STATUS_FAILURE)),
    ),
)


class OpenState(Enum):
    """The NdisOpenAdapterEx / NdisCloseAdapterEx side of a binding."""

    NOT_OPENED = "not opened"
    OPEN_PENDING = "open pending"
    OPEN = "open"
    CLOSE_PENDING = "close pending"
    CLOSED = "closed"


class OpenInput(Enum):
    OPEN = "NdisOpenAdapterEx"
    OPEN_PENDED = "NDIS pended NdisOpenAdapterEx"
    OPEN_COMPLETED = "NDIS completed the open (ProtocolOpenAdapterCompleteEx)"
    CLOSE = "NdisCloseAdapterEx"
    CLOSE_PENDED = "NDIS pended NdisCloseAdapterEx"
    CLOSE_COMPLETED = "NDIS completed the close (ProtocolCloseAdapterCompleteEx)"
    USE = "a DDI given the NdisBindingHandle"
    REGISTER_AF = "NdisCmRegisterAddressFamilyEx on the binding"


_O, _OI = OpenState, OpenInput
_OPEN = _DDI + "nf-ndis-ndisopenadapterex.md"
_CLOSE = _DDI + "nf-ndis-ndiscloseadapterex.md"
BINDING_OPEN: Final = Machine(
    "binding-open",
    "adapter open of a binding (NdisOpenAdapterEx, NdisCloseAdapterEx)",
    OpenState,
    OpenInput,
    OpenState.NOT_OPENED,
    _table(
        {
            (_O.NOT_OPENED, _OI.OPEN): Transition(_O.OPEN, _OPEN),
            (_O.NOT_OPENED, _OI.OPEN_PENDED): Transition(_O.OPEN_PENDING, _OPEN),
            (_O.OPEN_PENDING, _OI.OPEN_COMPLETED): Transition(
                _O.OPEN, _DDI + "nc-ndis-protocol_open_adapter_complete_ex.md"
            ),
            (_O.OPEN, _OI.CLOSE): Transition(_O.CLOSED, _CLOSE),
            (_O.OPEN, _OI.CLOSE_PENDED): Transition(_O.CLOSE_PENDING, _CLOSE),
            (_O.CLOSE_PENDING, _OI.CLOSE_COMPLETED): Transition(
                _O.CLOSED, _DDI + "nc-ndis-protocol_close_adapter_complete_ex.md"
            ),
            (_O.OPEN, _OI.USE): Transition(_O.OPEN, _OPEN),
            (_O.OPEN_PENDING, _OI.USE): _refuse(
                _DDI + "nc-ndis-protocol_open_adapter_complete_ex.md",
                NDIS_STATUS_FAILURE,
                "NdisHandleNotYetValid",
            ),
            (_O.OPEN, _OI.REGISTER_AF): Transition(_O.OPEN, _CM_AF),
        },
        # a bind opens its adapter once
        (OpenState, _OI.OPEN, _refuse(_OPEN, NDIS_STATUS_FAILURE)),
        (OpenState, _OI.REGISTER_AF, _refuse(_CM_AF, NDIS_STATUS_FAILURE)),
    ),
)

# --- address families (guide/registering-and-opening-an-address-family.md) -----------------------


class AfState(Enum):
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class AfInput(Enum):
    OPEN_SUCCEEDED = "open completed with NDIS_STATUS_SUCCESS"
    OPEN_FAILED = "open completed with a failure"
    CLOSE = "NdisClCloseAddressFamily"
    CLOSE_SUCCEEDED = "close completed"
    CLOSE_REFUSED = "close refused"
    NOTIFY_CLOSE = "Ndis(M)CmNotifyCloseAddressFamily"
    REGISTER_SAP = "NdisClRegisterSap"


#: The AF's rows are Transitions citing their page (af.py's old name for them).
AfTransition = Transition

_F, _FI = AfState, AfInput
_CLOSE_AF = _DDI + "nf-ndis-ndisclcloseaddressfamily.md"
_NOTIFY = _DDI + "nf-ndis-ndiscmnotifycloseaddressfamily.md"
_REG_SAP = _DDI + "nf-ndis-ndisclregistersap.md"
AF: Final = Machine(
    "af",
    "address family (NdisAfHandle)",
    AfState,
    AfInput,
    AfState.OPENING,
    _table(
        {
            (_F.OPENING, _FI.OPEN_SUCCEEDED): Transition(
                _F.OPEN, _DDI + "nf-ndis-ndiscmopenaddressfamilycomplete.md"
            ),
            (_F.OPENING, _FI.OPEN_FAILED): Transition(
                _F.CLOSED, _DDI + "nc-ndis-protocol_cl_open_af_complete_ex.md"
            ),
            (_F.OPEN, _FI.CLOSE): Transition(_F.CLOSING, _CLOSE_AF),
            (_F.CLOSING, _FI.CLOSE_SUCCEEDED): Transition(
                _F.CLOSED, _DDI + "nf-ndis-ndiscmcloseaddressfamilycomplete.md"
            ),
            (_F.CLOSING, _FI.CLOSE_REFUSED): Transition(
                _F.OPEN, _DDI + "nc-ndis-protocol_cm_close_af.md"
            ),
            (_F.OPEN, _FI.NOTIFY_CLOSE): Transition(_F.OPEN, _NOTIFY),
            (_F.OPEN, _FI.REGISTER_SAP): Transition(_F.OPEN, _REG_SAP),
        },
        (AfState, _FI.CLOSE, _refuse(_CLOSE_AF, NDIS_STATUS_FAILURE)),
        (AfState, _FI.NOTIFY_CLOSE, _refuse(_NOTIFY, NDIS_STATUS_FAILURE)),
        (AfState, _FI.REGISTER_SAP, _refuse(_REG_SAP, NDIS_STATUS_FAILURE)),
    ),
)

# --- SAPs (guide/registering-a-sap.md, deregistering-a-sap.md) -----------------------------------


class SapState(Enum):
    REGISTERING = "registering"
    REGISTERED = "registered"
    DEREGISTERING = "deregistering"
    DEREGISTERED = "deregistered"


class SapInput(Enum):
    REGISTER_SUCCEEDED = "registration completed with NDIS_STATUS_SUCCESS"
    REGISTER_FAILED = "registration completed with a failure"
    DEREGISTER = "NdisClDeregisterSap"
    DEREGISTER_SUCCEEDED = "deregistration completed with NDIS_STATUS_SUCCESS"
    DEREGISTER_FAILED = "deregistration failed by the call manager"


_P, _PI = SapState, SapInput
_DEREG = _DDI + "nf-ndis-ndisclderegistersap.md"
SAP: Final = Machine(
    "sap",
    "service access point (NdisSapHandle)",
    SapState,
    SapInput,
    SapState.REGISTERING,
    _table(
        {
            (_P.REGISTERING, _PI.REGISTER_SUCCEEDED): Transition(_P.REGISTERED, _REG_SAP),
            (_P.REGISTERING, _PI.REGISTER_FAILED): Transition(_P.DEREGISTERED, _REG_SAP),
            (_P.REGISTERED, _PI.DEREGISTER): Transition(_P.DEREGISTERING, _DEREG),
            (_P.DEREGISTERING, _PI.DEREGISTER_SUCCEEDED): Transition(_P.DEREGISTERED, _DEREG),
            (_P.DEREGISTERING, _PI.DEREGISTER_FAILED): Transition(
                _P.REGISTERED, _DDI + "nc-ndis-protocol_cm_deregister_sap.md"
            ),
            # a redundant call while the first is in progress
            (_P.DEREGISTERING, _PI.DEREGISTER): _refuse(_DEREG, NDIS_STATUS_FAILURE),
            (_P.REGISTERING, _PI.DEREGISTER): _refuse(
                _DDI + "nc-ndis-protocol_cl_register_sap_complete.md",
                NDIS_STATUS_FAILURE,
                "NdisHandleNotYetValid",
            ),
            (_P.DEREGISTERED, _PI.DEREGISTER): _refuse(
                _DEREG, NDIS_STATUS_FAILURE, "NdisHandleStale"
            ),
        }
    ),
)

# --- VCs (guide/creating-a-vc.md, activating-a-vc.md, deactivating-a-vc.md, deleting-a-vc.md) ----


class VcState(Enum):
    CREATED = "created"
    ACTIVATING = "activating"
    REACTIVATING = "reactivating"
    ACTIVE = "active"
    DEACTIVATING = "deactivating"
    DELETED = "deleted"


class VcInput(Enum):
    ACTIVATE = "activation requested"
    ACTIVATE_SUCCEEDED = "activation completed with NDIS_STATUS_SUCCESS"
    ACTIVATE_FAILED = "activation failed"
    DEACTIVATE = "deactivation requested"
    DEACTIVATE_SUCCEEDED = "deactivation completed with NDIS_STATUS_SUCCESS"
    DEACTIVATE_FAILED = "deactivation failed"
    DELETE = "deleted by its creator"
    SEND = "data sent or indicated on the VC"
    CONNECT = "a call set up on the VC"


_V, _VI = VcState, VcInput
_ACT, _DEACT = _DDI + "nf-ndis-ndiscmactivatevc.md", _DDI + "nf-ndis-ndiscmdeactivatevc.md"
_DEL = _DDI + "nf-ndis-ndiscodeletevc.md"
_SEND = _DDI + "nf-ndis-ndiscosendnetbufferlists.md"
_CONNECT = _DDI + "nf-ndis-ndiscmmakecallcomplete.md"
VC: Final = Machine(
    "vc",
    "virtual connection (NdisVcHandle)",
    VcState,
    VcInput,
    VcState.CREATED,
    _table(
        {
            (_V.CREATED, _VI.ACTIVATE): Transition(_V.ACTIVATING, _ACT),
            (_V.ACTIVE, _VI.ACTIVATE): Transition(_V.REACTIVATING, _ACT),
            (_V.ACTIVATING, _VI.ACTIVATE_SUCCEEDED): Transition(_V.ACTIVE, _ACT),
            (_V.ACTIVATING, _VI.ACTIVATE_FAILED): Transition(_V.CREATED, _ACT),
            (_V.REACTIVATING, _VI.ACTIVATE_SUCCEEDED): Transition(_V.ACTIVE, _ACT),
            # "MiniportCoActivateVc must leave the VC in a usable state"
            (_V.REACTIVATING, _VI.ACTIVATE_FAILED): Transition(
                _V.ACTIVE, _DDI + "nc-ndis-miniport_co_activate_vc.md"
            ),
            (_V.ACTIVE, _VI.DEACTIVATE): Transition(_V.DEACTIVATING, _DEACT),
            (_V.DEACTIVATING, _VI.DEACTIVATE_SUCCEEDED): Transition(_V.CREATED, _DEACT),
            (_V.DEACTIVATING, _VI.DEACTIVATE_FAILED): Transition(_V.ACTIVE, _DEACT),
            (_V.CREATED, _VI.DELETE): Transition(_V.DELETED, _DEL),
            (_V.DEACTIVATING, _VI.DELETE): _refuse(_DEL, NDIS_STATUS_CLOSING),
            (_V.ACTIVE, _VI.SEND): Transition(_V.ACTIVE, _SEND),
            (_V.REACTIVATING, _VI.SEND): Transition(_V.REACTIVATING, _SEND),
            (_V.ACTIVE, _VI.CONNECT): Transition(_V.ACTIVE, _CONNECT),
        },
        (VcState, _VI.ACTIVATE, _refuse(_ACT, NDIS_STATUS_FAILURE)),
        (VcState, _VI.DEACTIVATE, _refuse(_DEACT, NDIS_STATUS_NOT_ACCEPTED)),
        (
            (_V.ACTIVATING, _V.REACTIVATING, _V.ACTIVE),
            _VI.DELETE,
            _refuse(_DEL, NDIS_STATUS_NOT_ACCEPTED, "CoNdisDeleteActiveVc"),
        ),
        (VcState, _VI.SEND, _refuse(_SEND, rule="CoNdisSendOnInactiveVc")),
        (VcState, _VI.CONNECT, _refuse(_CONNECT, rule="CoNdisCallOnInactiveVc")),
    ),
)

# --- calls (guide/making-a-call.md, indicating-an-incoming-call.md, the close pages) -------------


class CallState(Enum):
    MAKING = "making"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    CONNECTED = "connected"
    CLOSE_INDICATED = "close indicated"
    CLOSING = "closing"
    CLOSED = "closed"


class CallInput(Enum):
    MAKE_SUCCEEDED = "outgoing call completed with NDIS_STATUS_SUCCESS"
    MAKE_FAILED = "outgoing call failed"
    ACCEPTED = "client accepted the incoming call"
    REJECTED = "client rejected the incoming call"
    CONNECTED = "Ndis(M)CmDispatchCallConnected"
    INCOMING_CLOSE = "Ndis(M)CmDispatchIncomingCloseCall"
    CLOSE = "NdisClCloseCall"
    CLOSE_SUCCEEDED = "close completed with NDIS_STATUS_SUCCESS"
    CLOSE_FAILED = "close failed"
    MODIFY_QOS = "NdisClModifyCallQoS"
    INCOMING_QOS = "Ndis(M)CmDispatchIncomingCallQoSChange"
    ADD_PARTY = "NdisClAddParty"
    SEND = "data sent or indicated on the call's VC"
    REPLACE = "a new call made or dispatched on the VC"


_C, _CI = CallState, CallInput
_MAKE = _DDI + "nf-ndis-ndisclmakecall.md"
_INCOMING = _DDI + "nf-ndis-ndiscmdispatchincomingcall.md"
_CONNECTED = _DDI + "nf-ndis-ndiscmdispatchcallconnected.md"
_REMOTE = _DDI + "nf-ndis-ndiscmdispatchincomingclosecall.md"
_CLOSE_CALL = _DDI + "nf-ndis-ndisclclosecall.md"
_QOS = _DDI + "nf-ndis-ndisclmodifycallqos.md"
_IN_QOS = _DDI + "nf-ndis-ndiscmdispatchincomingcallqoschange.md"
_ADD = _DDI + "nf-ndis-ndiscladdparty.md"
_LIVE_CALL = (
    _C.MAKING,
    _C.OFFERED,
    _C.ACCEPTED,
    _C.CONNECTED,
    _C.CLOSE_INDICATED,
    _C.CLOSING,
)
CALL: Final = Machine(
    "call",
    "call on a VC",
    CallState,
    CallInput,
    CallState.MAKING,
    _table(
        {
            (_C.MAKING, _CI.MAKE_SUCCEEDED): Transition(_C.CONNECTED, _MAKE),
            (_C.MAKING, _CI.MAKE_FAILED): Transition(_C.CLOSED, _MAKE),
            (_C.OFFERED, _CI.ACCEPTED): Transition(_C.ACCEPTED, _INCOMING),
            (_C.OFFERED, _CI.REJECTED): Transition(_C.CLOSED, _INCOMING),
            (_C.ACCEPTED, _CI.CONNECTED): Transition(_C.CONNECTED, _CONNECTED),
            (_C.ACCEPTED, _CI.INCOMING_CLOSE): Transition(_C.CLOSE_INDICATED, _REMOTE),
            (_C.CONNECTED, _CI.INCOMING_CLOSE): Transition(_C.CLOSE_INDICATED, _REMOTE),
            (_C.CONNECTED, _CI.CLOSE): Transition(_C.CLOSING, _CLOSE_CALL),
            (_C.CLOSE_INDICATED, _CI.CLOSE): Transition(_C.CLOSING, _CLOSE_CALL),
            (_C.CLOSING, _CI.CLOSE_SUCCEEDED): Transition(_C.CLOSED, _CLOSE_CALL),
            (_C.CLOSING, _CI.CLOSE_FAILED): Transition(_C.CONNECTED, _CLOSE_CALL),
            # a client may negotiate the QoS of an offered call before it answers
            (_C.CONNECTED, _CI.MODIFY_QOS): Transition(_C.CONNECTED, _QOS),
            (_C.OFFERED, _CI.MODIFY_QOS): Transition(_C.OFFERED, _QOS),
            (_C.CONNECTED, _CI.INCOMING_QOS): Transition(_C.CONNECTED, _IN_QOS),
            (_C.CONNECTED, _CI.ADD_PARTY): Transition(_C.CONNECTED, _ADD),
            (_C.CONNECTED, _CI.SEND): Transition(_C.CONNECTED, _SEND),
            (_C.CLOSE_INDICATED, _CI.SEND): Transition(_C.CLOSE_INDICATED, _SEND),
            (_C.CLOSED, _CI.REPLACE): Transition(_C.CLOSED, _MAKE),
        },
        (CallState, _CI.CONNECTED, _refuse(_CONNECTED, rule="CoNdisCallState")),
        (CallState, _CI.INCOMING_CLOSE, _refuse(_REMOTE, rule="CoNdisCallState")),
        (CallState, _CI.CLOSE, _refuse(_CLOSE_CALL, NDIS_STATUS_FAILURE, "CoNdisCallState")),
        (CallState, _CI.MODIFY_QOS, _refuse(_QOS, NDIS_STATUS_FAILURE)),
        (CallState, _CI.INCOMING_QOS, _refuse(_IN_QOS, rule="CoNdisCallState")),
        (CallState, _CI.ADD_PARTY, _refuse(_ADD, NDIS_STATUS_FAILURE)),
        (CallState, _CI.SEND, _refuse(_SEND, rule="CoNdisSendOnInactiveVc")),
        (_LIVE_CALL, _CI.REPLACE, _refuse(_MAKE, NDIS_STATUS_CALL_ACTIVE)),
    ),
)

# --- parties (guide/parties.md and the add and drop pages) ---------------------------------------


class PartyState(StrEnum):
    ADDING = "adding"
    CONNECTED = "connected"
    DROP_INDICATED = "drop indicated"
    DROPPING = "dropping"
    DROPPED = "dropped"


class PartyInput(Enum):
    ADD_SUCCEEDED = "the add (or the party's call) completed with NDIS_STATUS_SUCCESS"
    ADD_FAILED = "the add (or the party's call) failed"
    DROP = "NdisClDropParty"
    DROP_SUCCEEDED = "drop completed with NDIS_STATUS_SUCCESS"
    DROP_FAILED = "drop failed"
    INCOMING_DROP = "Ndis(M)CmDispatchIncomingDropParty"
    CALL_CLOSED = "the party's call closed"


_Y, _YI = PartyState, PartyInput
_ADD_DONE = _DDI + "nf-ndis-ndiscmaddpartycomplete.md"
_DROP = _DDI + "nf-ndis-ndiscldropparty.md"
_IN_DROP = _DDI + "nf-ndis-ndiscmdispatchincomingdropparty.md"
PARTY: Final = Machine(
    "party",
    "party of a multipoint call (NdisPartyHandle)",
    PartyState,
    PartyInput,
    PartyState.ADDING,
    _table(
        {
            (_Y.ADDING, _YI.ADD_SUCCEEDED): Transition(_Y.CONNECTED, _ADD_DONE),
            (_Y.ADDING, _YI.ADD_FAILED): Transition(_Y.DROPPED, _ADD_DONE),
            (_Y.CONNECTED, _YI.DROP): Transition(_Y.DROPPING, _DROP),
            (_Y.DROP_INDICATED, _YI.DROP): Transition(_Y.DROPPING, _DROP),
            (_Y.DROPPING, _YI.DROP_SUCCEEDED): Transition(_Y.DROPPED, _DROP),
            (_Y.DROPPING, _YI.DROP_FAILED): Transition(_Y.CONNECTED, _DROP),
            (_Y.CONNECTED, _YI.INCOMING_DROP): Transition(_Y.DROP_INDICATED, _IN_DROP),
            (_Y.ADDING, _YI.CALL_CLOSED): Transition(_Y.DROPPED, _CLOSE_CALL),
            (_Y.CONNECTED, _YI.CALL_CLOSED): Transition(_Y.DROPPED, _CLOSE_CALL),
            (_Y.DROP_INDICATED, _YI.CALL_CLOSED): Transition(_Y.DROPPED, _CLOSE_CALL),
            (_Y.DROPPING, _YI.CALL_CLOSED): Transition(_Y.DROPPED, _CLOSE_CALL),
        },
        (PartyState, _YI.DROP, _refuse(_DROP, NDIS_STATUS_FAILURE)),
        (PartyState, _YI.INCOMING_DROP, _refuse(_IN_DROP, rule="CoNdisCallState")),
    ),
)

# --- pendable operations (ops.py) ----------------------------------------------------------------

OPERATION: Final = Machine(
    "operation",
    "pendable operation (the completion contract)",
    OpState,
    OpInput,
    OpState.IN_HANDLER,
    OP_TRANSITIONS,
)

#: Every machine, in the order the layers stack them.
MACHINES: Final[tuple[Machine[Any, Any], ...]] = (
    ADAPTER,
    BINDING,
    BINDING_OPEN,
    AF,
    SAP,
    VC,
    CALL,
    PARTY,
    OPERATION,
)
del _A, _AI, _B, _BI, _O, _OI, _F, _FI, _P, _PI, _V, _VI, _C, _CI, _Y, _YI
