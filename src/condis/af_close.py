"""Closing an address family: by the client, and at the call manager's request.

The life of an AF, its table and the choices the pages leave open are in
af.py's docstring; this module holds the two closing paths
(guide/closing-an-address-family*.md):

    close    NdisClCloseAddressFamily -> ProtocolCmCloseAf
             [PENDING -> Ndis(M)CmCloseAddressFamilyComplete -> ProtocolClCloseAfComplete]
    notify   Ndis(M)CmNotifyCloseAddressFamily -> ProtocolClNotifyCloseAf
             [PENDING -> NdisClNotifyCloseAddressFamilyComplete -> ProtocolCmNotifyCloseAfComplete]

As for every pendable operation (ops.py), a client may call
NdisClNotifyCloseAddressFamilyComplete inside its ProtocolClNotifyCloseAf
(having closed the AF first) and then return NDIS_STATUS_PENDING: the pages
ask for the completion after a PENDING return without saying it cannot come
first. NDIS calls ProtocolCmNotifyCloseAfComplete at once; the handle is
released when the handler returns, since the client may use it until then.
"""

from __future__ import annotations

import condis.args as args
from condis.af import AfEngine
from condis.core import Core, Engine
from condis.crossing import ddi
from condis.handles import AfHandle
from condis.machines import AF, AfInput, AfState
from condis.ops import OPERATIONS
from condis.records import OpenAddressFamily
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
)

__all__ = ["AfCloseEngine"]


