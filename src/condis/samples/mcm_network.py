"""The sample MCM's network: VCs, calls, parties, QoS, data and OIDs.

The MCM's NICs form one loopback network. A call is addressed to a SAP
(`called_party`); the MCM finds the client that registered it on any of its
adapters, creates a VC for that client (NdisMCmCreateVc), activates it
(NdisMCmActivateVc) and offers the call (NdisMCmDispatchIncomingCall). When
the callee accepts, the MCM activates the caller's VC, completes the caller's
NdisClMakeCall (NdisMCmMakeCallComplete) and connects the callee
(NdisMCmDispatchCallConnected). Signaling runs from NDIS I/O work items, as
it would on a NIC that interrupts when the network answers.

A point-to-point call joins two VCs (`peer`). A multipoint call has a root VC
(the caller's) and one leaf VC per party (a callee's); what the root sends
reaches every connected leaf, what a leaf sends reaches the root. When a
leaf hangs up, the MCM tells the root's client with
NdisMCmDispatchIncomingDropParty, or with NdisMCmDispatchIncomingCloseCall if
it was the last party.

A QoS change is made at once; with pended completion it is reported
(NdisMCmModifyCallQoSComplete) from a work item, or earlier if the call
closes first: the close of a call completes only after the change pending on
it, and a VC made for a rejected offer is deleted only after it.

Data copies each NBL's bytes into new receive NBLs at the other end
(NdisMCoIndicateReceiveNetBufferLists) and completes the send
(NdisMCoSendNetBufferListsComplete).

OIDs: the NIC answers one vendor-specific OID, OID_SAMPLE_LINK_SPEED (the
0xFF high byte marks a vendor OID), for query and set; any other OID gets
NDIS_STATUS_NOT_SUPPORTED.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from condis.data import NET_BUFFER_LIST
from condis.driver import MiniportDriver
from condis.handles import PartyHandle, VcHandle, WorkItemHandle
from condis.oid import NDIS_OID_REQUEST, NDIS_REQUEST_TYPE
from condis.samples.mcm_state import McmAdapter, McmAf, McmParty, McmSap, McmVc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_NO_ROUTE_TO_DESTINATION,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_VC_NOT_ACTIVATED,
)
from condis.structs import CO_CALL_PARAMETERS

if TYPE_CHECKING:
    from condis.handles import AdapterHandle

__all__ = ["OID_SAMPLE_LINK_SPEED", "McmNetwork"]

#: the sample NIC's vendor-specific OID: its link speed in bits per second
OID_SAMPLE_LINK_SPEED = 0xFF010001


class McmNetwork(MiniportDriver):
    """Everything the sample MCM does once AFs are open (module docstring)."""

    adapters: dict[AdapterHandle, McmAdapter]
    completion: str

    # --- deferring work to PASSIVE_LEVEL ---------------------------------------------------

    def _defer(self, adapter: McmAdapter, work: Callable[[], None]) -> bool:
        item = self.ndis.NdisAllocateIoWorkItem(adapter.handle)
        if item is None:
            return False
        adapter.work_outstanding += 1
        self.ndis.NdisQueueIoWorkItem(item, self._work_routine, (adapter, work))
        return True

    def _defer_or_later(self, adapter: McmAdapter, work: Callable[[], None]) -> None:
        """Signalling that must happen: without a work item now, the next one (or the halt) runs it.

        Low on resources, NdisAllocateIoWorkItem can fail; a hang-up or a VC
        deletion must not be lost, or a client would wait for ever. Both the
        next work item and MiniportHaltEx run at PASSIVE_LEVEL, as the work
        item would have.
        """
        if not self._defer(adapter, work):
            adapter.backlog.append(work)

    def _run_backlog(self, adapter: McmAdapter) -> None:
        while adapter.backlog:
            adapter.backlog.pop(0)()

    def _work_routine(
        self,
        WorkItemContext: tuple[McmAdapter, Callable[[], None]],
        NdisIoWorkItemHandle: WorkItemHandle,
    ) -> None:
        adapter, work = WorkItemContext
        self.ndis.NdisFreeIoWorkItem(NdisIoWorkItemHandle)
        work()
        self._run_backlog(adapter)
        adapter.work_outstanding -= 1
        if adapter.halt_event is not None:
            self.ndis.NdisSetEvent(adapter.halt_event)

    # --- VCs ---------------------------------------------------------------------------------
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
            # "the MCM driver should make an internal call to its
            # ProtocolCmActivateVcComplete function" (NdisMCmActivateVc)
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

    # --- calls ---------------------------------------------------------------------------------

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
        caller.calls += 1
        party = None
        if NdisPartyHandle is not None:  # a multipoint call: this is its first party
            party = McmParty(root=caller, handle=NdisPartyHandle, origin="make")
            caller.parties.append(party)
        # Signaling takes time: offer the call to the callee from a work item.
        if not self._defer(
            caller.af.adapter, lambda: self._offer(caller, target, CallParameters, party)
        ):
            return NDIS_STATUS_RESOURCES
        return NDIS_STATUS_PENDING

    def _offer(
        self,
        caller: McmVc,
        target: McmSap,
        parameters: CO_CALL_PARAMETERS,
        party: McmParty | None,
    ) -> None:
        ndis = self.ndis
        callee_af = target.af
        if not target.registered or callee_af.adapter.saps.get(target.key) is not target:
            # The callee deregistered its SAP (or closed its AF) since the call was routed.
            self._answer_caller(caller, party, NDIS_STATUS_NO_ROUTE_TO_DESTINATION, parameters)
            return
        callee = McmVc(af=callee_af, incoming=True, party=party)
        status, handle = ndis.NdisMCmCreateVc(callee_af.adapter.handle, callee_af.handle, callee)
        if status != NDIS_STATUS_SUCCESS:
            self._answer_caller(caller, party, status, parameters)
            return
        assert handle is not None
        callee.handle = handle
        callee_af.adapter.vcs[handle] = callee
        self.activate_vc(callee, parameters)
        if party is None:
            caller.peer, callee.peer = callee, caller
        else:
            party.leaf = callee
        status = ndis.NdisMCmDispatchIncomingCall(target.handle, handle, parameters)
        if status != NDIS_STATUS_PENDING:
            self.ProtocolCmIncomingCallComplete(status, callee, parameters)  # internal call

    def _answer_caller(
        self,
        caller: McmVc,
        party: McmParty | None,
        status: NDIS_STATUS,
        parameters: CO_CALL_PARAMETERS,
    ) -> None:
        """Finish the caller's NdisClMakeCall or NdisClAddParty with `status`."""
        assert caller.handle is not None
        ndis = self.ndis
        if status == NDIS_STATUS_SUCCESS:
            if party is None or party.origin == "make":
                self.activate_vc(caller, parameters)
                ndis.NdisMCmMakeCallComplete(
                    status,
                    caller.handle,
                    None if party is None else party.handle,
                    party,
                    parameters,
                )
            else:
                assert party.handle is not None
                ndis.NdisMCmAddPartyComplete(status, party.handle, party, parameters)
            return
        caller.peer = None
        if party is not None:
            caller.parties.remove(party)
        if party is not None and party.origin == "add":
            assert party.handle is not None
            ndis.NdisMCmAddPartyComplete(status, party.handle, None, parameters)
        else:
            ndis.NdisMCmMakeCallComplete(status, caller.handle, None, None, parameters)

    def ProtocolCmIncomingCallComplete(
        self, Status: NDIS_STATUS, CallMgrVcContext: McmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        callee = CallMgrVcContext
        party = callee.party
        caller = callee.peer if party is None else party.root
        assert caller is not None and callee.handle is not None
        if Status != NDIS_STATUS_SUCCESS:
            # Rejected: tear down the VC made for the offer, fail the caller.
            callee.peer = None
            self._complete_qos(callee)  # a change its client asked for while deciding
            self.deactivate_vc(callee)
            self.ndis.NdisMCmDeleteVc(callee.handle)
            callee.af.adapter.vcs.pop(callee.handle, None)
            self._answer_caller(caller, party, Status, CallParameters)
            return
        if party is not None:
            party.connected = True
        self._answer_caller(caller, party, NDIS_STATUS_SUCCESS, CallParameters)
        self.ndis.NdisMCmDispatchCallConnected(callee.handle)

    def ProtocolCmCloseCall(
        self,
        CallMgrVcContext: McmVc,
        CallMgrPartyContext: McmParty | None,
        CloseData: bytes | None,
        Size: int,
    ) -> NDIS_STATUS:
        vc = CallMgrVcContext
        adapter = vc.af.adapter
        # From now on this client hears nothing more of the call: a hang-up or a
        # drop from the other end(s), already queued or still to come, is not told.
        vc.closing = True
        # A QoS change still pending on the call is finished before the close is.
        self._complete_qos(vc)
        # Whoever is at the other end must hear that the call is going away.
        for hang_up in self._other_ends(vc):
            self._defer_or_later(hang_up[0], hang_up[1])

        def finish(pended: bool) -> None:
            self.deactivate_vc(vc)
            vc.closing = vc.told_closed = False
            assert vc.handle is not None
            handle = vc.handle
            if pended:
                self.ndis.NdisMCmCloseCallComplete(NDIS_STATUS_SUCCESS, handle, None)
            if vc.incoming:
                # We created this VC for an incoming call: delete it once the
                # close has completed (the call is gone when this work runs).
                self._defer_or_later(adapter, lambda: self._delete_incoming_vc(vc))

        if self.completion == "pended" and self._defer(adapter, lambda: finish(True)):
            return NDIS_STATUS_PENDING
        finish(False)
        return NDIS_STATUS_SUCCESS

    def _other_ends(self, vc: McmVc) -> list[tuple[McmAdapter, Callable[[], None]]]:
        """What to tell the other end(s) when `vc` closes its call."""
        ndis = self.ndis
        out: list[tuple[McmAdapter, Callable[[], None]]] = []

        def close(other: McmVc) -> tuple[McmAdapter, Callable[[], None]]:
            call = other.calls

            def hang_up() -> None:
                # Only if that end's call is still up when this work runs: its
                # client may have closed it meanwhile (as when its AF is closing,
                # or when both ends hang up at once), and a client that called
                # NdisClCloseCall must not be told of an incoming close even
                # while its pended close keeps the VC active, nor, once the
                # close is done, of this one on its next call.
                if other.active and not other.closing and other.calls == call:
                    self._tell_closed(other)

            return other.af.adapter, hang_up

        peer, vc.peer = vc.peer, None
        if peer is not None and peer.peer is vc:
            peer.peer = None
            out.append(close(peer))
        for party in vc.parties:  # a multipoint root: every leaf still there
            if party.connected and party.leaf is not None:
                party.connected = False
                out.append(close(party.leaf))
        vc.parties.clear()
        leaf_party = vc.party
        if leaf_party is not None and leaf_party.connected:  # a leaf: tell the root
            leaf_party.connected = False
            root = leaf_party.root
            assert root.handle is not None and leaf_party.handle is not None
            ph = leaf_party.handle

            def leave() -> None:
                # Unless the root's client dropped the party (or closed the call) first.
                if not root.active or root.closing or leaf_party not in root.parties:
                    return
                # Drop or close is chosen now, not at the hang-up: other leaves may
                # have left (or joined) since, and the last party goes with the call.
                if any(p.connected for p in root.parties):
                    ndis.NdisMCmDispatchIncomingDropParty(NDIS_STATUS_SUCCESS, ph, None, 0)
                else:
                    self._tell_closed(root)

            out.append((root.af.adapter, leave))
        return out

    def _tell_closed(self, vc: McmVc) -> None:
        """Tell `vc`'s client that its call was closed from the other end, once per call."""
        if vc.told_closed:
            return
        vc.told_closed = True
        assert vc.handle is not None
        self.ndis.NdisMCmDispatchIncomingCloseCall(NDIS_STATUS_SUCCESS, vc.handle, None, 0)

    def _delete_incoming_vc(self, vc: McmVc) -> None:
        assert vc.handle is not None
        if vc.sends_pending:
            # The sends still out on it are the MCM's to complete first: a VC is not
            # deleted with NBLs out on it (the last completion deletes it).
            vc.delete_when_sent = True
            return
        if self.ndis.NdisMCmDeleteVc(vc.handle) == NDIS_STATUS_SUCCESS:
            vc.af.adapter.vcs.pop(vc.handle, None)

    def _send_completed(self, vc: McmVc, handle: VcHandle, head: NET_BUFFER_LIST) -> None:
        vc.sends_pending -= 1
        self.ndis.NdisMCoSendNetBufferListsComplete(handle, head, 0)
        if vc.delete_when_sent and not vc.sends_pending:
            vc.delete_when_sent = False
            self._delete_incoming_vc(vc)

    # --- parties -------------------------------------------------------------------------------

    def ProtocolCmAddParty(
        self,
        CallMgrVcContext: McmVc,
        CallParameters: CO_CALL_PARAMETERS,
        NdisPartyHandle: PartyHandle,
    ) -> NDIS_STATUS:
        root = CallMgrVcContext
        target = self._route(root.af.family.AddressFamily, CallParameters)
        if target is None:
            return NDIS_STATUS_NO_ROUTE_TO_DESTINATION
        party = McmParty(root=root, handle=NdisPartyHandle, origin="add")
        root.parties.append(party)
        if not self._defer(
            root.af.adapter, lambda: self._offer(root, target, CallParameters, party)
        ):
            root.parties.remove(party)
            return NDIS_STATUS_RESOURCES
        return NDIS_STATUS_PENDING

    def ProtocolCmDropParty(
        self, CallMgrPartyContext: McmParty, CloseData: bytes | None, Size: int
    ) -> NDIS_STATUS:
        party = CallMgrPartyContext
        leaf = party.leaf
        if party in party.root.parties:
            party.root.parties.remove(party)
        if party.connected and leaf is not None and leaf.handle is not None:
            party.connected = False
            leaf.party = None  # the leaf's own close must not report back to the root

            def hang_up_leaf() -> None:
                if leaf.active and not leaf.closing:  # unless its client closed the call
                    self._tell_closed(leaf)

            self._defer_or_later(leaf.af.adapter, hang_up_leaf)
        return NDIS_STATUS_SUCCESS

    # --- QoS -----------------------------------------------------------------------------------

    def ProtocolCmModifyCallQoS(
        self, CallMgrVcContext: McmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        vc = CallMgrVcContext
        if CallParameters.MediaParameters is None:
            return NDIS_STATUS_INVALID_DATA
        # The network agrees: reprogram the NIC (activate again) and tell the
        # other end of a point-to-point call about its new QoS.
        if vc.active and self.activate_vc(vc, CallParameters) != NDIS_STATUS_SUCCESS:
            return NDIS_STATUS_FAILURE
        peer = vc.peer
        if peer is not None and peer.handle is not None:
            peer_handle = peer.handle

            def tell_peer() -> None:
                # Only if the other end's call is (still) up when this runs; its VC is
                # activated with the new parameters before its client hears of them
                # (incoming-request-to-change-call-parameters.md).
                up = vc.peer is peer and peer.peer is vc and peer.active
                if up and self.activate_vc(peer, CallParameters) == NDIS_STATUS_SUCCESS:
                    self.ndis.NdisMCmDispatchIncomingCallQoSChange(peer_handle, CallParameters)

            self._defer_or_later(peer.af.adapter, tell_peer)
        if self.completion == "pended":
            vc.qos_pending = CallParameters
            if self._defer(vc.af.adapter, lambda: self._complete_qos(vc)):
                return NDIS_STATUS_PENDING
            vc.qos_pending = None
        return NDIS_STATUS_SUCCESS

    def _complete_qos(self, vc: McmVc) -> None:
        """Complete the QoS change pended on `vc`, unless that is done already (the work
        item queued for it runs after the call's close finished it)."""
        parameters, vc.qos_pending = vc.qos_pending, None
        if parameters is not None and vc.handle is not None:
            self.ndis.NdisMCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, parameters)

    # --- data ------------------------------------------------------------------------------------

    def MiniportCoSendNetBufferLists(
        self, MiniportVcContext: McmVc, NetBufferLists: NET_BUFFER_LIST, SendFlags: int
    ) -> None:
        vc = MiniportVcContext
        sent = list(NetBufferLists.chain())
        if vc.peer is not None:
            receivers = [vc.peer]
        elif vc.parties:
            receivers = [p.leaf for p in vc.parties if p.connected and p.leaf is not None]
        elif vc.party is not None and vc.party.connected:
            receivers = [vc.party.root]
        else:
            receivers = []
        delivered = False
        for receiver in receivers:
            if receiver.handle is None or not receiver.active:
                continue
            # Receive buffers are the NIC's own: copy the data into new NBLs.
            received = [
                NET_BUFFER_LIST.of(*(nb.Data for nb in nbl.buffers()), SourceHandle=receiver.handle)
                for nbl in sent
            ]
            receiver.af.adapter.receives_outstanding += len(received)
            head = NET_BUFFER_LIST.link(received)
            assert head is not None
            self.ndis.NdisMCoIndicateReceiveNetBufferLists(receiver.handle, head, len(received), 0)
            delivered = True
        status = NDIS_STATUS_SUCCESS if delivered else NDIS_STATUS_VC_NOT_ACTIVATED
        for nbl in sent:
            nbl.Status = status
        assert vc.handle is not None
        handle, head = vc.handle, NET_BUFFER_LIST.link(sent)
        assert head is not None
        vc.sends_pending += 1
        if self.completion == "pended" and self._defer(
            vc.af.adapter, lambda: self._send_completed(vc, handle, head)
        ):
            return
        self._send_completed(vc, handle, head)

    def MiniportReturnNetBufferLists(
        self, MiniportAdapterContext: McmAdapter, NetBufferLists: NET_BUFFER_LIST, ReturnFlags: int
    ) -> None:
        adapter = MiniportAdapterContext
        adapter.receives_outstanding -= sum(1 for _ in NetBufferLists.chain())
        if adapter.halt_event is not None:
            self.ndis.NdisSetEvent(adapter.halt_event)

    # --- OID requests ------------------------------------------------------------------------

    def MiniportCoOidRequest(
        self,
        MiniportAdapterContext: McmAdapter,
        MiniportVcContext: McmVc | None,
        NdisRequest: NDIS_OID_REQUEST,
    ) -> NDIS_STATUS:
        adapter = MiniportAdapterContext
        status = self._answer_oid(adapter, NdisRequest)
        if self.completion == "pended" and self._defer(
            adapter,
            lambda: self.ndis.NdisMCoOidRequestComplete(
                adapter.handle,
                None if MiniportVcContext is None else MiniportVcContext.handle,
                NdisRequest,
                status,
            ),
        ):
            return NDIS_STATUS_PENDING
        return status

    @staticmethod
    def _answer_oid(adapter: McmAdapter, request: NDIS_OID_REQUEST) -> NDIS_STATUS:
        if request.Oid != OID_SAMPLE_LINK_SPEED:
            return NDIS_STATUS_NOT_SUPPORTED
        if request.RequestType is NDIS_REQUEST_TYPE.NdisRequestSetInformation:
            if not isinstance(request.InformationBuffer, int):
                return NDIS_STATUS_INVALID_DATA
            adapter.link_speed = request.InformationBuffer
            request.BytesRead = 4
            return NDIS_STATUS_SUCCESS
        request.InformationBuffer = adapter.link_speed
        request.BytesWritten = 4
        return NDIS_STATUS_SUCCESS

    def ProtocolCoOidRequest(
        self,
        ProtocolAfContext: McmAf,
        ProtocolVcContext: McmVc | None,
        ProtocolPartyContext: McmParty | None,
        OidRequest: NDIS_OID_REQUEST,
    ) -> NDIS_STATUS:
        # A client asking the call-manager half: the same vendor OID, per AF's NIC.
        return self._answer_oid(ProtocolAfContext.adapter, OidRequest)

    def ProtocolCoOidRequestComplete(
        self,
        ProtocolAfContext: McmAf,
        ProtocolVcContext: McmVc | None,
        ProtocolPartyContext: McmParty | None,
        OidRequest: NDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    ) -> None:
        """A request the MCM made of a client (NdisMCmOidRequest) completed; nothing waits on it."""
