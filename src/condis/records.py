"""NDIS's records of the objects it tracks, each typed, with typed child collections.

One record per NDIS object: a loaded driver (`DriverBlock`), an adapter, a
binding, a call manager's AF offer (`AfRegistration`), an open AF, a SAP, a
VC, a call, a party, a work item, a timer, an NBL out of its owner's hands
(`InFlight`) and an OID request a target pended (`PendingOid`). The records
point at each other the way the objects relate (an AF knows its binding and
its offer, a VC its AF and the call on it), so an engine finds what belongs
to an object by following the record, never by scanning another engine's
table. Each record's `state` moves only through machines.py's tables (its
`move`).

The records hold NDIS's side only; drivers' contexts are opaque objects
handed back untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from condis.constants import NDIS_MEDIUM
from condis.errors import CondisInternalError
from condis.handles import (
    AdapterHandle,
    AfHandle,
    BindContextHandle,
    BindingHandle,
    DriverHandle,
    PartyHandle,
    SapHandle,
    UnbindContextHandle,
    VcHandle,
)
from condis.machines import (
    ADAPTER,
    AF,
    BINDING,
    BINDING_OPEN,
    CALL,
    PARTY,
    SAP,
    VC,
    AdapterInput,
    AdapterState,
    AfInput,
    AfState,
    BindingInput,
    BindingState,
    CallInput,
    CallState,
    OpenInput,
    OpenState,
    PartyInput,
    PartyState,
    SapInput,
    SapState,
    VcInput,
    VcState,
    step,
)
from condis.ops import Operation
from condis.scheduler import Item
from condis.structs import (
    CO_ADDRESS_FAMILY,
    CO_CALL_PARAMETERS,
    CO_SAP,
    DRIVER_OBJECT,
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_CO_CHARACTERISTICS,
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    NDIS_OPEN_PARAMETERS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS,
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
)

__all__ = [
    "Adapter",
    "AfRegistration",
    "Binding",
    "Call",
    "DriverBlock",
    "DriverKind",
    "NdisConfig",
    "OpenAddressFamily",
    "Party",
    "RegisteredSap",
    "Vc",
]


# --- drivers -------------------------------------------------------------------------------------


class DriverKind(Enum):
    UNREGISTERED = "unregistered"
    MINIPORT = "miniport"
    PROTOCOL = "protocol"


@dataclass(eq=False, slots=True)
class DriverBlock:
    """NDIS's record of one loaded driver."""

    name: str
    driver_object: DRIVER_OBJECT
    code: object
    kind: DriverKind = DriverKind.UNREGISTERED
    handle: DriverHandle | None = None
    context: object = None
    miniport_chars: NDIS_MINIPORT_DRIVER_CHARACTERISTICS | None = None
    protocol_chars: NDIS_PROTOCOL_DRIVER_CHARACTERISTICS | None = None
    miniport_co: NDIS_MINIPORT_CO_CHARACTERISTICS | None = None
    protocol_co: NDIS_PROTOCOL_CO_CHARACTERISTICS | None = None
    client: NDIS_CO_CLIENT_OPTIONAL_HANDLERS | None = None
    call_manager: NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS | None = None
    in_set_options: bool = False
    loaded: bool = True

    @property
    def deregistration(self) -> str:
        """The DDI that undoes this driver's registration."""
        if self.kind is DriverKind.MINIPORT:
            return "NdisMDeregisterMiniportDriver"
        return "NdisDeregisterProtocolDriver"

    @property
    def is_co_miniport(self) -> bool:
        return self.kind is DriverKind.MINIPORT and self.miniport_co is not None

    @property
    def is_mcm(self) -> bool:
        """A CoNDIS miniport that registered call-manager handlers."""
        return self.is_co_miniport and self.call_manager is not None

    @property
    def is_co_protocol(self) -> bool:
        return self.kind is DriverKind.PROTOCOL and self.protocol_co is not None

    @property
    def is_client(self) -> bool:
        return self.kind is DriverKind.PROTOCOL and self.client is not None

    @property
    def is_call_manager(self) -> bool:
        """A stand-alone call manager (a protocol with call-manager handlers)."""
        return self.kind is DriverKind.PROTOCOL and self.call_manager is not None

    @property
    def roles(self) -> tuple[str, ...]:
        out = []
        if self.is_mcm:
            out.append("MCM")
        elif self.is_co_miniport:
            out.append("CoNDIS miniport")
        elif self.kind is DriverKind.MINIPORT:
            out.append("miniport")
        if self.is_client:
            out.append("client")
        if self.is_call_manager:
            out.append("call manager")
        if self.kind is DriverKind.PROTOCOL and not (self.is_client or self.is_call_manager):
            out.append("protocol")
        return tuple(out)