class AfCloseEngine(Engine):
    """The AF close DDIs and the NDIS side of their handlers."""

    __slots__ = ("_afs",)

    def __init__(self, core: Core, afs: AfEngine) -> None:
        super().__init__(core)
        self._afs = afs

    # --- client-initiated close ------------------------------------------------------------

    @ddi("NdisClCloseAddressFamily")
    def NdisClCloseAddressFamily(self, NdisAfHandle: AfHandle) -> NDIS_STATUS:
        """A client closes an AF (nf-ndis-ndisclcloseaddressfamily).

        The handle is invalid for the client from this call on. NDIS calls the
        call manager's ProtocolCmCloseAf and returns its status: SUCCESS,
        PENDING (ProtocolClCloseAfComplete follows), or NOT_ACCEPTED (the AF
        stays open).
        """
        name = "NdisClCloseAddressFamily"
        af = self.resolve.af_for_client(name, NdisAfHandle)
        if af is None:
            return NDIS_STATUS_FAILURE
        with self.k.begin(name, af.client.protocol, handle=af.handle) as call:
            row = AF.guard(af.state, AfInput.CLOSE)
            if row.refused:
                return call.status(row.refusal)
            children = self._afs.children(af)
            if children:
                self.k.violation(
                    "CoNdisAfCloseWithChildren",
                    refused=True,
                    ddi=name,
                    driver=af.client.protocol,
                    handle=af.handle,
                    detail=f"{af.handle.label} still has {', '.join(children)}",
                )
                return call.status(NDIS_STATUS_FAILURE)
            reg = af.registration
            af.client_valid = False
            af.move(AfInput.CLOSE)
            op = af.close_op = self.ops.start(OPERATIONS["close-af"], af.handle, mcm=reg.is_mcm)
            call.op = op.id

            def check(status: NDIS_STATUS) -> NDIS_STATUS:
                if status in (NDIS_STATUS_SUCCESS, NDIS_STATUS_PENDING, NDIS_STATUS_NOT_ACCEPTED):
                    return status
                self.k.violation(
                    "CoNdisHandlerStatus",
                    ddi="ProtocolCmCloseAf",
                    driver=reg.cm,
                    handle=af.handle,
                    detail=f"returned {status}; ProtocolCmCloseAf returns NDIS_STATUS_SUCCESS, "
                    "NDIS_STATUS_PENDING or NDIS_STATUS_NOT_ACCEPTED",
                )
                return NDIS_STATUS_NOT_ACCEPTED

            status, _, delivers = self.ops.run(
                op,
                reg.cm,
                reg.cm_handlers.CmCloseAfHandler,
                af.cm_context,
                handle=af.handle,
                check=check,
            )
            if delivers:
                self._close_finished(af, status)
            return call.status(status)

    def _close_finished(self, af: OpenAddressFamily, status: NDIS_STATUS) -> None:
        if status == NDIS_STATUS_SUCCESS:
            af.move(AfInput.CLOSE_SUCCEEDED)
            af.cm_valid = False
            self._afs.release(af)
        else:
            af.move(AfInput.CLOSE_REFUSED)
            af.client_valid = True

    def _close_af_complete(self, spelling: str, Status: object, NdisAfHandle: object) -> None:
        status = args.status(spelling, "Status", Status)
        af = self.resolve.af_for_cm(spelling, NdisAfHandle)
        if af is None:
            return None
        op_id = None if af.close_op is None else af.close_op.id
        with self.k.begin(spelling, af.cm, handle=af.handle, op=op_id) as call:
            # Report a bad Status before the operation is consumed, so that a strict
            # host is left as it was.
            op = af.close_op
            bad = status not in (NDIS_STATUS_SUCCESS, NDIS_STATUS_PENDING)  # PENDING: below
            if bad and op is not None and op.outstanding:
                self.k.violation(
                    "CoNdisCompleteStatus",
                    refused=True,
                    ddi=spelling,
                    driver=af.cm,
                    handle=af.handle,
                    detail=f"Status is {status}; the call manager sets it to NDIS_STATUS_SUCCESS",
                )
            if not self.ops.complete(af.close_op, spelling, af.cm, af.handle, status):
                return call.void()
            if status != NDIS_STATUS_SUCCESS:
                self._close_finished(af, status)
                return call.void()
            af.move(AfInput.CLOSE_SUCCEEDED)
            handlers = af.client.client_handlers
            assert handlers is not None
            self.k.call_void(
                af.client.protocol,
                "ProtocolClCloseAfComplete",
                handlers.ClCloseAfCompleteHandler,
                status,
                af.client_context,
                handle=af.handle,
                op=op_id,
            )
            af.cm_valid = False
            self._afs.release(af)
            return call.void()

    @ddi("NdisCmCloseAddressFamilyComplete")
    def NdisCmCloseAddressFamilyComplete(self, Status: NDIS_STATUS, NdisAfHandle: AfHandle) -> None:
        """A stand-alone call manager completes a pended close.

        (nf-ndis-ndiscmcloseaddressfamilycomplete) NDIS calls the client's
        ProtocolClCloseAfComplete; the handle is invalid for the call manager
        from this call on.
        """
        self._close_af_complete("NdisCmCloseAddressFamilyComplete", Status, NdisAfHandle)

    @ddi("NdisMCmCloseAddressFamilyComplete")
    def NdisMCmCloseAddressFamilyComplete(
        self, Status: NDIS_STATUS, NdisAfHandle: AfHandle
    ) -> None:
        """An MCM completes a pended close: the ndis.h macro for NdisCmCloseAddressFamilyComplete.

        When it returns, the handle is invalid for the MCM (seed page).
        """
        self._close_af_complete("NdisMCmCloseAddressFamilyComplete", Status, NdisAfHandle)

    # --- call-manager-initiated close ------------------------------------------------------

    def _notify_close(self, spelling: str, NdisAfHandle: object) -> NDIS_STATUS:
        af = self.resolve.af_for_cm(spelling, NdisAfHandle)
        if af is None:
            return NDIS_STATUS_FAILURE
        reg = af.registration
        with self.k.begin(spelling, af.cm, handle=af.handle) as call:
            expected = reg.spelling("NotifyCloseAddressFamily")
            if spelling != expected:
                self.k.violation(
                    "CoNdisMcmSpelling",
                    refused=True,
                    ddi=spelling,
                    driver=af.cm,
                    handle=af.handle,
                    detail=f"{af.cm.name} is "
                    f"{'an MCM' if reg.is_mcm else 'a stand-alone call manager'} "
                    f"and must call {expected}",
                )
            if AF.guard(af.state, AfInput.NOTIFY_CLOSE).refused or af.notifying:
                return call.status(NDIS_STATUS_FAILURE)
            self._afs.deliver_open_first(af)
            if AF.guard(af.state, AfInput.NOTIFY_CLOSE).refused:
                # The client closed the AF as soon as it heard it was open.
                return call.status(NDIS_STATUS_FAILURE)
            op = af.notify_op = self.ops.start(OPERATIONS["notify-close-af"], af.handle)
            call.op = op.id
            handlers = af.client.client_handlers
            assert handlers is not None
            status, _, delivers = self.ops.run(
                op,
                af.client.protocol,
                handlers.ClNotifyCloseAfHandler,
                af.client_context,
                handle=af.handle,
            )
            if delivers:
                self._check_notify_result(af, status, "ProtocolClNotifyCloseAf")
            # Also when the client completed the notification inside the handler and
            # then returned PENDING: its completion could not release the handle while
            # the handler still ran, and that return is the notification's end.
            self._afs.release(af)
            return call.status(status)

    def _check_notify_result(self, af: OpenAddressFamily, status: NDIS_STATUS, where: str) -> None:
        if status == NDIS_STATUS_SUCCESS and af.state is AfState.OPEN:
            self.k.violation(
                "CoNdisNotifyCloseNotClosed",
                ddi=where,
                driver=af.client.protocol,
                handle=af.handle,
                detail=f"reported NDIS_STATUS_SUCCESS but never called NdisClCloseAddressFamily "
                f"for {af.handle.label}",
            )

    @ddi("NdisCmNotifyCloseAddressFamily")
    def NdisCmNotifyCloseAddressFamily(self, NdisAfHandle: AfHandle) -> NDIS_STATUS:
        """A stand-alone call manager asks the client to close an AF.

        (nf-ndis-ndiscmnotifycloseaddressfamily) NDIS calls the client's
        ProtocolClNotifyCloseAf and returns its status; on PENDING, NDIS calls
        ProtocolCmNotifyCloseAfComplete when the client completes. FAILURE when
        the AF is not open or a notification is already outstanding.
        """
        return self._notify_close("NdisCmNotifyCloseAddressFamily", NdisAfHandle)

    @ddi("NdisMCmNotifyCloseAddressFamily")
    def NdisMCmNotifyCloseAddressFamily(self, NdisAfHandle: AfHandle) -> NDIS_STATUS:
        """An MCM asks the client to close an AF (the ndis.h macro for
        NdisCmNotifyCloseAddressFamily); called from MiniportHaltEx."""
        return self._notify_close("NdisMCmNotifyCloseAddressFamily", NdisAfHandle)

    @ddi("NdisClNotifyCloseAddressFamilyComplete")
    def NdisClNotifyCloseAddressFamilyComplete(
        self, NdisAfHandle: AfHandle, Status: NDIS_STATUS
    ) -> None:
        """The client completes a close notification it pended.

        (nf-ndis-ndisclnotifycloseaddressfamilycomplete) NDIS then calls the
        call manager's ProtocolCmNotifyCloseAfComplete with Status.
        """
        name = "NdisClNotifyCloseAddressFamilyComplete"
        status = args.status(name, "Status", Status)
        af = self.resolve.handle(name, "NdisAfHandle", NdisAfHandle, AfHandle)
        if not isinstance(af, OpenAddressFamily):
            return None
        op_id = None if af.notify_op is None else af.notify_op.id
        with self.k.begin(name, af.client.protocol, handle=af.handle, op=op_id) as call:
            if not self.ops.complete(af.notify_op, name, af.client.protocol, af.handle, status):
                return call.void()
            self._check_notify_result(af, status, name)
            self.k.call_void(
                af.cm,
                "ProtocolCmNotifyCloseAfComplete",
                af.registration.cm_handlers.CmNotifyCloseAfCompleteHandler,
                af.cm_context,
                status,
                handle=af.handle,
                op=op_id,
            )
            self._afs.release(af)
            return call.void()
