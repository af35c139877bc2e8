"""Closing calls: the client's NdisClCloseCall and the remote end's hang-up.

The call's life, its table and the choices the pages leave open are in
call.py's docstring; this module holds the teardown
(guide/client-initiated-request-to-close-a-call.md,
incoming-request-to-close-a-call.md):

    close     NdisClCloseCall -> ProtocolCmCloseCall
              [PENDING -> Ndis(M)CmCloseCallComplete -> ProtocolClCloseCallComplete]
    remote    Ndis(M)CmDispatchIncomingCloseCall -> ProtocolClIncomingCloseCall,
              in which the client calls NdisClCloseCall

A close that completes with NDIS_STATUS_SUCCESS ends the call
(`CallEvents.call_ended`, lifecycle.CallEnd): what was still pending on it is
checked there (qos.py: a QoS change the call manager pended must be completed
before the close is).
"""

from __future__ import annotations

import condis.args as args
from condis.call import CallEvents, refused_by_call
from condis.core import Core, Engine
from condis.crossing import ddi
from condis.handles import PartyHandle, VcHandle
from condis.machines import CallInput
from condis.ops import OPERATIONS
from condis.party import PartyEngine
from condis.records import Call, Party
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_SUCCESS,
)

__all__ = ["CallCloseEngine"]


