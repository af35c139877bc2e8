"""Changing a call's quality of service, from either end.

Theory of operation (guide/client-initiated-request-to-change-call-parameters.md,
incoming-request-to-change-call-parameters.md, quality-of-service.md and the
DDI pages below).

    client   NdisClModifyCallQoS -> ProtocolCmModifyCallQoS
             [PENDING -> Ndis(M)CmModifyCallQoSComplete -> ProtocolClModifyCallQoSComplete]
    remote   Ndis(M)CmDispatchIncomingCallQoSChange -> ProtocolClIncomingCallQoSChange

A call manager that accepts a change activates the VC again with the new
parameters (NdisCmActivateVc / NdisMCmActivateVc) before it reports success.

Choices the pages leave open, and what condis does:

* A client may ask for a change on a connected call, or while it is still
  deciding about an offered incoming call ("before it calls
  NdisClIncomingCallComplete, such a client can negotiate with the call
  manager by calling NdisClModifyCallQoS"). Elsewhere, and while an earlier
  request is still pending, NdisClModifyCallQoS returns NDIS_STATUS_FAILURE.
* A remote QoS change is dispatched only on a connected call
  (CoNdisCallState otherwise).
* On success NDIS records the new parameters as the call's (while the call
  is not yet closed).

A call closed while a change on it is pending. The pages do not forbid
NdisClCloseCall then, and a client told of a remote hang-up
(ProtocolClIncomingCloseCall) has to call it whatever it asked for before,
so NDIS passes the close on to ProtocolCmCloseCall as usual. The pended
change stays the call manager's to finish: ProtocolCmModifyCallQoS "must
call NdisCmModifyCallQoSComplete", ProtocolClModifyCallQoSComplete reports
on "an active VC", and once the close has completed the call manager must
consider the VC unusable (NdisCmCloseCallComplete) and its creator may
delete it at once. So condis asks the call manager to complete the change
before the close: from ProtocolCmCloseCall (NDIS then calls the client's
ProtocolClModifyCallQoSComplete while the call is closing) or later, but
before it returns NDIS_STATUS_SUCCESS from ProtocolCmCloseCall or calls
Ndis(M)CmCloseCallComplete with it. A close that fails leaves the call, and
the change, as they were. A call that ends otherwise (an offered call the
client rejects while its own change is pending) is the call manager's to
finish before it deletes the VC or offers a new call on it (NDIS checks the
latter before it makes anything of the offer, so a strict host stops with
the offer not made). Either deadline missed is
CoNdisCloseCallWithQosPending, reported against the call manager; NDIS then
stops tracking the change (it is no longer in `operations`, and
the watchdog is off), and a completion that still comes while the VC lives
and carries no new call is delivered to the client as it would have been,
once. After the VC is deleted its handle is stale like any other.

A close may also complete inside ProtocolCmModifyCallQoS (the call manager
dispatches a hang-up there and the client closes at once). The change is
still the handler's to answer: a status is returned to the client as usual,
but NDIS_STATUS_PENDING comes after the deadline and is the violation,
reported when the handler returns. NDIS keeps a finished (or forgotten)
change only while its call is the one filed on the VC, to recognise a late
completion: the record goes when a new call is filed there or the VC is
deleted, even inside the handler, so a VC reused after a change holds
nothing of it (an invariant checks this).
"""

from __future__ import annotations

from collections.abc import Iterator

import condis.args as args
from condis.call import refused_by_call
from condis.core import Engine
from condis.crossing import ddi, handler
from condis.handles import VcHandle
from condis.machines import CALL, CallInput
from condis.ops import OPERATIONS, Operation, OpState
from condis.records import Call, DriverBlock, OpenAddressFamily
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_CALL_PARAMETERS

__all__ = ["QosEngine"]

handler(
    "ProtocolCmModifyCallQoS",
    "ProtocolClModifyCallQoSComplete",
    "ProtocolClIncomingCallQoSChange",
)