# --- adapters and bindings -----------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Adapter:
    """NDIS's record of one miniport adapter."""

    name: str
    driver: DriverBlock
    handle: AdapterHandle
    medium: NDIS_MEDIUM
    state: AdapterState = AdapterState.HALTED
    context: object = None
    general: NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES | None = None
    #: AF offers made on this adapter, in registration order
    registrations: list[AfRegistration] = field(default_factory=list)
    #: protocol bindings to this adapter, in bind order
    bindings: list[Binding] = field(default_factory=list)
    #: the VCs on this adapter that are not deleted, in creation order
    vcs: dict[Vc, None] = field(default_factory=dict)
    #: how many VCs on this adapter NdisCoAssignInstanceName has named
    vc_names: int = 0

    def move(self, event: AdapterInput) -> None:
        self.state = step(ADAPTER, self.state, event, self._illegal)

    def _illegal(self, event: AdapterInput) -> Exception:
        return ValueError(f"adapter {self.name}: {event.value} is not legal in {self.state}")

    @property
    def is_up(self) -> bool:
        return self.state is AdapterState.RUNNING


@dataclass(slots=True)
class NdisConfig:
    """How this host's NDIS behaves where NDIS, not a driver, decides."""

    #: NdisOpenAdapterEx returns NDIS_STATUS_PENDING and completes later
    open_adapter_pends: bool = False
    #: NdisCloseAdapterEx returns NDIS_STATUS_PENDING and completes later
    close_adapter_pends: bool = False


@dataclass(eq=False, slots=True)
class Binding:
    """NDIS's record of one protocol's binding to one adapter."""

    protocol: DriverBlock
    adapter: Adapter
    bind_context: BindContextHandle
    bind_op: Operation
    state: BindingState = BindingState.OPENING
    open_state: OpenState = OpenState.NOT_OPENED
    handle: BindingHandle | None = None
    context: object = None
    open_parameters: NDIS_OPEN_PARAMETERS | None = None
    unbind_context: UnbindContextHandle | None = None
    unbind_op: Operation | None = None
    #: per-binding handlers set with NdisSetOptionalHandlers(NdisBindingHandle, ...)
    protocol_co: NDIS_PROTOCOL_CO_CHARACTERISTICS | None = None
    client: NDIS_CO_CLIENT_OPTIONAL_HANDLERS | None = None
    call_manager: NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS | None = None
    #: AF offers this (call manager's) binding made
    registrations: list[AfRegistration] = field(default_factory=list)
    #: AFs this (client's) binding opened
    afs: list[OpenAddressFamily] = field(default_factory=list)

    def move(self, event: BindingInput) -> None:
        self.state = step(BINDING, self.state, event, self._illegal)

    def _illegal(self, event: BindingInput) -> Exception:
        return CondisInternalError(f"binding: {event.value} is not legal in {self.state}")

    def move_open(self, event: OpenInput) -> None:
        self.open_state = step(BINDING_OPEN, self.open_state, event, self._illegal_open)

    def _illegal_open(self, event: OpenInput) -> Exception:
        return CondisInternalError(
            f"binding {self.label}: {event.value} is not legal while {self.open_state.value}"
        )

    @property
    def label(self) -> str:
        return f"{self.protocol.name}->{self.adapter.name}"

    @property
    def co_handlers(self) -> NDIS_PROTOCOL_CO_CHARACTERISTICS | None:
        return self.protocol_co or self.protocol.protocol_co

    @property
    def client_handlers(self) -> NDIS_CO_CLIENT_OPTIONAL_HANDLERS | None:
        return self.client or self.protocol.client

    @property
    def cm_handlers(self) -> NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS | None:
        return self.call_manager or self.protocol.call_manager

    @property
    def is_client(self) -> bool:
        return self.client_handlers is not None

    @property
    def is_call_manager(self) -> bool:
        return self.cm_handlers is not None