class CallCloseEngine(Engine):
    """The call teardown DDIs and the NDIS side of their handlers."""

    __slots__ = ("_events", "_party")

    def __init__(self, core: Core, parties: PartyEngine, events: CallEvents) -> None:
        super().__init__(core)
        self._party = parties
        self._events = events

    @ddi("NdisClCloseCall")
    def NdisClCloseCall(
        self,
        NdisVcHandle: VcHandle,
        NdisPartyHandle: PartyHandle | None = None,
        Buffer: bytes | None = None,
        Size: int = 0,
    ) -> NDIS_STATUS:
        """A client closes a call (nf-ndis-ndisclclosecall).

        NDIS marks the call closing and returns the call manager's status
        from ProtocolCmCloseCall: SUCCESS, PENDING
        (ProtocolClCloseCallComplete follows), INVALID_DATA (close data not
        supported), or another failure (the call stays up).
        """
        name = "NdisClCloseCall"
        args.buffer(name, Buffer, Size)
        vc = self.resolve.client_vc(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE
        assert vc.af is not None
        client = vc.af.client.protocol
        with self.k.begin(name, client, handle=vc.handle) as c:
            call = vc.call
            refused = refused_by_call(
                self.k, vc, CallInput.CLOSE, ddi=name, driver=client, wanted="; nothing to close"
            )
            if refused is not None:
                return c.status(refused.refusal)
            assert call is not None
            party = None
            if NdisPartyHandle is not None:
                found = self.resolve.handle(name, "NdisPartyHandle", NdisPartyHandle, PartyHandle)
                if not isinstance(found, Party) or found.call is not call:
                    return c.status(NDIS_STATUS_FAILURE)
                party = found
            sends = vc.sends_out
            if sends:
                self.k.violation(
                    "CoNdisCloseCallWithSends",
                    ddi=name,
                    driver=client,
                    handle=vc.handle,
                    detail=f"{sends} NBL(s) sent on {vc.handle.label} have not come back "
                    "through ProtocolCoSendNetBufferListsComplete",
                )
            reg = vc.af.registration
            call.move(CallInput.CLOSE)
            op = call.close_op = self.ops.start(OPERATIONS["close-call"], vc.handle, mcm=reg.is_mcm)
            c.op = op.id
            status, _, delivers = self.ops.run(
                op,
                reg.cm,
                reg.cm_handlers.CmCloseCallHandler,
                vc.cm_context,
                None if party is None else party.cm_context,
                Buffer,
                Size,
                handle=vc.handle,
            )
            if delivers:
                self._closed(call, status, "ProtocolCmCloseCall")
            return c.status(status)

    def _closed(self, call: Call, status: NDIS_STATUS, where: str) -> None:
        if status == NDIS_STATUS_SUCCESS:
            assert call.vc.af is not None
            self._events.call_ended(call, where, call.vc.af.cm)
            call.move(CallInput.CLOSE_SUCCEEDED)
            self._party.close_call(call)
        else:
            call.move(CallInput.CLOSE_FAILED)

    def _close_call_complete(
        self, spelling: str, Status: object, NdisVcHandle: object, NdisPartyHandle: object
    ) -> None:
        status = args.status(spelling, "Status", Status)
        vc = self.resolve.vc(spelling, NdisVcHandle)
        if vc is None or vc.af is None:
            return None
        cm = vc.af.cm
        call = vc.call
        op = None if call is None else call.close_op
        with self.k.begin(spelling, cm, handle=vc.handle, op=None if op is None else op.id) as c:
            if not self.ops.complete(op, spelling, cm, vc.handle, status) or call is None:
                return c.void()
            party = call.parties[0] if call.parties else None
            party_context = None if party is None else party.client_context
            self._closed(call, status, spelling)
            self.k.call_void(
                vc.af.client.protocol,
                "ProtocolClCloseCallComplete",
                vc.client_handlers.ClCloseCallCompleteHandler,
                status,
                vc.client_context,
                party_context,
                handle=vc.handle,
                op=op.id if op else None,
            )
            return c.void()

    @ddi("NdisCmCloseCallComplete")
    def NdisCmCloseCallComplete(
        self, Status: NDIS_STATUS, NdisVcHandle: VcHandle, NdisPartyHandle: PartyHandle | None
    ) -> None:
        """A stand-alone call manager completes a pended close; NDIS calls the client's
        ProtocolClCloseCallComplete (nf-ndis-ndiscmclosecallcomplete)."""
        self._close_call_complete("NdisCmCloseCallComplete", Status, NdisVcHandle, NdisPartyHandle)

    @ddi("NdisMCmCloseCallComplete")
    def NdisMCmCloseCallComplete(
        self, Status: NDIS_STATUS, NdisVcHandle: VcHandle, NdisPartyHandle: PartyHandle | None
    ) -> None:
        """An MCM completes a pended close (macro for NdisCmCloseCallComplete)."""
        self._close_call_complete("NdisMCmCloseCallComplete", Status, NdisVcHandle, NdisPartyHandle)

    def _incoming_close(
        self, spelling: str, CloseStatus: object, NdisVcHandle: object, Buffer: object, Size: object
    ) -> None:
        close_status = args.status(spelling, "CloseStatus", CloseStatus)
        args.buffer(spelling, Buffer, Size)
        vc = self.resolve.vc_for_cm(spelling, NdisVcHandle)
        if vc is None or vc.af is None:
            return None
        cm = vc.af.cm
        with self.k.begin(spelling, cm, handle=vc.handle) as c:
            call = vc.call
            if refused_by_call(
                self.k,
                vc,
                CallInput.INCOMING_CLOSE,
                ddi=spelling,
                driver=cm,
                wanted="; no call to close",
            ):
                return c.void()
            assert call is not None
            call.move(CallInput.INCOMING_CLOSE)
            self.k.call_void(
                vc.af.client.protocol,
                "ProtocolClIncomingCloseCall",
                vc.client_handlers.ClIncomingCloseCallHandler,
                close_status,
                vc.client_context,
                Buffer,
                Size,
                handle=vc.handle,
            )
            return c.void()

    @ddi("NdisCmDispatchIncomingCloseCall")
    def NdisCmDispatchIncomingCloseCall(
        self, CloseStatus: NDIS_STATUS, NdisVcHandle: VcHandle, Buffer: bytes | None, Size: int
    ) -> None:
        """A stand-alone call manager tells the client the remote end (or the network)
        closed the call; NDIS calls ProtocolClIncomingCloseCall."""
        self._incoming_close(
            "NdisCmDispatchIncomingCloseCall", CloseStatus, NdisVcHandle, Buffer, Size
        )

    @ddi("NdisMCmDispatchIncomingCloseCall")
    def NdisMCmDispatchIncomingCloseCall(
        self, CloseStatus: NDIS_STATUS, NdisVcHandle: VcHandle, Buffer: bytes | None, Size: int
    ) -> None:
        """An MCM indicates a remote close (macro for NdisCmDispatchIncomingCloseCall)."""
        self._incoming_close(
            "NdisMCmDispatchIncomingCloseCall", CloseStatus, NdisVcHandle, Buffer, Size
        )
