"""The sample client's connections: closing AFs, VCs, calls, parties, QoS, data, OIDs.

The parts of the sample client (client.py) that run once an AF is open; see
client.py's docstring for how it behaves.
"""

from __future__ import annotations

from typing import Any

from condis.data import NDIS_RECEIVE_FLAGS_RESOURCES, NET_BUFFER_LIST
from condis.driver import ProtocolDriver
from condis.handles import PartyHandle, VcHandle
from condis.oid import NDIS_OID_REQUEST, NDIS_REQUEST_TYPE
from condis.samples.client_state import ClientAf, ClientBinding, ClientParty, ClientSap, ClientVc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
)
from condis.status_ind import NDIS_STATUS_INDICATION
from condis.structs import CO_CALL_PARAMETERS

__all__ = ["ClientConnections"]


#: a call not yet over: the close of its AF waits for it (being made, accepted and not yet
#: connected, closing, or connected and waiting to close once its parties are dropped or
#: its sends are back)
_CALL_UNDER_WAY = ("making", "connected", "accepted", "closing")


class ClientConnections(ProtocolDriver):
    """What the sample client does on an open AF."""

    incoming: str
    oid_values: dict[int, object]
    oid_results: list[tuple[NDIS_OID_REQUEST, NDIS_STATUS]]
    indications: list[tuple[ClientVc | None, NDIS_STATUS_INDICATION]]

    def deregister_sap(self, entry: ClientSap) -> None:
        """Deregister a SAP; NdisClDeregisterSap always completes through
        ProtocolClDeregisterSapComplete."""
        assert entry.handle is not None and entry.state == "registered"
        entry.state = "deregistering"
        self.ndis.NdisClDeregisterSap(entry.handle)

    # --- closing an AF ----------------------------------------------------------------------------

    def close_af(self, af: ClientAf) -> NDIS_STATUS:
        """Close one open AF in the order ProtocolClNotifyCloseAf's page gives: drop the
        parties of multipoint calls, close the calls, deregister the SAPs, then
        NdisClCloseAddressFamily (after deleting the VCs this client created).

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
        for vc in list(af.vcs):
            if vc.call == "connected" and not vc.close_refused:
                # parties and calls first (close_call drops the parties); an accepted
                # incoming call is closed once connected (NdisClCloseCall needs that)
                self.close_call(vc)
            elif vc.call == "offered":
                self.answer(vc, NDIS_STATUS_NOT_ACCEPTED)  # an offer still pending is refused
        for vc in list(af.vcs):
            if not vc.incoming and vc.call in (None, "closed", "failed"):
                # the idle VCs we created go at once (the call manager deletes its own);
                # the page leaves VCs out of its order, so they need not wait for the calls
                self.delete_vc(vc)
        if any(vc.call in _CALL_UNDER_WAY for vc in af.vcs):
            return  # each call's completion continues the close
        for entry in list(af.saps):
            if entry.state == "registered":
                self.deregister_sap(entry)  # then the SAPs
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
        if af.state == "closing":
            self._resume_close_later(af.binding)
        return NDIS_STATUS_SUCCESS

    def _resume_close_later(self, binding: ClientBinding) -> None:
        """Continue closing AFs once NDIS is done deleting a VC (a timer, 1 tick away)."""
        if binding.timer is not None:
            self.ndis.NdisSetTimerObject(binding.timer, -1, 0, binding)

    def _resume_timer(
        self,
        SystemSpecific1: object,
        FunctionContext: Any,
        SystemSpecific2: object,
        SystemSpecific3: object,
    ) -> None:
        binding: ClientBinding = FunctionContext
        for af in list(binding.afs):
            self._continue_close(af)

    # --- calls ------------------------------------------------------------------------------------

    def make_call(
        self, af: ClientAf, parameters: CO_CALL_PARAMETERS, *, multipoint: bool = False
    ) -> ClientVc | None:
        """Create a VC and make an outgoing call on it (NdisCoCreateVc, NdisClMakeCall).

        A multipoint call passes a ProtocolPartyContext for its first party.
        """
        vc = self.create_vc(af)
        if vc is None:
            return None
        assert vc.handle is not None
        vc.call, vc.parameters = "making", parameters
        party = ClientParty(vc=vc) if multipoint else None
        if party is not None:
            vc.parties.append(party)
        status, party_handle = self.ndis.NdisClMakeCall(vc.handle, parameters, party)
        if party is not None and party.handle is None:
            party.handle = party_handle
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
        for party in vc.parties:  # a multipoint call's first party
            if status == NDIS_STATUS_SUCCESS:
                party.state = "connected"
                party.handle = vc.party_handle or party.handle
            else:
                party.state = "failed"
        if status != NDIS_STATUS_SUCCESS:
            vc.parties.clear()
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
        self._continue_close(ProtocolVcContext.af)  # an AF close may wait for this call

    def close_call(self, vc: ClientVc) -> NDIS_STATUS:
        """Close the call on `vc` (NdisClCloseCall), once its sends have come back.

        On a multipoint call, every party but the last is dropped first
        (NdisClDropParty); the last goes with the call.
        """
        assert vc.handle is not None
        connected = [p for p in vc.parties if p.state == "connected"]
        if len(connected) > 1 or any(p.state in ("adding", "dropping") for p in vc.parties):
            vc.close_when_dropped = True
            for party in connected[1:]:
                # A drop that completes at once re-enters here and may drop the rest.
                if party.state == "connected":
                    self.drop_party(party)
            return NDIS_STATUS_PENDING
        if vc.sends_outstanding:
            # "Before calling NdisClCloseCall, a protocol must ensure that all its
            # outstanding send packets have been returned" (NdisClCloseCall).
            vc.close_when_sent = True
            return NDIS_STATUS_PENDING
        vc.call = "closing"
        last = next((p.handle for p in vc.parties if p.state == "connected"), None)
        status = self.ndis.NdisClCloseCall(vc.handle, last, None, 0)
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
        vc.close_refused = status != NDIS_STATUS_SUCCESS
        if status == NDIS_STATUS_SUCCESS:
            for party in vc.parties:
                party.state = "dropped"
            vc.parties.clear()
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

    # --- parties of multipoint calls ------------------------------------------------------------

    def add_party(self, vc: ClientVc, parameters: CO_CALL_PARAMETERS) -> ClientParty:
        """Add a party to a connected multipoint call (NdisClAddParty)."""
        assert vc.handle is not None
        party = ClientParty(vc=vc)
        vc.parties.append(party)
        status, handle = self.ndis.NdisClAddParty(vc.handle, party, parameters)
        if party.handle is None:
            party.handle = handle
        if status != NDIS_STATUS_PENDING:
            self._party_added(party, handle, status)
        return party

    def ProtocolClAddPartyComplete(
        self,
        Status: NDIS_STATUS,
        ProtocolPartyContext: ClientParty,
        NdisPartyHandle: PartyHandle | None,
        CallParameters: CO_CALL_PARAMETERS,
    ) -> None:
        self._party_added(ProtocolPartyContext, NdisPartyHandle, Status)

    def _party_added(
        self, party: ClientParty, handle: PartyHandle | None, status: NDIS_STATUS
    ) -> None:
        party.last_status = status
        if status == NDIS_STATUS_SUCCESS:
            party.handle, party.state = handle, "connected"
        else:
            party.state = "failed"
            party.vc.parties.remove(party)
        self._continue_call_close(party.vc)

    def drop_party(self, party: ClientParty) -> NDIS_STATUS:
        """Drop a party that is not the call's last (NdisClDropParty)."""
        assert party.handle is not None
        party.state = "dropping"
        status = self.ndis.NdisClDropParty(party.handle, None, 0)
        if status != NDIS_STATUS_PENDING:
            self._party_dropped(party, status)
        return status

    def ProtocolClDropPartyComplete(
        self, Status: NDIS_STATUS, ProtocolPartyContext: ClientParty
    ) -> None:
        self._party_dropped(ProtocolPartyContext, Status)

    def _party_dropped(self, party: ClientParty, status: NDIS_STATUS) -> None:
        party.last_status = status
        if status == NDIS_STATUS_SUCCESS:
            party.state = "dropped"
            if party in party.vc.parties:
                party.vc.parties.remove(party)
        else:
            party.state = "connected"
        self._continue_call_close(party.vc)

    def ProtocolClIncomingDropParty(
        self,
        DropStatus: NDIS_STATUS,
        ProtocolPartyContext: ClientParty,
        CloseData: bytes | None,
        Size: int,
    ) -> None:
        # A remote party left: acknowledge by dropping it (it is not the last one:
        # NDIS tells us of the last with ProtocolClIncomingCloseCall instead).
        self.drop_party(ProtocolPartyContext)

    def _continue_call_close(self, vc: ClientVc) -> None:
        if vc.close_when_dropped and not any(p.state in ("adding", "dropping") for p in vc.parties):
            vc.close_when_dropped = False
            self.close_call(vc)

    # --- QoS -------------------------------------------------------------------------------

    def modify_qos(self, vc: ClientVc, parameters: CO_CALL_PARAMETERS) -> NDIS_STATUS:
        """Ask for new call parameters (NdisClModifyCallQoS)."""
        assert vc.handle is not None
        status = self.ndis.NdisClModifyCallQoS(vc.handle, parameters)
        if status != NDIS_STATUS_PENDING:
            self._qos_done(vc, status, parameters)
        return status

    def ProtocolClModifyCallQoSComplete(
        self, Status: NDIS_STATUS, ProtocolVcContext: ClientVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        self._qos_done(ProtocolVcContext, Status, CallParameters)

    def _qos_done(self, vc: ClientVc, status: NDIS_STATUS, parameters: CO_CALL_PARAMETERS) -> None:
        vc.last_status = status
        if status == NDIS_STATUS_SUCCESS:
            vc.parameters = parameters

    def ProtocolClIncomingCallQoSChange(
        self, ProtocolVcContext: ClientVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        ProtocolVcContext.qos_changes.append(CallParameters)
        ProtocolVcContext.parameters = CallParameters

    # --- OID requests and status ---------------------------------------------------------------

    def ProtocolCoOidRequest(
        self,
        ProtocolAfContext: ClientAf,
        ProtocolVcContext: ClientVc | None,
        ProtocolPartyContext: ClientParty | None,
        OidRequest: NDIS_OID_REQUEST,
    ) -> NDIS_STATUS:
        # A call manager asks the client: answer from `oid_values`.
        if OidRequest.Oid not in self.oid_values:
            return NDIS_STATUS_NOT_SUPPORTED
        if OidRequest.RequestType is NDIS_REQUEST_TYPE.NdisRequestSetInformation:
            self.oid_values[OidRequest.Oid] = OidRequest.InformationBuffer
        else:
            OidRequest.InformationBuffer = self.oid_values[OidRequest.Oid]
        return NDIS_STATUS_SUCCESS

    def ProtocolCoOidRequestComplete(
        self,
        ProtocolAfContext: ClientAf | None,
        ProtocolVcContext: ClientVc | None,
        ProtocolPartyContext: ClientParty | None,
        OidRequest: NDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    ) -> None:
        self.oid_results.append((OidRequest, Status))

    def ProtocolCoStatusEx(
        self,
        ProtocolBindingContext: ClientBinding,
        ProtocolVcContext: ClientVc | None,
        StatusIndication: NDIS_STATUS_INDICATION,
    ) -> None:
        self.indications.append((ProtocolVcContext, StatusIndication))

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
