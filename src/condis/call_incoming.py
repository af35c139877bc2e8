"""Incoming calls: a call manager offers a call to the client that registered the SAP.

The call's life, its table and the choices the pages leave open are in
call.py's docstring; this module holds the incoming path
(guide/indicating-an-incoming-call.md):

    offer      Ndis(M)CmDispatchIncomingCall -> ProtocolClIncomingCall
               [PENDING -> NdisClIncomingCallComplete -> ProtocolCmIncomingCallComplete]
    connected  Ndis(M)CmDispatchCallConnected -> ProtocolClCallConnected
"""

from __future__ import annotations

from condis.call import Call, CallInput, CallMixin, CallState
from condis.crossing import ddi
from condis.handles import SapHandle, VcHandle
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_CALL_ACTIVE,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_CALL_PARAMETERS

__all__ = ["CallIncomingMixin"]


class CallIncomingMixin(CallMixin):
    """The incoming-call DDIs and the NDIS side of their handlers."""

    # --- incoming calls ---------------------------------------------------------------------

    def _dispatch_incoming(
        self, spelling: str, NdisSapHandle: object, NdisVcHandle: object, CallParameters: object
    ) -> NDIS_STATUS:
        params = self._params_arg(spelling, CallParameters)
        sap = self._sap_for_cm(spelling, NdisSapHandle)
        vc = self._vc_for_cm(spelling, NdisVcHandle)
        if sap is None or vc is None:
            return NDIS_STATUS_FAILURE
        cm = sap.af.cm
        with self._begin(spelling, cm, handle=vc.handle) as c:
            if vc.af is not sap.af or vc.creator is not cm:
                self._call_state_violation(
                    spelling,
                    cm,
                    vc,
                    f"{vc.handle.label} is not a VC {cm.name} created on the AF of "
                    f"{sap.handle.label}",
                )
                return c.status(NDIS_STATUS_FAILURE)
            existing = vc.call
            if existing is not None and existing.live:
                return c.status(NDIS_STATUS_CALL_ACTIVE)
            self._require_active(spelling, cm, vc, refused=True)
            call = Call(vc=vc, outgoing=False, parameters=params, state=CallState.OFFERED, sap=sap)
            # Filed first: filing ends the VC's last call, which can stop the host
            # (qos.py: a change still pending on a rejected offer), and then no
            # operation may be left for a ProtocolClIncomingCall never called.
            self._file_call(vc, call, spelling, cm)
            op = self._new_op(
                "incoming-call",
                "ProtocolClIncomingCall",
                ("NdisClIncomingCallComplete",),
                vc.handle,
            )
            call.incoming_op = op
            c.op = op.id
            assert vc.af is not None
            status = self._call_status(
                vc.af.client.protocol,
                "ProtocolClIncomingCall",
                self._client_handlers(vc).ClIncomingCallHandler,
                sap.client_context,
                vc.client_context,
                params,
                handle=vc.handle,
                op=op.id,
            )
            delivers = self._returned(
                op, status, "ProtocolClIncomingCall", vc.af.client.protocol, vc.handle
            )
            if delivers:
                self._answered(call, status)
            return c.status(status)

    def _answered(self, call: Call, status: NDIS_STATUS) -> None:
        call.move(CallInput.ACCEPTED if status == NDIS_STATUS_SUCCESS else CallInput.REJECTED)

    @ddi("NdisCmDispatchIncomingCall")
    def NdisCmDispatchIncomingCall(
        self, NdisSapHandle: SapHandle, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        """A stand-alone call manager offers an incoming call to the client of a SAP.

        (nf-ndis-ndiscmdispatchincomingcall) Returns the client's answer from
        ProtocolClIncomingCall: SUCCESS (accepted), PENDING
        (NdisClIncomingCallComplete follows), or the rejection status.
        """
        return self._dispatch_incoming(
            "NdisCmDispatchIncomingCall", NdisSapHandle, NdisVcHandle, CallParameters
        )

    @ddi("NdisMCmDispatchIncomingCall")
    def NdisMCmDispatchIncomingCall(
        self, NdisSapHandle: SapHandle, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        """An MCM offers an incoming call (macro for NdisCmDispatchIncomingCall)."""
        return self._dispatch_incoming(
            "NdisMCmDispatchIncomingCall", NdisSapHandle, NdisVcHandle, CallParameters
        )

    @ddi("NdisClIncomingCallComplete")
    def NdisClIncomingCallComplete(
        self, Status: NDIS_STATUS, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        """The client answers an incoming call it pended; NDIS calls the call manager's
        ProtocolCmIncomingCallComplete (nf-ndis-ndisclincomingcallcomplete)."""
        name = "NdisClIncomingCallComplete"
        status = self._status_arg(name, "Status", Status)
        params = self._params_arg(name, CallParameters)
        vc = self._client_vc(name, NdisVcHandle)
        if vc is None:
            return None
        assert vc.af is not None
        client = vc.af.client.protocol
        call = vc.call
        op = None if call is None else call.incoming_op
        with self._begin(name, client, handle=vc.handle, op=None if op is None else op.id) as c:
            if not self._complete_op(op, name, client, vc.handle, status) or call is None:
                return c.void()
            call.parameters = params
            self._answered(call, status)
            self._call_void(
                vc.af.cm,
                "ProtocolCmIncomingCallComplete",
                vc.af.registration.cm_handlers.CmIncomingCallCompleteHandler,
                status,
                vc.cm_context,
                params,
                handle=vc.handle,
                op=op.id if op else None,
            )
            return c.void()

    def _call_connected(self, spelling: str, NdisVcHandle: object) -> None:
        vc = self._vc_for_cm(spelling, NdisVcHandle)
        if vc is None or vc.af is None:
            return None
        cm = vc.af.cm
        with self._begin(spelling, cm, handle=vc.handle) as c:
            call = vc.call
            if call is None or call.state is not CallState.ACCEPTED:
                state = "no call" if call is None else f"a call {call.state.value}"
                self._call_state_violation(
                    spelling,
                    cm,
                    vc,
                    f"{vc.handle.label} has {state}, not an accepted incoming call",
                )
                return c.void()
            call.move(CallInput.CONNECTED)
            self._call_void(
                vc.af.client.protocol,
                "ProtocolClCallConnected",
                self._client_handlers(vc).ClCallConnectedHandler,
                vc.client_context,
                handle=vc.handle,
            )
            return c.void()

    @ddi("NdisCmDispatchCallConnected")
    def NdisCmDispatchCallConnected(self, NdisVcHandle: VcHandle) -> None:
        """A stand-alone call manager completes the handshake of an accepted incoming call;
        NDIS calls the client's ProtocolClCallConnected."""
        self._call_connected("NdisCmDispatchCallConnected", NdisVcHandle)

    @ddi("NdisMCmDispatchCallConnected")
    def NdisMCmDispatchCallConnected(self, NdisVcHandle: VcHandle) -> None:
        """An MCM completes the handshake of an accepted incoming call (macro)."""
        self._call_connected("NdisMCmDispatchCallConnected", NdisVcHandle)