class QosEngine(Engine):
    """The QoS DDIs, and the check NDIS makes when a call with a pending change ends."""

    __slots__ = ()

    @staticmethod
    def operations_on(af: OpenAddressFamily) -> Iterator[Operation]:
        """The QoS changes pending on the calls of `af`'s VCs."""
        for vc in af.vcs:
            if vc.call is not None and vc.call.qos_op is not None:
                yield vc.call.qos_op

    def _remember_done(self, call: Call, op: Operation) -> None:
        """Keep `op` as `call`'s last finished change while `call` is the one on its VC."""
        if call.vc.call is call:
            call.qos_done = op

    def call_ended(self, call: Call, where: str, driver: DriverBlock) -> None:
        """`call` is over for good (lifecycle.py says when): a change the call manager
        pended on it must have been completed (module docstring)."""
        op = call.qos_op
        if op is None or op.state is not OpState.PENDING:
            return  # none, or its handler is still running and answers when it returns
        vc = call.vc
        assert vc.af is not None
        self.k.violation(
            "CoNdisCloseCallWithQosPending",
            ddi=where,
            driver=vc.af.cm,
            handle=vc.handle,
            detail=f"{op.kind} operation #{op.id} on {vc.handle.label}, pended by "
            f"{op.handler}, is not completed (with {' or '.join(op.completers)}) and the "
            f"call is over",
        )
        # Collect mode goes on: the change is no longer NDIS's to track, but a late
        # completion is still recognised, and delivered once (module docstring).
        call.qos_op = None
        self._remember_done(call, op)
        self.ops.forget(op)

    def _qos_finished(self, call: Call, status: NDIS_STATUS, params: CO_CALL_PARAMETERS) -> None:
        op, call.qos_op = call.qos_op, None
        if op is not None:
            self._remember_done(call, op)
        if status == NDIS_STATUS_SUCCESS and call.live:
            call.parameters = params

    @ddi("NdisClModifyCallQoS")
    def NdisClModifyCallQoS(
        self, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        """A client asks for new call parameters (nf-ndis-ndisclmodifycallqos).

        Returns the call manager's status from ProtocolCmModifyCallQoS
        (SUCCESS, PENDING, RESOURCES, INVALID_DATA, NOT_SUPPORTED, FAILURE),
        or NDIS's FAILURE when the call cannot be changed now.
        """
        name = "NdisClModifyCallQoS"
        params = args.call_parameters(name, CallParameters)
        vc = self.resolve.client_vc(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE
        assert vc.af is not None
        client = vc.af.client.protocol
        with self.k.begin(name, client, handle=vc.handle) as c:
            call = vc.call
            row = CALL.guard(vc.call_state, CallInput.MODIFY_QOS)
            if row.refused or call is None or call.qos_op is not None:
                return c.status(NDIS_STATUS_FAILURE)  # not now, or a change is pending
            reg = vc.af.registration
            op = call.qos_op = self.ops.start(OPERATIONS["modify-qos"], vc.handle, mcm=reg.is_mcm)
            c.op = op.id
            status, _, delivers = self.ops.run(
                op,
                reg.cm,
                reg.cm_handlers.CmModifyCallQoSHandler,
                vc.cm_context,
                params,
                handle=vc.handle,
            )
            if delivers:
                self._qos_finished(call, status, params)
            elif status == NDIS_STATUS_PENDING and not call.live:
                # The handler let the call's close complete before it pended the change.
                self.call_ended(call, "ProtocolCmModifyCallQoS", reg.cm)
            return c.status(status)

    def _modify_qos_complete(
        self, spelling: str, Status: object, NdisVcHandle: object, CallParameters: object
    ) -> None:
        status = args.status(spelling, "Status", Status)
        params = args.call_parameters(spelling, CallParameters)
        vc = self.resolve.vc(spelling, NdisVcHandle)
        if vc is None or vc.af is None:
            return None
        cm = vc.af.cm
        call = vc.call
        op = None if call is None else call.qos_op or call.qos_done
        with self.k.begin(spelling, cm, handle=vc.handle, op=None if op is None else op.id) as c:
            if not self.ops.complete(op, spelling, cm, vc.handle, status) or call is None:
                return c.void()
            self._qos_finished(call, status, params)
            self.k.call_void(
                vc.af.client.protocol,
                "ProtocolClModifyCallQoSComplete",
                vc.client_handlers.ClModifyCallQoSCompleteHandler,
                status,
                vc.client_context,
                params,
                handle=vc.handle,
                op=op.id if op else None,
            )
            return c.void()

    @ddi("NdisCmModifyCallQoSComplete")
    def NdisCmModifyCallQoSComplete(
        self, Status: NDIS_STATUS, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        """A stand-alone call manager completes a pended QoS change; NDIS calls the
        client's ProtocolClModifyCallQoSComplete (nf-ndis-ndiscmmodifycallqoscomplete)."""
        self._modify_qos_complete(
            "NdisCmModifyCallQoSComplete", Status, NdisVcHandle, CallParameters
        )

    @ddi("NdisMCmModifyCallQoSComplete")
    def NdisMCmModifyCallQoSComplete(
        self, Status: NDIS_STATUS, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        """An MCM completes a pended QoS change (macro for NdisCmModifyCallQoSComplete)."""
        self._modify_qos_complete(
            "NdisMCmModifyCallQoSComplete", Status, NdisVcHandle, CallParameters
        )

    def _incoming_qos(self, spelling: str, NdisVcHandle: object, CallParameters: object) -> None:
        params = args.call_parameters(spelling, CallParameters)
        vc = self.resolve.vc_for_cm(spelling, NdisVcHandle)
        if vc is None or vc.af is None:
            return None
        cm = vc.af.cm
        with self.k.begin(spelling, cm, handle=vc.handle) as c:
            if refused_by_call(
                self.k,
                vc,
                CallInput.INCOMING_QOS,
                ddi=spelling,
                driver=cm,
                wanted=", not a connected call",
            ):
                return c.void()
            self.k.call_void(
                vc.af.client.protocol,
                "ProtocolClIncomingCallQoSChange",
                vc.client_handlers.ClIncomingCallQoSChangeHandler,
                vc.client_context,
                params,
                handle=vc.handle,
            )
            return c.void()

    @ddi("NdisCmDispatchIncomingCallQoSChange")
    def NdisCmDispatchIncomingCallQoSChange(
        self, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        """A stand-alone call manager tells the client the remote end changed the QoS;
        NDIS calls ProtocolClIncomingCallQoSChange."""
        self._incoming_qos("NdisCmDispatchIncomingCallQoSChange", NdisVcHandle, CallParameters)

    @ddi("NdisMCmDispatchIncomingCallQoSChange")
    def NdisMCmDispatchIncomingCallQoSChange(
        self, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        """An MCM indicates a remote QoS change (macro for NdisCmDispatchIncomingCallQoSChange)."""
        self._incoming_qos("NdisMCmDispatchIncomingCallQoSChange", NdisVcHandle, CallParameters)
