"""Sample CoNDIS client: binds, opens the AFs it is offered, closes them.

Written the way a WDK sample would be, with the parts where NDIS semantics
matter commented:

* ProtocolBindAdapterEx declines adapters whose miniport is not
  connection-oriented, opens the others with NdisOpenAdapterEx and, if NDIS
  pends the open, completes the bind from ProtocolOpenAdapterCompleteEx.
* ProtocolCoAfRegisterNotify opens each offered AF it wants with
  NdisClOpenAddressFamilyEx. A status other than NDIS_STATUS_PENDING is
  handled in line, as the page asks ("the client should make an internal
  call to its ProtocolClOpenAfCompleteEx function").
* `close_af` closes one AF; ProtocolClNotifyCloseAf does the same when the
  call manager asks, returning NDIS_STATUS_PENDING while the close is pending
  and then calling NdisClNotifyCloseAddressFamilyComplete.
* ProtocolUnbindAdapterEx closes every AF, waits at PASSIVE_LEVEL until they
  are closed (a completion can arrive at DISPATCH_LEVEL, where
  NdisCloseAdapterEx may not be called), then closes the binding. If NDIS
  pends the close, the unbind is pended too and completed from
  ProtocolCloseAdapterCompleteEx with NdisCompleteUnbindAdapterEx.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from condis.data import NDIS_RECEIVE_FLAGS_RESOURCES, NET_BUFFER_LIST
from condis.driver import ProtocolDriver
from condis.handles import (
    AfHandle,
    BindContextHandle,
    BindingHandle,
    PartyHandle,
    SapHandle,
    UnbindContextHandle,
    VcHandle,
)
from condis.spinlocks import NDIS_EVENT
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_UNSUPPORTED_MEDIA,
)
from condis.structs import (
    CO_ADDRESS_FAMILY,
    CO_CALL_PARAMETERS,
    CO_SAP,
    NDIS_BIND_PARAMETERS,
    NDIS_OPEN_PARAMETERS,
)

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["ClientAf", "ClientBinding", "ClientSap", "ClientVc", "SampleClient"]


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
    unbinding: bool = False
    unbound: bool = False

    def busy(self) -> bool:
        return any(af.state in ("opening", "closing") for af in self.afs)


class SampleClient(ProtocolDriver):
    """A CoNDIS client (see the module docstring)."""

    def __init__(
        self,
        ndis: Ndis,
        *,
        address_families: Iterable[int] | None = None,
        saps: Mapping[int, Sequence[CO_SAP]] | None = None,
        incoming: Literal["accept", "reject", "pend"] = "accept",
    ) -> None:
        super().__init__(ndis)
        if incoming not in ("accept", "reject", "pend"):
            raise ValueError(f"incoming must be 'accept', 'reject' or 'pend', not {incoming!r}")
        #: how ProtocolClIncomingCall answers an offered call
        self.incoming = incoming
        #: AF types to open when offered; None opens every offer
        self.wanted = None if address_families is None else frozenset(address_families)
        #: SAPs to register on each AF type once it is open
        self.saps: dict[int, tuple[CO_SAP, ...]] = {k: tuple(v) for k, v in (saps or {}).items()}
        self.bindings: list[ClientBinding] = []

    # --- queries for tests and tools -------------------------------------------------------

    def afs(self, state: str | None = None) -> list[ClientAf]:
        return [af for b in self.bindings for af in b.afs if state is None or af.state == state]

    # --- binding ------------------------------------------------------------------------------

    def ProtocolBindAdapterEx(
        self,
        ProtocolDriverContext: object,
        BindContext: BindContextHandle,
        BindParameters: NDIS_BIND_PARAMETERS,
    ) -> NDIS_STATUS:
        if not BindParameters.ConnectionOriented:
            return NDIS_STATUS_UNSUPPORTED_MEDIA  # a CoNDIS client binds to CoNDIS miniports only
        assert self.driver_handle is not None
        binding = ClientBinding(adapter_name=BindParameters.AdapterName, bind_context=BindContext)
        params = NDIS_OPEN_PARAMETERS(
            AdapterName=BindParameters.AdapterName, MediumArray=[BindParameters.MediaType]
        )
        status, handle = self.ndis.NdisOpenAdapterEx(
            self.driver_handle, binding, params, BindContext
        )
        binding.handle = handle
        if status == NDIS_STATUS_PENDING:
            # The handle may not be used until ProtocolOpenAdapterCompleteEx.
            self.bindings.append(binding)
            return NDIS_STATUS_PENDING
        if status == NDIS_STATUS_SUCCESS:
            self.bindings.append(binding)
        return status

    def ProtocolOpenAdapterCompleteEx(
        self, ProtocolBindingContext: ClientBinding, Status: NDIS_STATUS
    ) -> None:
        binding = ProtocolBindingContext
        if Status != NDIS_STATUS_SUCCESS:
            self.bindings.remove(binding)
        assert binding.bind_context is not None
        self.ndis.NdisCompleteBindAdapterEx(binding.bind_context, Status)

    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        binding = ProtocolBindingContext
        ndis = self.ndis
        binding.unbinding = True
        binding.unbind_context = UnbindContext
        binding.idle = ndis.NdisInitializeEvent()
        for af in list(binding.afs):
            if af.state == "open":
                self.close_af(af)
        # Completions may come at DISPATCH_LEVEL; wait here, at PASSIVE_LEVEL,
        # until every AF is closed, then close the binding.
        while binding.busy():
            ndis.NdisResetEvent(binding.idle)
            if binding.busy():
                ndis.NdisWaitEvent(binding.idle, 0)
        assert binding.handle is not None
        status = ndis.NdisCloseAdapterEx(binding.handle)
        if status == NDIS_STATUS_PENDING:
            return NDIS_STATUS_PENDING  # finished in ProtocolCloseAdapterCompleteEx
        self._forget(binding)
        return NDIS_STATUS_SUCCESS

    def ProtocolCloseAdapterCompleteEx(self, ProtocolBindingContext: ClientBinding) -> None:
        binding = ProtocolBindingContext
        self._forget(binding)
        assert binding.unbind_context is not None
        self.ndis.NdisCompleteUnbindAdapterEx(binding.unbind_context)

    def _forget(self, binding: ClientBinding) -> None:
        binding.unbound = True
        if binding in self.bindings:
            self.bindings.remove(binding)

    # --- address families -----------------------------------------------------------------------

    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        binding = ProtocolBindingContext
        binding.offers.append(AddressFamily)
        if self.wanted is not None and AddressFamily.AddressFamily not in self.wanted:
            return  # not for us; NDIS may offer others
        if binding.unbinding:
            return
        assert binding.handle is not None
        af = ClientAf(binding=binding, family=AddressFamily)
        binding.afs.append(af)
        status, handle = self.ndis.NdisClOpenAddressFamilyEx(binding.handle, AddressFamily, af)
        if af.handle is None:
            af.handle = handle
        if status != NDIS_STATUS_PENDING:
            self._open_done(af, handle, status)

    def ProtocolClOpenAfCompleteEx(
        self, ProtocolAfContext: ClientAf, NdisAfHandle: AfHandle | None, Status: NDIS_STATUS
    ) -> None:
        self._open_done(ProtocolAfContext, NdisAfHandle, Status)

    def _open_done(self, af: ClientAf, handle: AfHandle | None, status: NDIS_STATUS) -> None:
        af.last_status = status
        if status != NDIS_STATUS_SUCCESS:
            af.state = "failed"
            af.binding.afs.remove(af)
            self._signal(af.binding)
            return
        af.handle = handle
        af.state = "open"
        if af.binding.unbinding:
            self.close_af(af)
        else:
            # A client that takes incoming calls registers its SAPs now.
            for sap in self.saps.get(af.family.AddressFamily, ()):
                self.register_sap(af, sap)
        self._signal(af.binding)

    # --- SAPs ---------------------------------------------------------------------------------

    def register_sap(self, af: ClientAf, sap: CO_SAP) -> ClientSap:
        """Register a SAP on an open AF to be offered incoming calls on it."""
        assert af.handle is not None and af.state == "open"
        entry = ClientSap(af=af, sap=sap)
        af.saps.append(entry)
        status, handle = self.ndis.NdisClRegisterSap(af.handle, entry, sap)
        if entry.handle is None:
            entry.handle = handle
        if status != NDIS_STATUS_PENDING:
            self._sap_registered(entry, handle, status)
        return entry

    def ProtocolClRegisterSapComplete(
        self,
        Status: NDIS_STATUS,
        ProtocolSapContext: ClientSap,
        Sap: CO_SAP,
        NdisSapHandle: SapHandle | None,
    ) -> None:
        self._sap_registered(ProtocolSapContext, NdisSapHandle, Status)

    def _sap_registered(
        self, entry: ClientSap, handle: SapHandle | None, status: NDIS_STATUS
    ) -> None:
        entry.last_status = status
        if status != NDIS_STATUS_SUCCESS:
            entry.state = "failed"
            entry.af.saps.remove(entry)
        else:
            entry.handle = handle
            entry.state = "registered"
        self._continue_close(entry.af)

    def deregister_sap(self, entry: ClientSap) -> None:
        """Deregister a SAP; NdisClDeregisterSap always completes through
        ProtocolClDeregisterSapComplete."""
        assert entry.handle is not None and entry.state == "registered"
        entry.state = "deregistering"
        self.ndis.NdisClDeregisterSap(entry.handle)

    def ProtocolClDeregisterSapComplete(
        self, Status: NDIS_STATUS, ProtocolSapContext: ClientSap
    ) -> None:
        entry = ProtocolSapContext
        entry.last_status = Status
        if Status == NDIS_STATUS_SUCCESS:
            entry.state = "deregistered"
            entry.af.saps.remove(entry)
        else:
            entry.state = "registered"
        self._continue_close(entry.af)

    # --- closing an AF ----------------------------------------------------------------------------

    def close_af(self, af: ClientAf) -> NDIS_STATUS:
        """Close one open AF: deregister its SAPs first, then NdisClCloseAddressFamily.

        Returns NDIS_STATUS_PENDING while the close is under way, else its
        final status.
        """
        assert af.handle is not None and af.state == "open"
        af.state = "closing"
        self._continue_close(af)
        if af.state == "closing":
            return NDIS_STATUS_PENDING
        assert af.last_status is not None
        return af.last_status

    def _continue_close(self, af: ClientAf) -> None:
        if af.state != "closing" or af.close_issued:
            return
        for entry in list(af.saps):
            if entry.state == "registered":
                self.deregister_sap(entry)
        for vc in list(af.vcs):
            if vc.call in ("connected", "accepted"):
                self.close_call(vc)  # calls first
        for vc in list(af.vcs):
            if not vc.incoming and vc.call in (None, "closed", "failed"):
                self.delete_vc(vc)  # then the VCs we created; the call manager deletes its own
        # A deregistration may complete inside NdisClDeregisterSap and re-enter
        # here; whoever finds the last SAP (and VC) gone issues the close, once.
        if af.saps or af.vcs or af.state != "closing" or af.close_issued:
            return  # ProtocolClRegisterSapComplete / ...DeregisterSapComplete continue
        af.close_issued = True
        assert af.handle is not None
        status = self.ndis.NdisClCloseAddressFamily(af.handle)
        if status != NDIS_STATUS_PENDING:
            self._close_done(af, status)

    def ProtocolClCloseAfComplete(self, Status: NDIS_STATUS, ProtocolAfContext: ClientAf) -> None:
        self._close_done(ProtocolAfContext, Status)

    def _close_done(self, af: ClientAf, status: NDIS_STATUS) -> None:
        af.last_status = status
        if status == NDIS_STATUS_SUCCESS:
            af.state = "closed"
            af.binding.afs.remove(af)
        else:
            af.state = "open"  # the call manager refused; the AF stays usable
            af.close_issued = False
        if af.notify == "pended":
            # ProtocolClNotifyCloseAf returned NDIS_STATUS_PENDING for this close.
            af.notify = None
            assert af.handle is not None
            self.ndis.NdisClNotifyCloseAddressFamilyComplete(af.handle, status)
        self._signal(af.binding)

    def ProtocolClNotifyCloseAf(self, ProtocolAfContext: ClientAf) -> NDIS_STATUS:
        af = ProtocolAfContext
        # While this handler runs, a close that completes (even on "another
        # processor", before NdisClCloseAddressFamily returns) is reported by
        # the status returned here; once it has returned PENDING, by
        # NdisClNotifyCloseAddressFamilyComplete.
        af.notify = "in handler"
        if af.state == "open":
            self.close_af(af)
        if af.state == "closing":
            af.notify = "pended"
            return NDIS_STATUS_PENDING
        af.notify = None
        assert af.last_status is not None
        return af.last_status

    # --- VCs --------------------------------------------------------------------------------------

    def create_vc(self, af: ClientAf) -> ClientVc | None:
        """Create a VC for an outgoing call on an open AF (NdisCoCreateVc)."""
        assert af.handle is not None and af.binding.handle is not None
        vc = ClientVc(af=af)
        status, handle = self.ndis.NdisCoCreateVc(af.binding.handle, af.handle, vc)
        vc.last_status = status
        if status != NDIS_STATUS_SUCCESS:
            return None
        vc.handle = handle
        af.vcs.append(vc)
        return vc

    def delete_vc(self, vc: ClientVc) -> NDIS_STATUS:
        """Delete a VC this client created (NdisCoDeleteVc)."""
        assert vc.handle is not None
        status = self.ndis.NdisCoDeleteVc(vc.handle)
        vc.last_status = status
        if status == NDIS_STATUS_SUCCESS:
            vc.af.vcs.remove(vc)
        return status

    def ProtocolCoCreateVc(
        self, ProtocolAfContext: ClientAf, NdisVcHandle: VcHandle
    ) -> tuple[NDIS_STATUS, ClientVc]:
        # A call manager is creating a VC for an incoming call on one of our SAPs.
        vc = ClientVc(af=ProtocolAfContext, handle=NdisVcHandle, incoming=True)
        ProtocolAfContext.vcs.append(vc)
        return NDIS_STATUS_SUCCESS, vc

    def ProtocolCoDeleteVc(self, ProtocolVcContext: ClientVc) -> NDIS_STATUS:
        af = ProtocolVcContext.af
        af.vcs.remove(ProtocolVcContext)
        self._continue_close(af)
        return NDIS_STATUS_SUCCESS

    # --- calls ------------------------------------------------------------------------------------

    def make_call(self, af: ClientAf, parameters: CO_CALL_PARAMETERS) -> ClientVc | None:
        """Create a VC and make an outgoing call on it (NdisCoCreateVc, NdisClMakeCall)."""
        vc = self.create_vc(af)
        if vc is None:
            return None
        assert vc.handle is not None
        vc.call, vc.parameters = "making", parameters
        status, _ = self.ndis.NdisClMakeCall(vc.handle, parameters)
        if status != NDIS_STATUS_PENDING:
            self._make_call_done(vc, status, parameters)
        return vc

    def ProtocolClMakeCallComplete(
        self,
        Status: NDIS_STATUS,
        ProtocolVcContext: ClientVc,
        NdisPartyHandle: PartyHandle | None,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> None:
        ProtocolVcContext.party_handle = NdisPartyHandle
        self._make_call_done(ProtocolVcContext, Status, CallParameters)

    def _make_call_done(
        self, vc: ClientVc, status: NDIS_STATUS, parameters: CO_CALL_PARAMETERS
    ) -> None:
        vc.last_status, vc.parameters = status, parameters
        vc.call = "connected" if status == NDIS_STATUS_SUCCESS else "failed"
        self._continue_close(vc.af)

    def ProtocolClIncomingCall(
        self,
        ProtocolSapContext: ClientSap,
        ProtocolVcContext: ClientVc,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> NDIS_STATUS:
        vc = ProtocolVcContext
        vc.parameters = CallParameters
        if self.incoming == "pend":
            vc.call = "offered"  # answered later with `answer()`
            return NDIS_STATUS_PENDING
        if self.incoming == "reject":
            vc.call = "failed"
            return NDIS_STATUS_NOT_ACCEPTED
        vc.call = "accepted"
        return NDIS_STATUS_SUCCESS

    def answer(self, vc: ClientVc, status: NDIS_STATUS) -> None:
        """Answer an incoming call that ProtocolClIncomingCall pended."""
        assert vc.handle is not None and vc.parameters is not None and vc.call == "offered"
        vc.call = "accepted" if status == NDIS_STATUS_SUCCESS else "failed"
        self.ndis.NdisClIncomingCallComplete(status, vc.handle, vc.parameters)

    def ProtocolClCallConnected(self, ProtocolVcContext: ClientVc) -> None:
        ProtocolVcContext.call = "connected"

    def close_call(self, vc: ClientVc) -> NDIS_STATUS:
        """Close the call on `vc` (NdisClCloseCall), once its sends have come back."""
        assert vc.handle is not None
        if vc.sends_outstanding:
            # "Before calling NdisClCloseCall, a protocol must ensure that all its
            # outstanding send packets have been returned" (NdisClCloseCall).
            vc.close_when_sent = True
            return NDIS_STATUS_PENDING
        vc.call = "closing"
        status = self.ndis.NdisClCloseCall(vc.handle, None, None, 0)
        if status != NDIS_STATUS_PENDING:
            self._close_call_done(vc, status)
        return status

    def ProtocolClCloseCallComplete(
        self, Status: NDIS_STATUS, ProtocolVcContext: ClientVc, ProtocolPartyContext: object
    ) -> None:
        self._close_call_done(ProtocolVcContext, Status)

    def _close_call_done(self, vc: ClientVc, status: NDIS_STATUS) -> None:
        vc.last_status = status
        vc.call = "closed" if status == NDIS_STATUS_SUCCESS else "connected"
        self._continue_close(vc.af)

    def ProtocolClIncomingCloseCall(
        self,
        CloseStatus: NDIS_STATUS,
        ProtocolVcContext: ClientVc,
        CloseData: bytes | None,
        Size: int,
    ) -> None:
        # The remote end (or the network) closed the call: acknowledge with
        # NdisClCloseCall. A VC we created stays for reuse; the call manager
        # deletes the ones it created.
        self.close_call(ProtocolVcContext)

    # --- data -------------------------------------------------------------------------------------

    def send(self, vc: ClientVc, *packets: bytes) -> None:
        """Send one NBL per packet on a connected VC (NdisCoSendNetBufferLists)."""
        assert vc.handle is not None
        nbls = [NET_BUFFER_LIST.of(p, SourceHandle=vc.handle) for p in packets]
        head = NET_BUFFER_LIST.link(nbls)
        assert head is not None
        vc.sends_outstanding += len(nbls)
        self.ndis.NdisCoSendNetBufferLists(vc.handle, head, 0)

    def ProtocolCoSendNetBufferListsComplete(
        self, ProtocolVcContext: ClientVc, NetBufferLists: NET_BUFFER_LIST, SendCompleteFlags: int
    ) -> None:
        vc = ProtocolVcContext
        for nbl in NetBufferLists.chain():
            vc.sends_outstanding -= 1
            vc.send_statuses.append(nbl.Status)
        if vc.close_when_sent and not vc.sends_outstanding:
            vc.close_when_sent = False
            self.close_call(vc)

    def ProtocolCoReceiveNetBufferLists(
        self,
        ProtocolBindingContext: ClientBinding,
        ProtocolVcContext: ClientVc,
        NetBufferLists: NET_BUFFER_LIST,
        NumberOfNetBufferLists: int,
        ReceiveFlags: int,
    ) -> None:
        for nbl in NetBufferLists.chain():
            ProtocolVcContext.received.append(nbl.data)
        if not ReceiveFlags & NDIS_RECEIVE_FLAGS_RESOURCES:
            # We own the NBLs now; give them back to the miniport at once.
            assert ProtocolBindingContext.handle is not None
            self.ndis.NdisReturnNetBufferLists(ProtocolBindingContext.handle, NetBufferLists, 0)

    def _signal(self, binding: ClientBinding) -> None:
        if binding.idle is not None:
            self.ndis.NdisSetEvent(binding.idle)
