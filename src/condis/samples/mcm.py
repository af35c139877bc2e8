"""Sample miniport call manager (MCM): a NIC with call management on board.

Written the way a WDK sample would be. The MCM registers as a CoNDIS
miniport with call-manager handlers (MiniportSetOptions, from the
`MiniportDriver` base), and in MiniportInitializeEx it registers one AF per
configured type with NdisMCmRegisterAddressFamilyEx.

`completion` chooses how it answers ProtocolCmOpenAf and ProtocolCmCloseAf:
"sync" finishes in the handler; "pended" returns NDIS_STATUS_PENDING and
completes from an NDIS I/O work item with NdisMCmOpenAddressFamilyComplete /
NdisMCmCloseAddressFamilyComplete, as an MCM whose signaling runs on the NIC
would.

MiniportHaltEx closes every AF still open with NdisMCmNotifyCloseAddressFamily
and, for those the clients pend, waits (NdisWaitEvent) until
ProtocolCmNotifyCloseAfComplete reports each one; it then waits for its own
work items to drain, because NDIS requires every work item allocated with the
adapter handle to be freed before MiniportHaltEx returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from condis.constants import (
    CO_ADDRESS_FAMILY_PSCHED,
    CO_ADDRESS_FAMILY_Q2931,
    NDIS_HALT_ACTION,
    NDIS_MEDIUM,
)
from condis.data import NET_BUFFER_LIST
from condis.driver import MiniportDriver
from condis.handles import (
    AdapterHandle,
    AfHandle,
    PartyHandle,
    SapHandle,
    VcHandle,
    WorkItemHandle,
)
from condis.spinlocks import NDIS_EVENT
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_NO_ROUTE_TO_DESTINATION,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_VC_NOT_ACTIVATED,
)
from condis.structs import (
    CO_ADDRESS_FAMILY,
    CO_CALL_MANAGER_PARAMETERS,
    CO_CALL_PARAMETERS,
    CO_MEDIA_PARAMETERS,
    CO_SAP,
    CO_SPECIFIC_PARAMETERS,
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_MINIPORT_INIT_PARAMETERS,
)

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["McmAdapter", "McmAf", "McmSap", "McmVc", "SampleMcm", "called_party"]


def called_party(sap: CO_SAP, **media: int) -> CO_CALL_PARAMETERS:
    """Call parameters addressed to `sap` on this sample's loopback network."""
    return CO_CALL_PARAMETERS(
        CallMgrParameters=CO_CALL_MANAGER_PARAMETERS(),
        MediaParameters=CO_MEDIA_PARAMETERS(
            MediaSpecific=CO_SPECIFIC_PARAMETERS(ParamType=sap.SapType, Parameters=sap.Sap),
            **media,
        ),
    )


#: the signaling version this sample speaks (UNI 3.1)
MAJOR_VERSION, MINOR_VERSION = 3, 1


@dataclass(eq=False)
class McmAf:
    """CallMgrAfContext: the MCM's state for one client's open of one AF."""

    adapter: McmAdapter
    family: CO_ADDRESS_FAMILY
    handle: AfHandle
    open: bool = False
    notified: bool = False


@dataclass(eq=False)
class McmSap:
    """CallMgrSapContext: a SAP a client registered with the MCM."""

    af: McmAf
    sap: CO_SAP
    handle: SapHandle
    registered: bool = False

    @property
    def key(self) -> tuple[int, int, bytes]:
        return (self.af.family.AddressFamily, self.sap.SapType, self.sap.Sap)


@dataclass(eq=False)
class McmVc:
    """The MCM's per-VC state: CallMgrVcContext (a client's VC) or MiniportVcContext (its own)."""

    af: McmAf
    handle: VcHandle | None = None
    active: bool = False
    parameters: CO_CALL_PARAMETERS | None = None
    #: True for a VC the MCM created for an incoming call (it deletes it)
    incoming: bool = False
    #: the VC at the other end of the call, while the call is up
    peer: McmVc | None = None
    party_handle: PartyHandle | None = None


@dataclass(eq=False)
class McmAdapter:
    """MiniportAdapterContext: the MCM's state for one NIC."""

    handle: AdapterHandle
    name: str
    medium: NDIS_MEDIUM
    afs: dict[AfHandle, McmAf] = field(default_factory=dict)
    #: registered SAPs by (AF type, SapType, Sap): how incoming calls find a client
    saps: dict[tuple[int, int, bytes], McmSap] = field(default_factory=dict)
    vcs: dict[VcHandle, McmVc] = field(default_factory=dict)
    work_outstanding: int = 0
    #: receive NBLs indicated and not yet returned
    receives_outstanding: int = 0
    notifies_outstanding: int = 0
    halt_event: NDIS_EVENT | None = None
    halted: bool = False


