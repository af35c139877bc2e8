"""Activating and deactivating a VC, by a call manager or an MCM.

The VC's life, its table and the choices the pages leave open are in vc.py's
docstring; this module holds the two paths that change whether the miniport
has a VC ready for data (guide/activating-a-vc.md, deactivating-a-vc.md):

    activate     NdisCmActivateVc -> MiniportCoActivateVc
                 [PENDING -> NdisMCoActivateVcComplete -> ProtocolCmActivateVcComplete]
    deactivate   NdisCmDeactivateVc -> MiniportCoDeactivateVc
                 [PENDING -> NdisMCoDeactivateVcComplete -> ProtocolCmDeactivateVcComplete]

An MCM does the miniport's part itself and tells NDIS with the synchronous
NdisMCmActivateVc and NdisMCmDeactivateVc.
"""

from __future__ import annotations

import condis.args as args
from condis.core import Engine
from condis.crossing import ddi
from condis.handles import VcHandle
from condis.machines import VcInput, VcState
from condis.records import Vc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_CALL_PARAMETERS

__all__ = ["VcActivationEngine"]


class VcActivationEngine(Engine):
    """The VC activation DDIs and the NDIS side of their handlers."""

    __slots__ = ()

    # --- activation ---------------------------------------------------------------------

    @ddi("NdisCmActivateVc")
    def NdisCmActivateVc(
        self, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        """A stand-alone call manager activates (or re-parameterizes) a VC.

        (nf-ndis-ndiscmactivatevc) NDIS calls MiniportCoActivateVc and returns
        its status; on PENDING the miniport's NdisMCoActivateVcComplete leads
        to ProtocolCmActivateVcComplete. FAILURE when an activation or
        deactivation is already in progress.
        """
        name = "NdisCmActivateVc"
        params = args.call_parameters(name, CallParameters)
        vc = self.resolve.vc_for_cm(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE
        cm = vc.cm
        assert cm is not None
        with self.k.begin(name, cm, handle=vc.handle) as call:
            if vc.state not in (VcState.CREATED, VcState.ACTIVE):
                return call.status(NDIS_STATUS_FAILURE)
            vc.move(VcInput.ACTIVATE)
            miniport = vc.adapter.driver
            assert miniport.miniport_co is not None
            op = self.ops.new(
                "activate-vc", "MiniportCoActivateVc", ("NdisMCoActivateVcComplete",), vc.handle
            )
            vc.activate_op = op
            call.op = op.id
            status = self.k.call_status(
                miniport,
                "MiniportCoActivateVc",
                miniport.miniport_co.CoActivateVcHandler,
                vc.miniport_context,
                params,
                handle=vc.handle,
                op=op.id,
            )
            delivers = self.ops.returned(op, status, "MiniportCoActivateVc", miniport, vc.handle)
            if delivers:
                self._activated(vc, status, params)
            return call.status(status)

    def _activated(self, vc: Vc, status: NDIS_STATUS, params: CO_CALL_PARAMETERS) -> None:
        if status == NDIS_STATUS_SUCCESS:
            vc.move(VcInput.ACTIVATE_SUCCEEDED)
            vc.call_parameters = params
        else:
            vc.move(VcInput.ACTIVATE_FAILED)

    @ddi("NdisMCoActivateVcComplete")
    def NdisMCoActivateVcComplete(
        self, Status: NDIS_STATUS, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        """The miniport completes a pended MiniportCoActivateVc; NDIS calls the call
        manager's ProtocolCmActivateVcComplete (nf-ndis-ndismcoactivatevccomplete)."""
        name = "NdisMCoActivateVcComplete"
        status = args.status(name, "Status", Status)
        params = args.call_parameters(name, CallParameters)
        vc = self.resolve.vc(name, NdisVcHandle)
        if vc is None:
            return None
        miniport = vc.adapter.driver
        op_id = None if vc.activate_op is None else vc.activate_op.id
        with self.k.begin(name, miniport, handle=vc.handle, op=op_id) as call:
            if not self.ops.complete(vc.activate_op, name, miniport, vc.handle, status):
                return call.void()
            self._activated(vc, status, params)
            cm = vc.cm
            assert cm is not None
            self.k.call_void(
                cm,
                "ProtocolCmActivateVcComplete",
                vc.cm_handlers.CmActivateVcCompleteHandler,
                status,
                vc.cm_context,
                params,
                handle=vc.handle,
                op=op_id,
            )
            return call.void()

    @ddi("NdisMCmActivateVc")
    def NdisMCmActivateVc(
        self, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        """An MCM tells NDIS a VC is ready for transfers (nf-ndis-ndismcmactivatevc).

        Synchronous (module docstring): SUCCESS, or FAILURE while an
        activation or deactivation is in progress.
        """
        name = "NdisMCmActivateVc"
        params = args.call_parameters(name, CallParameters)
        vc = self.resolve.vc_for_cm(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE
        with self.k.begin(name, vc.adapter.driver, handle=vc.handle) as call:
            if vc.state not in (VcState.CREATED, VcState.ACTIVE):
                return call.status(NDIS_STATUS_FAILURE)
            vc.move(VcInput.ACTIVATE)
            self._activated(vc, NDIS_STATUS_SUCCESS, params)
            return call.status(NDIS_STATUS_SUCCESS)

    # --- deactivation --------------------------------------------------------------------------

    @ddi("NdisCmDeactivateVc")
    def NdisCmDeactivateVc(self, NdisVcHandle: VcHandle) -> NDIS_STATUS:
        """A stand-alone call manager deactivates a VC (nf-ndis-ndiscmdeactivatevc).

        NDIS calls MiniportCoDeactivateVc and returns its status; on PENDING,
        NdisMCoDeactivateVcComplete leads to ProtocolCmDeactivateVcComplete.
        NOT_ACCEPTED when the VC is not active.
        """
        name = "NdisCmDeactivateVc"
        vc = self.resolve.vc_for_cm(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE
        cm = vc.cm
        assert cm is not None
        with self.k.begin(name, cm, handle=vc.handle) as call:
            if vc.state is not VcState.ACTIVE:
                return call.status(NDIS_STATUS_NOT_ACCEPTED)
            vc.move(VcInput.DEACTIVATE)
            miniport = vc.adapter.driver
            assert miniport.miniport_co is not None
            op = self.ops.new(
                "deactivate-vc",
                "MiniportCoDeactivateVc",
                ("NdisMCoDeactivateVcComplete",),
                vc.handle,
            )
            vc.deactivate_op = op
            call.op = op.id
            status = self.k.call_status(
                miniport,
                "MiniportCoDeactivateVc",
                miniport.miniport_co.CoDeactivateVcHandler,
                vc.miniport_context,
                handle=vc.handle,
                op=op.id,
            )
            delivers = self.ops.returned(op, status, "MiniportCoDeactivateVc", miniport, vc.handle)
            if delivers:
                self._deactivated(vc, status)
            return call.status(status)

    def _deactivated(self, vc: Vc, status: NDIS_STATUS) -> None:
        if status == NDIS_STATUS_SUCCESS:
            vc.move(VcInput.DEACTIVATE_SUCCEEDED)
            vc.call_parameters = None
        else:
            vc.move(VcInput.DEACTIVATE_FAILED)

    @ddi("NdisMCoDeactivateVcComplete")
    def NdisMCoDeactivateVcComplete(self, Status: NDIS_STATUS, NdisVcHandle: VcHandle) -> None:
        """The miniport completes a pended MiniportCoDeactivateVc; NDIS calls the call
        manager's ProtocolCmDeactivateVcComplete."""
        name = "NdisMCoDeactivateVcComplete"
        status = args.status(name, "Status", Status)
        vc = self.resolve.vc(name, NdisVcHandle)
        if vc is None:
            return None
        miniport = vc.adapter.driver
        op_id = None if vc.deactivate_op is None else vc.deactivate_op.id
        with self.k.begin(name, miniport, handle=vc.handle, op=op_id) as call:
            if not self.ops.complete(vc.deactivate_op, name, miniport, vc.handle, status):
                return call.void()
            self._deactivated(vc, status)
            cm = vc.cm
            assert cm is not None
            self.k.call_void(
                cm,
                "ProtocolCmDeactivateVcComplete",
                vc.cm_handlers.CmDeactivateVcCompleteHandler,
                status,
                vc.cm_context,
                handle=vc.handle,
                op=op_id,
            )
            return call.void()

    @ddi("NdisMCmDeactivateVc")
    def NdisMCmDeactivateVc(self, NdisVcHandle: VcHandle) -> NDIS_STATUS:
        """An MCM marks a VC inactive (nf-ndis-ndismcmdeactivatevc): SUCCESS, or
        NOT_ACCEPTED when it is already inactive."""
        name = "NdisMCmDeactivateVc"
        vc = self.resolve.vc_for_cm(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE
        with self.k.begin(name, vc.adapter.driver, handle=vc.handle) as call:
            if vc.state is not VcState.ACTIVE:
                return call.status(NDIS_STATUS_NOT_ACCEPTED)
            vc.move(VcInput.DEACTIVATE)
            self._deactivated(vc, NDIS_STATUS_SUCCESS)
            return call.status(NDIS_STATUS_SUCCESS)
