"""Incoming calls: a call manager offers a call to the client that registered the SAP.

The call's life, its table and the choices the pages leave open are in
call.py's docstring; this module holds the incoming path
(guide/indicating-an-incoming-call.md):

    offer      Ndis(M)CmDispatchIncomingCall -> ProtocolClIncomingCall
               [PENDING -> NdisClIncomingCallComplete -> ProtocolCmIncomingCallComplete]
    connected  Ndis(M)CmDispatchCallConnected -> ProtocolClCallConnected
"""

from __future__ import annotations

import condis.args as args
from condis.call import CallEngine, refused_by_call, require_active
from condis.core import Core, Engine
from condis.crossing import ddi
from condis.handles import SapHandle, VcHandle
from condis.machines import CALL, CallInput, CallState
from condis.ops import OPERATIONS
from condis.records import Call
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_CALL_PARAMETERS

__all__ = ["IncomingCallEngine"]


class IncomingCallEngine(Engine):
    """The incoming-call DDIs and the NDIS side of their handlers."""

    __slots__ = ("_calls",)

    def __init__(self, core: Core, calls: CallEngine) -> None:
        super().__init__(core)
        self._calls = calls

    # --- incoming calls ---------------------------------------------------------------------

    def _dispatch_incoming(
        self, spelling: str, NdisSapHandle: object, NdisVcHandle: object, CallParameters: object
    ) -> NDIS_STATUS:
        params = args.call_parameters(spelling, CallParameters)
        sap = self.resolve.sap_for_cm(spelling, NdisSapHandle)
        vc = self.resolve.vc_for_cm(spelling, NdisVcHandle)
        if sap is None or vc is None:
            return NDIS_STATUS_FAILURE
        cm = sap.af.cm
        with self.k.begin(spelling, cm, handle=vc.handle) as c:
            if vc.af is not sap.af or vc.creator is not cm:
                self.k.violation(
                    "CoNdisCallState",
                    refused=True,
                    ddi=spelling,
                    driver=cm,
                    handle=vc.handle,
                    detail=f"{vc.handle.label} is not a VC {cm.name} created on the AF of "
                    f"{sap.handle.label}",
                )
                return c.status(NDIS_STATUS_FAILURE)
            row = CALL.guard(vc.call_state, CallInput.REPLACE)
            if row.refused:  # the VC carries a call
                return c.status(
                    self.k.refuse(
                        row, ddi=spelling, driver=cm, handle=vc.handle, detail="a call is active"
                    )
                )
            require_active(self.k, spelling, cm, vc, refused=True)
            call = Call(vc=vc, outgoing=False, parameters=params, state=CallState.OFFERED, sap=sap)
            # Filed first: filing ends the VC's last call, which can stop the host
            # (qos.py: a change still pending on a rejected offer), and then no
            # operation may be left for a ProtocolClIncomingCall never called.
            self._calls.file(vc, call, spelling, cm)
            op = call.incoming_op = self.ops.start(OPERATIONS["incoming-call"], vc.handle)
            c.op = op.id
            assert vc.af is not None
            status, _, delivers = self.ops.run(
                op,
                vc.af.client.protocol,
                vc.client_handlers.ClIncomingCallHandler,
                sap.client_context,
                vc.client_context,
                params,
                handle=vc.handle,
            )
            if delivers:
                self._answered(call, status)
            return c.status(status)

    @staticmethod
    def _answered(call: Call, status: NDIS_STATUS) -> None:
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
        status = args.status(name, "Status", Status)
        params = args.call_parameters(name, CallParameters)
        vc = self.resolve.client_vc(name, NdisVcHandle)
        if vc is None:
            return None
        assert vc.af is not None
        client = vc.af.client.protocol
        call = vc.call
        op = None if call is None else call.incoming_op
        with self.k.begin(name, client, handle=vc.handle, op=None if op is None else op.id) as c:
            if not self.ops.complete(op, name, client, vc.handle, status) or call is None:
                return c.void()
            call.parameters = params
            self._answered(call, status)
            self.k.call_void(
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
        vc = self.resolve.vc_for_cm(spelling, NdisVcHandle)
        if vc is None or vc.af is None:
            return None
        cm = vc.af.cm
        with self.k.begin(spelling, cm, handle=vc.handle) as c:
            call = vc.call
            if refused_by_call(
                self.k,
                vc,
                CallInput.CONNECTED,
                ddi=spelling,
                driver=cm,
                wanted=", not an accepted incoming call",
            ):
                return c.void()
            assert call is not None
            call.move(CallInput.CONNECTED)
            self.k.call_void(
                vc.af.client.protocol,
                "ProtocolClCallConnected",
                vc.client_handlers.ClCallConnectedHandler,
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
