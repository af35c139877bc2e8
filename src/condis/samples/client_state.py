"""The sample client's per-object state: its contexts, as a WDK sample's .h would hold them."""

from __future__ import annotations

from dataclasses import dataclass, field

from condis.handles import (
    AfHandle,
    BindContextHandle,
    BindingHandle,
    PartyHandle,
    SapHandle,
    TimerHandle,
    UnbindContextHandle,
    VcHandle,
)
from condis.spinlocks import NDIS_EVENT
from condis.status import NDIS_STATUS
from condis.structs import CO_ADDRESS_FAMILY, CO_CALL_PARAMETERS, CO_SAP

__all__ = ["ClientAf", "ClientBinding", "ClientParty", "ClientSap", "ClientVc"]


@dataclass(eq=False)
class ClientAf:
    """ClientAfContext: the client's state for one open AF."""

    binding: ClientBinding
    family: CO_ADDRESS_FAMILY
    handle: AfHandle | None = None
    state: str = "opening"  # opening, open, closing, closed, failed
    #: None, "in handler" (ProtocolClNotifyCloseAf running) or "pended"
    notify: str | None = None
    close_issued: bool = False
    saps: list[ClientSap] = field(default_factory=list)
    vcs: list[ClientVc] = field(default_factory=list)
    last_status: NDIS_STATUS | None = None


@dataclass(eq=False)
class ClientParty:
    """ProtocolPartyContext: one party of a multipoint call this client made."""

    vc: ClientVc
    handle: PartyHandle | None = None
    #: "adding", "connected", "dropping", "dropped", "failed"
    state: str = "adding"
    last_status: NDIS_STATUS | None = None


@dataclass(eq=False)
class ClientVc:
    """ProtocolVcContext: the client's state for one VC and the call on it."""

    af: ClientAf
    handle: VcHandle | None = None
    incoming: bool = False
    last_status: NDIS_STATUS | None = None
    #: None, "making", "offered", "accepted", "connected", "closing", "closed", "failed"
    call: str | None = None
    parameters: CO_CALL_PARAMETERS | None = None
    party_handle: PartyHandle | None = None
    sends_outstanding: int = 0
    close_when_sent: bool = False
    #: statuses of completed sends, and the packets received, in order
    send_statuses: list[NDIS_STATUS] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)
    parties: list[ClientParty] = field(default_factory=list)
    close_when_dropped: bool = False
    #: the call manager failed NdisClCloseCall: the call stays up, and closing the AF
    #: does not ask again (it would ask for ever) until the call's state changes
    close_refused: bool = False
    #: QoS changes the remote end made (ProtocolClIncomingCallQoSChange)
    qos_changes: list[CO_CALL_PARAMETERS] = field(default_factory=list)


@dataclass(eq=False)
class ClientSap:
    """ProtocolSapContext: the client's state for one SAP."""

    af: ClientAf
    sap: CO_SAP
    handle: SapHandle | None = None
    state: str = "registering"  # registering, registered, deregistering, deregistered, failed
    last_status: NDIS_STATUS | None = None


@dataclass(eq=False)
class ClientBinding:
    """ProtocolBindingContext: the client's state for one binding."""

    adapter_name: str
    handle: BindingHandle | None = None
    bind_context: BindContextHandle | None = None
    unbind_context: UnbindContextHandle | None = None
    afs: list[ClientAf] = field(default_factory=list)
    offers: list[CO_ADDRESS_FAMILY] = field(default_factory=list)
    idle: NDIS_EVENT | None = None
    #: a one-shot timer that resumes an AF close once the call manager has
    #: deleted the VCs it created (NDIS calls ProtocolCoDeleteVc while the VC
    #: still exists, so the close cannot go on from inside that handler)
    timer: TimerHandle | None = None
    unbinding: bool = False
    unbound: bool = False

    def busy(self) -> bool:
        return any(af.state in ("opening", "closing") for af in self.afs)
