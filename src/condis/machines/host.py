"""The NDIS lifecycle machines: adapters, bindings and a binding's adapter open.

(guide/adapter-states-of-a-miniport-driver.md, guide/binding-states-of-a-protocol-driver.md;
the package docstring says how the tables are read.)
"""

from __future__ import annotations

from typing import Final

from condis.constants import Key
from condis.machines.base import DDI, Machine, Transition, refuse, table
from condis.status import NDIS_STATUS_FAILURE

__all__ = [
    "ADAPTER",
    "BINDING",
    "BINDING_OPEN",
    "AdapterInput",
    "AdapterState",
    "BindingInput",
    "BindingState",
    "OpenInput",
    "OpenState",
]

# --- adapters (guide/adapter-states-of-a-miniport-driver.md) -------------------------------------


class AdapterState(Key):
    HALTED = "halted"
    INITIALIZING = "initializing"
    RUNNING = "running"
    HALTING = "halting"


class AdapterInput(Key):
    INITIALIZE = "MiniportInitializeEx called"
    INIT_SUCCEEDED = "MiniportInitializeEx returned NDIS_STATUS_SUCCESS"
    INIT_FAILED = "MiniportInitializeEx returned a failure"
    HALT = "halt started"
    HALTED = "MiniportHaltEx returned"
    REGISTER_AF = "NdisMCmRegisterAddressFamilyEx"


_A, _AI = AdapterState, AdapterInput
_INIT, _HALT = DDI + "nc-ndis-miniport_initialize.md", DDI + "nc-ndis-miniport_halt.md"
_MCM_AF = DDI + "nf-ndis-ndismcmregisteraddressfamilyex.md"
ADAPTER: Final = Machine(
    "adapter",
    "miniport adapter (MiniportAdapterHandle)",
    AdapterState,
    AdapterInput,
    AdapterState.HALTED,
    table(
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
        (AdapterState, _AI.REGISTER_AF, refuse(_MCM_AF, NDIS_STATUS_FAILURE)),
    ),
)

# --- bindings (guide/binding-states-of-a-protocol-driver.md) -------------------------------------


class BindingState(Key):
    OPENING = "opening"
    RUNNING = "running"
    CLOSING = "closing"
    UNBOUND = "unbound"


class BindingInput(Key):
    BIND_COMPLETE = "bind completed with NDIS_STATUS_SUCCESS"
    BIND_FAILED = "bind completed with a failure"
    UNBIND = "ProtocolUnbindAdapterEx called"
    UNBIND_COMPLETE = "unbind completed"
    REGISTER_AF = "NdisCmRegisterAddressFamilyEx on the binding"
    OPEN_AF = "NdisClOpenAddressFamilyEx on the binding"
    SERVE_OPEN = "NdisClOpenAddressFamilyEx of an AF the binding's call manager offers"


_B, _BI = BindingState, BindingInput
_BIND = DDI + "nc-ndis-protocol_bind_adapter_ex.md"
_UNBIND = DDI + "nc-ndis-protocol_unbind_adapter_ex.md"
_CM_AF = DDI + "nf-ndis-ndiscmregisteraddressfamilyex.md"
_OPEN_AF = DDI + "nf-ndis-ndisclopenaddressfamilyex.md"
BINDING: Final = Machine(
    "binding",
    "protocol binding (NdisBindingHandle)",
    BindingState,
    BindingInput,
    BindingState.OPENING,
    table(
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
        (BindingState, _BI.REGISTER_AF, refuse(_CM_AF, NDIS_STATUS_FAILURE)),
        (BindingState, _BI.OPEN_AF, refuse(_OPEN_AF, NDIS_STATUS_FAILURE)),
        (BindingState, _BI.SERVE_OPEN, refuse(_OPEN_AF, NDIS_STATUS_FAILURE)),
    ),
)


class OpenState(Key):
    """The NdisOpenAdapterEx / NdisCloseAdapterEx side of a binding."""

    NOT_OPENED = "not opened"
    OPEN_PENDING = "open pending"
    OPEN = "open"
    CLOSE_PENDING = "close pending"
    CLOSED = "closed"


class OpenInput(Key):
    OPEN = "NdisOpenAdapterEx"
    OPEN_PENDED = "NDIS pended NdisOpenAdapterEx"
    OPEN_COMPLETED = "NDIS completed the open (ProtocolOpenAdapterCompleteEx)"
    CLOSE = "NdisCloseAdapterEx"
    CLOSE_PENDED = "NDIS pended NdisCloseAdapterEx"
    CLOSE_COMPLETED = "NDIS completed the close (ProtocolCloseAdapterCompleteEx)"
    USE = "a DDI given the NdisBindingHandle"
    REGISTER_AF = "NdisCmRegisterAddressFamilyEx on the binding"


_O, _OI = OpenState, OpenInput
_OPEN = DDI + "nf-ndis-ndisopenadapterex.md"
_CLOSE = DDI + "nf-ndis-ndiscloseadapterex.md"
BINDING_OPEN: Final = Machine(
    "binding-open",
    "adapter open of a binding (NdisOpenAdapterEx, NdisCloseAdapterEx)",
    OpenState,
    OpenInput,
    OpenState.NOT_OPENED,
    table(
        {
            (_O.NOT_OPENED, _OI.OPEN): Transition(_O.OPEN, _OPEN),
            (_O.NOT_OPENED, _OI.OPEN_PENDED): Transition(_O.OPEN_PENDING, _OPEN),
            (_O.OPEN_PENDING, _OI.OPEN_COMPLETED): Transition(
                _O.OPEN, DDI + "nc-ndis-protocol_open_adapter_complete_ex.md"
            ),
            (_O.OPEN, _OI.CLOSE): Transition(_O.CLOSED, _CLOSE),
            (_O.OPEN, _OI.CLOSE_PENDED): Transition(_O.CLOSE_PENDING, _CLOSE),
            (_O.CLOSE_PENDING, _OI.CLOSE_COMPLETED): Transition(
                _O.CLOSED, DDI + "nc-ndis-protocol_close_adapter_complete_ex.md"
            ),
            (_O.OPEN, _OI.USE): Transition(_O.OPEN, _OPEN),
            (_O.OPEN_PENDING, _OI.USE): refuse(
                DDI + "nc-ndis-protocol_open_adapter_complete_ex.md",
                NDIS_STATUS_FAILURE,
                "NdisHandleNotYetValid",
            ),
            (_O.OPEN, _OI.REGISTER_AF): Transition(_O.OPEN, _CM_AF),
            # before the open and after the close there is no live handle to use: resolution
            # refuses it before these rows
            (_O.NOT_OPENED, _OI.USE): refuse(_OPEN, NDIS_STATUS_FAILURE, "NdisHandleNotYetValid"),
            (_O.CLOSE_PENDING, _OI.USE): refuse(_CLOSE, NDIS_STATUS_FAILURE, "NdisHandleStale"),
            (_O.CLOSED, _OI.USE): refuse(_CLOSE, NDIS_STATUS_FAILURE, "NdisHandleStale"),
        },
        # a bind opens its adapter once
        (OpenState, _OI.OPEN, refuse(_OPEN, NDIS_STATUS_FAILURE)),
        (OpenState, _OI.REGISTER_AF, refuse(_CM_AF, NDIS_STATUS_FAILURE)),
    ),
)

del _A, _AI, _B, _BI, _O, _OI