# --- address families and SAPs -------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class AfRegistration:
    """A call manager's offer of one AF type on one adapter."""

    family: CO_ADDRESS_FAMILY
    adapter: Adapter
    cm: DriverBlock
    #: the stand-alone call manager's binding; None for an MCM
    binding: Binding | None
    announced: bool = False
    withdrawn: bool = False
    displaced: bool = False
    notified: list[Binding] = field(default_factory=list)
    afs: list[OpenAddressFamily] = field(default_factory=list)

    @property
    def is_mcm(self) -> bool:
        return self.binding is None

    @property
    def cm_handlers(self) -> NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS:
        handlers = self.cm.call_manager if self.binding is None else self.binding.cm_handlers
        if handlers is None:
            raise CondisInternalError(f"{self.cm.name} has no call-manager handlers")
        return handlers

    @property
    def cm_binding_context(self) -> object:
        """CallMgrBindingContext: the MCM's adapter context or the CM's binding context."""
        return self.adapter.context if self.binding is None else self.binding.context

    @property
    def live(self) -> bool:
        return not self.withdrawn

    def spelling(self, stem: str) -> str:
        """The DDI name this call manager must use: NdisMCm... for an MCM."""
        return ("NdisMCm" if self.is_mcm else "NdisCm") + stem


@dataclass(eq=False, slots=True)
class OpenAddressFamily:
    """One client's open of one AF offer (NdisAfHandle)."""

    handle: AfHandle
    registration: AfRegistration
    client: Binding
    family: CO_ADDRESS_FAMILY
    client_context: object
    open_op: Operation
    state: AfState = AfState.OPENING
    cm_context: object = None
    client_valid: bool = False
    cm_valid: bool = True
    close_op: Operation | None = None
    notify_op: Operation | None = None
    #: NDIS's queued call of ProtocolClOpenAfCompleteEx, while the open completed
    #: at DISPATCH_LEVEL has not reached the client
    open_delivery: Item | None = None
    #: the SAPs registered (or registering) on the AF, in registration order
    saps: dict[RegisteredSap, None] = field(default_factory=dict)
    #: the VCs on the AF that are not deleted, in creation order
    vcs: dict[Vc, None] = field(default_factory=dict)

    def move(self, event: AfInput) -> None:
        self.state = step(AF, self.state, event, self._illegal)

    def _illegal(self, event: AfInput) -> Exception:
        return CondisInternalError(f"AF {self.handle.label}: {event.value} in {self.state}")

    @property
    def cm(self) -> DriverBlock:
        return self.registration.cm

    @property
    def notifying(self) -> bool:
        return self.notify_op is not None and self.notify_op.outstanding


@dataclass(eq=False, slots=True)
class RegisteredSap:
    """One registered SAP (NdisSapHandle)."""

    handle: SapHandle
    af: OpenAddressFamily
    sap: CO_SAP
    client_context: object
    register_op: Operation
    state: SapState = SapState.REGISTERING
    cm_context: object = None
    client_valid: bool = False
    cm_valid: bool = True
    deregister_op: Operation | None = None

    def move(self, event: SapInput) -> None:
        self.state = step(SAP, self.state, event, self._illegal)
        if self.state is SapState.DEREGISTERED:
            self.af.saps.pop(self, None)  # the AF lists the SAPs that still live

    def _illegal(self, event: SapInput) -> Exception:
        return CondisInternalError(f"SAP {self.handle.label}: {event.value} in {self.state}")

    @property
    def live(self) -> bool:
        return self.state is not SapState.DEREGISTERED