class SampleMcm(MiniportDriver):
    """An MCM for a connection-oriented NIC (see the module docstring)."""

    def __init__(
        self,
        ndis: Ndis,
        *,
        address_families: Sequence[int] = (CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED),
        completion: Literal["sync", "pended"] = "sync",
    ) -> None:
        super().__init__(ndis)
        if completion not in ("sync", "pended"):
            raise ValueError(f"completion must be 'sync' or 'pended', not {completion!r}")
        self.address_families = tuple(address_families)
        self.completion = completion
        self.adapters: dict[AdapterHandle, McmAdapter] = {}

    # --- adapter lifetime ------------------------------------------------------------------

    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        ndis = self.ndis
        adapter = McmAdapter(
            handle=NdisMiniportHandle,
            name=MiniportInitParameters.AdapterName,
            medium=MiniportInitParameters.MediaType,
        )
        # The registration attributes must come first: they carry the context
        # NDIS hands back to every MiniportXxx and, for an MCM, ProtocolCmXxx.
        status = ndis.NdisMSetMiniportAttributes(
            NdisMiniportHandle,
            NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES(MiniportAdapterContext=adapter),
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        status = ndis.NdisMSetMiniportAttributes(
            NdisMiniportHandle,
            NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES(MediaType=adapter.medium, MtuSize=9180),
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        # Advertise the on-board signaling: one registration per AF type. NDIS
        # tells the clients once this function has returned and they are bound.
        for af_type in self.address_families:
            family = CO_ADDRESS_FAMILY(af_type, MAJOR_VERSION, MINOR_VERSION)
            status = ndis.NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, family)
            if status != NDIS_STATUS_SUCCESS:
                return status  # NDIS drops the registrations of a failed initialize
        self.adapters[NdisMiniportHandle] = adapter
        return NDIS_STATUS_SUCCESS

    def MiniportHaltEx(
        self, MiniportAdapterContext: McmAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        adapter = MiniportAdapterContext
        ndis = self.ndis
        adapter.halt_event = ndis.NdisInitializeEvent()
        # The NIC is going away: every client must close its AFs on it. Wait
        # for pended notifications and for our own work items; the system keeps
        # running (NDIS and the clients complete) while this thread waits.
        while True:
            ndis.NdisResetEvent(adapter.halt_event)
            for af in list(adapter.afs.values()):
                if af.open and not af.notified:
                    af.notified = True
                    adapter.notifies_outstanding += 1
                    if ndis.NdisMCmNotifyCloseAddressFamily(af.handle) != NDIS_STATUS_PENDING:
                        adapter.notifies_outstanding -= 1
            if not (
                adapter.notifies_outstanding
                or adapter.work_outstanding
                or adapter.receives_outstanding
                or adapter.afs
            ):
                break
            ndis.NdisWaitEvent(adapter.halt_event, 0)
        adapter.halted = True
        del self.adapters[adapter.handle]

    # --- deferring work to PASSIVE_LEVEL ------------------------------------------------------

    def _defer(self, adapter: McmAdapter, work: Callable[[], None]) -> bool:
        item = self.ndis.NdisAllocateIoWorkItem(adapter.handle)
        if item is None:
            return False
        adapter.work_outstanding += 1
        self.ndis.NdisQueueIoWorkItem(item, self._work_routine, (adapter, work))
        return True

    def _work_routine(
        self,
        WorkItemContext: tuple[McmAdapter, Callable[[], None]],
        NdisIoWorkItemHandle: WorkItemHandle,
    ) -> None:
        adapter, work = WorkItemContext
        self.ndis.NdisFreeIoWorkItem(NdisIoWorkItemHandle)
        work()
        adapter.work_outstanding -= 1
        if adapter.halt_event is not None:
            self.ndis.NdisSetEvent(adapter.halt_event)

    # --- call manager: address families ---------------------------------------------------------

    def ProtocolCmOpenAf(
        self,
        CallMgrBindingContext: McmAdapter,
        AddressFamily: CO_ADDRESS_FAMILY,
        NdisAfHandle: AfHandle,
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmAf]:
        adapter = CallMgrBindingContext
        if AddressFamily.MajorVersion != MAJOR_VERSION:
            return NDIS_STATUS_NOT_SUPPORTED
        af = McmAf(adapter=adapter, family=AddressFamily, handle=NdisAfHandle)
        adapter.afs[NdisAfHandle] = af
        if self.completion == "sync":
            af.open = True
            return NDIS_STATUS_SUCCESS, af

        def complete() -> None:
            af.open = True
            self.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, NdisAfHandle, af)

        if not self._defer(adapter, complete):
            del adapter.afs[NdisAfHandle]
            return NDIS_STATUS_RESOURCES
        return NDIS_STATUS_PENDING

    def ProtocolCmCloseAf(self, CallMgrAfContext: McmAf) -> NDIS_STATUS:
        af = CallMgrAfContext
        adapter = af.adapter
        if self.completion == "sync":
            af.open = False
            del adapter.afs[af.handle]
            return NDIS_STATUS_SUCCESS

        def complete() -> None:
            af.open = False
            del adapter.afs[af.handle]
            # When this returns the handle is invalid for the MCM.
            self.ndis.NdisMCmCloseAddressFamilyComplete(NDIS_STATUS_SUCCESS, af.handle)

        if not self._defer(adapter, complete):
            af.open = False
            del adapter.afs[af.handle]
            return NDIS_STATUS_SUCCESS
        return NDIS_STATUS_PENDING

    # --- call manager: SAPs --------------------------------------------------------------------

    def ProtocolCmRegisterSap(
        self, CallMgrAfContext: McmAf, Sap: CO_SAP, NdisSapHandle: SapHandle
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmSap]:
        af = CallMgrAfContext
        adapter = af.adapter
        entry = McmSap(af=af, sap=Sap, handle=NdisSapHandle)
        if entry.key in adapter.saps:
            # "If the given SAP is already registered by another connection-oriented
            # client, the call manager must fail the request" (ProtocolCmRegisterSap).
            return NDIS_STATUS_INVALID_DATA
        adapter.saps[entry.key] = entry
        if self.completion == "sync":
            entry.registered = True
            return NDIS_STATUS_SUCCESS, entry

        def complete() -> None:
            entry.registered = True
            self.ndis.NdisMCmRegisterSapComplete(NDIS_STATUS_SUCCESS, NdisSapHandle, entry)

        if not self._defer(adapter, complete):
            del adapter.saps[entry.key]
            return NDIS_STATUS_RESOURCES
        return NDIS_STATUS_PENDING

    def ProtocolCmDeregisterSap(self, CallMgrSapContext: McmSap) -> NDIS_STATUS:
        entry = CallMgrSapContext
        if self.completion == "pended":

            def complete() -> None:
                self._forget_sap(entry)
                self.ndis.NdisMCmDeregisterSapComplete(NDIS_STATUS_SUCCESS, entry.handle)

            if self._defer(entry.af.adapter, complete):
                return NDIS_STATUS_PENDING
        self._forget_sap(entry)
        return NDIS_STATUS_SUCCESS

    @staticmethod
    def _forget_sap(entry: McmSap) -> None:
        entry.registered = False
        entry.af.adapter.saps.pop(entry.key, None)

    # --- VCs --------------------------------------------------------------------------------------
    # An MCM has no MiniportCoCreateVc for NDIS to call: its call-manager and
    # miniport halves share the per-VC state, and it activates VCs itself,
    # telling NDIS with NdisMCmActivateVc / NdisMCmDeactivateVc.

    def ProtocolCoCreateVc(
        self, ProtocolAfContext: McmAf, NdisVcHandle: VcHandle
    ) -> tuple[NDIS_STATUS, McmVc]:
        vc = McmVc(af=ProtocolAfContext, handle=NdisVcHandle)
        ProtocolAfContext.adapter.vcs[NdisVcHandle] = vc
        return NDIS_STATUS_SUCCESS, vc

    def ProtocolCoDeleteVc(self, ProtocolVcContext: McmVc) -> NDIS_STATUS:
        if ProtocolVcContext.active:
            return NDIS_STATUS_NOT_ACCEPTED
        assert ProtocolVcContext.handle is not None
        ProtocolVcContext.af.adapter.vcs.pop(ProtocolVcContext.handle, None)
        return NDIS_STATUS_SUCCESS

    def activate_vc(self, vc: McmVc, parameters: CO_CALL_PARAMETERS) -> NDIS_STATUS:
        """Program the NIC for `vc` and tell NDIS (NdisMCmActivateVc)."""
        assert vc.handle is not None
        status = self.ndis.NdisMCmActivateVc(vc.handle, parameters)
        if status != NDIS_STATUS_PENDING:
            # The page: "the MCM driver should make an internal call to its
            # ProtocolCmActivateVcComplete function".
            self.ProtocolCmActivateVcComplete(status, vc, parameters)
        return status

    def deactivate_vc(self, vc: McmVc) -> NDIS_STATUS:
        """Stop transfers on `vc` and tell NDIS (NdisMCmDeactivateVc)."""
        assert vc.handle is not None
        status = self.ndis.NdisMCmDeactivateVc(vc.handle)
        if status == NDIS_STATUS_SUCCESS:
            self.ProtocolCmDeactivateVcComplete(status, vc)
        return status

    def ProtocolCmActivateVcComplete(
        self, Status: NDIS_STATUS, CallMgrVcContext: McmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        if Status == NDIS_STATUS_SUCCESS:
            CallMgrVcContext.active = True
            CallMgrVcContext.parameters = CallParameters

    def ProtocolCmDeactivateVcComplete(self, Status: NDIS_STATUS, CallMgrVcContext: McmVc) -> None:
        if Status == NDIS_STATUS_SUCCESS:
            CallMgrVcContext.active = False
            CallMgrVcContext.parameters = None

    # --- calls: a loopback network between the clients of this MCM's adapters -----------------
    #
    # The called address is the callee's SAP, carried in the media-specific
    # parameters (ParamType = SapType, Parameters = SAP bytes); see
    # `called_party()`. The network is every adapter this driver runs.

    def _route(self, af_type: int, parameters: CO_CALL_PARAMETERS) -> McmSap | None:
        media = parameters.MediaParameters
        if media is None:
            return None
        key = (af_type, media.MediaSpecific.ParamType, media.MediaSpecific.Parameters)
        for adapter in self.adapters.values():
            entry = adapter.saps.get(key)
            if entry is not None and entry.registered:
                return entry
        return None

    def ProtocolCmMakeCall(
        self,
        CallMgrVcContext: McmVc,
        CallParameters: CO_CALL_PARAMETERS,
        NdisPartyHandle: PartyHandle | None,
    ) -> NDIS_STATUS:
        caller = CallMgrVcContext
        target = self._route(caller.af.family.AddressFamily, CallParameters)
        if target is None:
            return NDIS_STATUS_NO_ROUTE_TO_DESTINATION
        caller.party_handle = NdisPartyHandle
        # Signaling takes time: offer the call to the callee from a work item.
        if not self._defer(caller.af.adapter, lambda: self._offer(caller, target, CallParameters)):
            return NDIS_STATUS_RESOURCES
        return NDIS_STATUS_PENDING

    def _offer(self, caller: McmVc, target: McmSap, parameters: CO_CALL_PARAMETERS) -> None:
        ndis = self.ndis
        callee_af = target.af
        callee = McmVc(af=callee_af, incoming=True)
        status, handle = ndis.NdisMCmCreateVc(callee_af.adapter.handle, callee_af.handle, callee)
        if status != NDIS_STATUS_SUCCESS:
            self._fail_call(caller, status, parameters)
            return
        callee.handle = handle
        assert handle is not None
        callee_af.adapter.vcs[handle] = callee
        self.activate_vc(callee, parameters)
        caller.peer, callee.peer = callee, caller
        status = ndis.NdisMCmDispatchIncomingCall(target.handle, handle, parameters)
        if status != NDIS_STATUS_PENDING:
            self.ProtocolCmIncomingCallComplete(status, callee, parameters)  # internal call

    def _fail_call(
        self, caller: McmVc, status: NDIS_STATUS, parameters: CO_CALL_PARAMETERS
    ) -> None:
        assert caller.handle is not None
        caller.peer = None
        self.ndis.NdisMCmMakeCallComplete(status, caller.handle, None, None, parameters)

    def ProtocolCmIncomingCallComplete(
        self, Status: NDIS_STATUS, CallMgrVcContext: McmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        callee = CallMgrVcContext
        caller = callee.peer
        assert caller is not None and callee.handle is not None and caller.handle is not None
        if Status != NDIS_STATUS_SUCCESS:
            # Rejected: tear down the VC made for the offer, fail the outgoing call.
            callee.peer = None
            self.deactivate_vc(callee)
            self.ndis.NdisMCmDeleteVc(callee.handle)
            self._fail_call(caller, Status, CallParameters)
            return
        self.activate_vc(caller, CallParameters)
        self.ndis.NdisMCmMakeCallComplete(
            NDIS_STATUS_SUCCESS, caller.handle, caller.party_handle, None, CallParameters
        )
        self.ndis.NdisMCmDispatchCallConnected(callee.handle)

    def ProtocolCmCloseCall(
        self,
        CallMgrVcContext: McmVc,
        CallMgrPartyContext: object,
        CloseData: bytes | None,
        Size: int,
    ) -> NDIS_STATUS:
        vc = CallMgrVcContext
        adapter = vc.af.adapter
        peer, vc.peer = vc.peer, None
        if peer is not None and peer.peer is vc:
            # Tell the other end that its call is going away.
            peer.peer = None
            assert peer.handle is not None
            peer_handle = peer.handle
            self._defer(
                peer.af.adapter,
                lambda: self.ndis.NdisMCmDispatchIncomingCloseCall(
                    NDIS_STATUS_SUCCESS, peer_handle, None, 0
                ),
            )

        def finish(pended: bool) -> None:
            self.deactivate_vc(vc)
            assert vc.handle is not None
            handle = vc.handle
            if pended:
                self.ndis.NdisMCmCloseCallComplete(NDIS_STATUS_SUCCESS, handle, None)
            if vc.incoming:
                # We created this VC for an incoming call: delete it once the
                # close has completed (the call is gone when this work runs).
                self._defer(adapter, lambda: self._delete_incoming_vc(vc))

        if self.completion == "pended" and self._defer(adapter, lambda: finish(True)):
            return NDIS_STATUS_PENDING
        finish(False)
        return NDIS_STATUS_SUCCESS

    def _delete_incoming_vc(self, vc: McmVc) -> None:
        assert vc.handle is not None
        if self.ndis.NdisMCmDeleteVc(vc.handle) == NDIS_STATUS_SUCCESS:
            vc.af.adapter.vcs.pop(vc.handle, None)

    # --- data: what one end sends, the other end receives ------------------------------------

    def MiniportCoSendNetBufferLists(
        self, MiniportVcContext: McmVc, NetBufferLists: NET_BUFFER_LIST, SendFlags: int
    ) -> None:
        vc = MiniportVcContext
        sent = list(NetBufferLists.chain())
        peer = vc.peer
        if peer is not None and peer.handle is not None and peer.active:
            # Receive buffers are the NIC's own: copy the data into new NBLs.
            received = [
                NET_BUFFER_LIST.of(*(nb.Data for nb in nbl.buffers()), SourceHandle=peer.handle)
                for nbl in sent
            ]
            peer.af.adapter.receives_outstanding += len(received)
            head = NET_BUFFER_LIST.link(received)
            assert head is not None
            self.ndis.NdisMCoIndicateReceiveNetBufferLists(peer.handle, head, len(received), 0)
            status = NDIS_STATUS_SUCCESS
        else:
            status = NDIS_STATUS_VC_NOT_ACTIVATED  # nobody at the other end any more
        for nbl in sent:
            nbl.Status = status
        assert vc.handle is not None
        handle, head = vc.handle, NET_BUFFER_LIST.link(sent)
        assert head is not None
        if self.completion == "pended" and self._defer(
            vc.af.adapter, lambda: self.ndis.NdisMCoSendNetBufferListsComplete(handle, head, 0)
        ):
            return
        self.ndis.NdisMCoSendNetBufferListsComplete(handle, head, 0)

    def MiniportReturnNetBufferLists(
        self, MiniportAdapterContext: McmAdapter, NetBufferLists: NET_BUFFER_LIST, ReturnFlags: int
    ) -> None:
        adapter = MiniportAdapterContext
        adapter.receives_outstanding -= sum(1 for _ in NetBufferLists.chain())
        if adapter.halt_event is not None:
            self.ndis.NdisSetEvent(adapter.halt_event)

    def ProtocolCmNotifyCloseAfComplete(self, CallMgrAfContext: McmAf, Status: NDIS_STATUS) -> None:
        adapter = CallMgrAfContext.adapter
        adapter.notifies_outstanding -= 1
        if adapter.halt_event is not None:
            self.ndis.NdisSetEvent(adapter.halt_event)