# --- VCs, calls and parties ----------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Vc:
    """One virtual connection (NdisVcHandle)."""

    handle: VcHandle
    adapter: Adapter
    #: the driver that created the VC (only it may delete it)
    creator: DriverBlock
    #: the AF the VC belongs to; None for a call manager's own VC
    af: OpenAddressFamily | None
    state: VcState = VcState.CREATED
    client_context: object = None
    cm_context: object = None
    miniport_context: object = None
    call_parameters: CO_CALL_PARAMETERS | None = None
    activate_op: Operation | None = None
    deactivate_op: Operation | None = None
    #: the call filed on the VC: the live one, or the last one until the VC carries another
    call: Call | None = None
    #: NBLs sent on the VC whose sends have not completed
    sends_out: int = 0
    #: NBLs indicated on the VC that the receiver has not returned
    receives_out: int = 0
    #: the WMI instance name NdisCoAssignInstanceName gave the VC
    instance_name: str | None = None

    def move(self, event: VcInput) -> None:
        self.state = step(VC, self.state, event, self._illegal)

    def _illegal(self, event: VcInput) -> Exception:
        return CondisInternalError(f"VC {self.handle.label}: {event.value} in {self.state}")

    @property
    def mcm(self) -> bool:
        """True when the VC is on an MCM's adapter (no miniport VC handlers)."""
        return self.adapter.driver.is_mcm

    @property
    def cm(self) -> DriverBlock | None:
        if self.af is not None:
            return self.af.cm
        return self.creator

    @property
    def live(self) -> bool:
        return self.state is not VcState.DELETED

    @property
    def call_state(self) -> CallState:
        """The state of the call filed on the VC; CLOSED when it carries none."""
        return CallState.CLOSED if self.call is None else self.call.state

    @property
    def client_handlers(self) -> NDIS_CO_CLIENT_OPTIONAL_HANDLERS:
        """The client handlers of the VC's AF (the VC must belong to an AF)."""
        handlers = None if self.af is None else self.af.client.client_handlers
        if handlers is None:
            raise CondisInternalError(f"{self.handle.label}: no client handlers")
        return handlers

    @property
    def cm_handlers(self) -> NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS:
        """The call-manager handlers for the VC: its AF's offer's, or for a call manager's
        own VC, those of the creator's binding to the adapter."""
        if self.af is not None:
            return self.af.registration.cm_handlers
        binding = next(
            (b for b in self.adapter.bindings if b.protocol is self.creator and b.is_call_manager),
            None,
        )
        if binding is None or binding.cm_handlers is None:
            raise CondisInternalError(f"{self.handle.label}: no call manager handlers")
        return binding.cm_handlers

    @property
    def miniport_vc_context(self) -> object:
        """The context the miniport knows the VC by; on an MCM's adapter the MCM's own."""
        return self.cm_context if self.mcm else self.miniport_context


@dataclass(eq=False, slots=True)
class Party:
    """One party of a multipoint call (NdisPartyHandle)."""

    handle: PartyHandle
    call: Call
    client_context: object
    cm_context: object = None
    state: PartyState = PartyState.ADDING
    add_op: Operation | None = None
    drop_op: Operation | None = None

    def move(self, event: PartyInput) -> None:
        self.state = step(PARTY, self.state, event, self._illegal)

    def _illegal(self, event: PartyInput) -> Exception:
        return CondisInternalError(
            f"party {self.handle.label}: {event.value} in {self.state.value}"
        )


@dataclass(eq=False, slots=True)
class Call:
    """One call on a VC."""

    vc: Vc
    outgoing: bool
    parameters: CO_CALL_PARAMETERS
    state: CallState
    sap: RegisteredSap | None = None
    make_op: Operation | None = None
    incoming_op: Operation | None = None
    close_op: Operation | None = None
    parties: list[Party] = field(default_factory=list)
    #: a QoS change the call manager has pended and not completed
    qos_op: Operation | None = None
    #: the last QoS change that finished, so that a second completion is recognised
    qos_done: Operation | None = None

    def move(self, event: CallInput) -> None:
        self.state = step(CALL, self.state, event, self._illegal)

    def _illegal(self, event: CallInput) -> Exception:
        return CondisInternalError(f"call on {self.vc.handle.label}: {event.value} in {self.state}")

    @property
    def live(self) -> bool:
        return self.state is not CallState.CLOSED

    @property
    def multipoint(self) -> bool:
        return bool(self.parties)
