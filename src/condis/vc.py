"""Virtual connections: creation, activation, deactivation and deletion.

Theory of operation (guide/creating-a-vc.md, activating-a-vc.md,
deactivating-a-vc.md, deleting-a-vc.md, differences-in-virtual-connections.md
and the DDI pages below).

A VC is created by the side that needs it: a client before an outgoing call,
a call manager before dispatching an incoming one (NdisCoCreateVc; an MCM uses
NdisMCmCreateVc). NDIS calls, synchronously, the ProtocolCoCreateVc of the
other protocol sharing the AF and, over a stand-alone call manager, the
miniport's MiniportCoCreateVc; an MCM has no MiniportCoCreateVc for NDIS to
call. Deletion mirrors it (NdisCoDeleteVc / NdisMCmDeleteVc), by the creator
only, once the VC is inactive.

A stand-alone call manager activates a VC with NdisCmActivateVc: NDIS calls
MiniportCoActivateVc, which completes at once or with
NdisMCoActivateVcComplete -> ProtocolCmActivateVcComplete. Deactivation is
the same shape (NdisCmDeactivateVc, MiniportCoDeactivateVc,
NdisMCoDeactivateVcComplete, ProtocolCmDeactivateVcComplete). A VC can be
activated again while active, to change its call parameters; if that fails
the VC stays active with its old parameters ("MiniportCoActivateVc must leave
the VC in a usable state").

The VC's life is the table `VC_TRANSITIONS`.

Choices the pages leave open, and what condis does:

* NDIS calls MiniportCoCreateVc before the other protocol's
  ProtocolCoCreateVc, and undoes it with MiniportCoDeleteVc if the protocol
  fails; on deletion it calls ProtocolCoDeleteVc first and MiniportCoDeleteVc
  only if the protocol agreed.
* NdisMCmActivateVc and NdisMCmDeactivateVc are synchronous: the MCM already
  did the miniport's part, NDIS records the new state and returns
  NDIS_STATUS_SUCCESS (NdisMCmDeactivateVc's page: SUCCESS, or
  NOT_ACCEPTED when already inactive), and the MCM makes the "internal call"
  to its own ProtocolCmActivateVcComplete that NdisMCmActivateVc's page asks
  for. (The activating-a-vc guide page says NDIS calls it; the DDI pages
  are followed.)
* A ProtocolCoCreateVc or MiniportCoCreateVc that returns
  NDIS_STATUS_PENDING breaks its page ("cannot return NDIS_STATUS_PENDING"):
  CoNdisHandlerStatus, and the creation fails.
* Deleting a VC that is active or activating returns NDIS_STATUS_NOT_ACCEPTED
  and is reported as CoNdisDeleteActiveVc; a redundant delete while
  deactivation is pending returns NDIS_STATUS_CLOSING (NdisCoDeleteVc's page).
  Only the VC's creator may delete it (CoNdisVcNotCreator).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

from condis.adapters import Adapter
from condis.af import OpenAddressFamily
from condis.bindings import Binding
from condis.drivers import DriverBlock
from condis.errors import CondisInternalError
from condis.handles import AdapterHandle, AfHandle, BindingHandle, VcHandle
from condis.ops import Operation, OpInput
from condis.runtime import Returns, ddi, handler
from condis.sap import SapMixin
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_CLOSING,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_CALL_PARAMETERS

__all__ = ["VC_TRANSITIONS", "Vc", "VcInput", "VcMixin", "VcState"]

handler(
    "ProtocolCoCreateVc",
    "ProtocolCoDeleteVc",
    "MiniportCoCreateVc",
    "MiniportCoDeleteVc",
    "MiniportCoActivateVc",
    "MiniportCoDeactivateVc",
    "ProtocolCmActivateVcComplete",
    "ProtocolCmDeactivateVcComplete",
)


class VcState(Enum):
    CREATED = "created"
    ACTIVATING = "activating"
    REACTIVATING = "reactivating"
    ACTIVE = "active"
    DEACTIVATING = "deactivating"
    DELETED = "deleted"


class VcInput(Enum):
    ACTIVATE = "activation requested"
    ACTIVATE_SUCCEEDED = "activation completed with NDIS_STATUS_SUCCESS"
    ACTIVATE_FAILED = "activation failed"
    DEACTIVATE = "deactivation requested"
    DEACTIVATE_SUCCEEDED = "deactivation completed with NDIS_STATUS_SUCCESS"
    DEACTIVATE_FAILED = "deactivation failed"
    DELETE = "deleted by its creator"


_S, _I = VcState, VcInput
VC_TRANSITIONS: Final[Mapping[tuple[VcState, VcInput], VcState]] = MappingProxyType(
    {
        (_S.CREATED, _I.ACTIVATE): _S.ACTIVATING,
        (_S.ACTIVE, _I.ACTIVATE): _S.REACTIVATING,
        (_S.ACTIVATING, _I.ACTIVATE_SUCCEEDED): _S.ACTIVE,
        (_S.ACTIVATING, _I.ACTIVATE_FAILED): _S.CREATED,
        (_S.REACTIVATING, _I.ACTIVATE_SUCCEEDED): _S.ACTIVE,
        (_S.REACTIVATING, _I.ACTIVATE_FAILED): _S.ACTIVE,
        (_S.ACTIVE, _I.DEACTIVATE): _S.DEACTIVATING,
        (_S.DEACTIVATING, _I.DEACTIVATE_SUCCEEDED): _S.CREATED,
        (_S.DEACTIVATING, _I.DEACTIVATE_FAILED): _S.ACTIVE,
        (_S.CREATED, _I.DELETE): _S.DELETED,
    }
)
del _S, _I


@dataclass(eq=False, slots=True)
class Vc:
    """One virtual connection (NdisVcHandle)."""

    handle: VcHandle
    adapter: Adapter
    #: the driver that created the VC (only it may delete it)
    creator: DriverBlock
    #: the AF the VC belongs to; None for a call manager's own VC
    af: OpenAddressFamily | None
    state: VcState = VcState.CREATED
    client_context: object = None
    cm_context: object = None
    miniport_context: object = None
    call_parameters: CO_CALL_PARAMETERS | None = None
    activate_op: Operation | None = None
    deactivate_op: Operation | None = None

    def move(self, event: VcInput) -> None:
        target = VC_TRANSITIONS.get((self.state, event))
        if target is None:
            raise CondisInternalError(f"VC {self.handle.label}: {event.value} in {self.state}")
        self.state = target

    @property
    def mcm(self) -> bool:
        """True when the VC is on an MCM's adapter (no miniport VC handlers)."""
        return self.adapter.driver.is_mcm

    @property
    def cm(self) -> DriverBlock | None:
        if self.af is not None:
            return self.af.cm
        return self.creator

    @property
    def live(self) -> bool:
        return self.state is not VcState.DELETED


class VcMixin(SapMixin):
    """The VC DDIs."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._vcs: list[Vc] = []

    @property
    def vcs(self) -> tuple[Vc, ...]:
        """Every VC not yet deleted, in creation order."""
        return tuple(self._vcs)

    def _af_children(self, af: OpenAddressFamily) -> list[str]:
        return [*super()._af_children(af), *(v.handle.label for v in self.vcs if v.af is af)]

    def _af_operations(self, af: OpenAddressFamily) -> list[Operation]:
        ops = super()._af_operations(af)
        for v in self._vcs:  # live VCs only: a deleted VC has no operation left
            if v.af is af:
                ops.extend(o for o in (v.activate_op, v.deactivate_op) if o is not None)
        return ops

    def _vc_for(self, ddi_name: str, handle: object) -> Vc | None:
        vc = self._resolve(ddi_name, "NdisVcHandle", handle, VcHandle)
        return vc if isinstance(vc, Vc) else None

    # --- creation --------------------------------------------------------------------------

    def _pending_is_illegal(
        self, name: str, driver: DriverBlock, status: NDIS_STATUS
    ) -> NDIS_STATUS:
        if status == NDIS_STATUS_PENDING:
            self._violation(
                "CoNdisHandlerStatus",
                ddi=name,
                driver=driver,
                detail=f"{name} returned NDIS_STATUS_PENDING; it is synchronous",
            )
            return NDIS_STATUS_FAILURE
        return status

    def _miniport_create(self, vc: Vc) -> NDIS_STATUS:
        """MiniportCoCreateVc on a plain CoNDIS miniport (none on an MCM)."""
        if vc.mcm:
            return NDIS_STATUS_SUCCESS
        miniport = vc.adapter.driver
        assert miniport.miniport_co is not None
        status, context = self._invoke(
            miniport,
            "MiniportCoCreateVc",
            miniport.miniport_co.CoCreateVcHandler,
            vc.adapter.context,
            vc.handle,
            handle=vc.handle,
            returns=Returns.STATUS_OUT,
        )
        assert status is not None
        status = self._pending_is_illegal("MiniportCoCreateVc", miniport, status)
        if status == NDIS_STATUS_SUCCESS:
            vc.miniport_context = context
        return status

    def _miniport_delete(self, vc: Vc) -> None:
        if vc.mcm:
            return
        miniport = vc.adapter.driver
        assert miniport.miniport_co is not None
        status = self._call_status(
            miniport,
            "MiniportCoDeleteVc",
            miniport.miniport_co.CoDeleteVcHandler,
            vc.miniport_context,
            handle=vc.handle,
        )
        if status != NDIS_STATUS_SUCCESS:
            self._violation(
                "CoNdisHandlerStatus",
                ddi="MiniportCoDeleteVc",
                driver=miniport,
                handle=vc.handle,
                detail=f"returned {status}; MiniportCoDeleteVc returns NDIS_STATUS_SUCCESS",
            )

    def _peer_create(self, vc: Vc, peer: DriverBlock, fn: Any, af_context: object) -> NDIS_STATUS:
        """The other protocol's ProtocolCoCreateVc; stores its context on the VC."""
        status, context = self._invoke(
            peer,
            "ProtocolCoCreateVc",
            fn,
            af_context,
            vc.handle,
            handle=vc.handle,
            returns=Returns.STATUS_OUT,
        )
        assert status is not None
        status = self._pending_is_illegal("ProtocolCoCreateVc", peer, status)
        if status == NDIS_STATUS_SUCCESS:
            if peer is vc.creator:
                raise CondisInternalError("a VC's creator is not its own peer")
            if vc.af is not None and peer is vc.af.client.protocol:
                vc.client_context = context
            else:
                vc.cm_context = context
        return status

    def _new_vc(
        self, adapter: Adapter, creator: DriverBlock, af: OpenAddressFamily | None, context: object
    ) -> Vc:
        handle = self.handles.issue(VcHandle, None)
        vc = Vc(handle=handle, adapter=adapter, creator=creator, af=af)
        if af is not None and creator is af.client.protocol:
            vc.client_context = context
        else:
            vc.cm_context = context
        self.handles.attach(handle, vc)
        self._vcs.append(vc)
        return vc

    def _drop_vc(self, vc: Vc) -> None:
        vc.move(VcInput.DELETE)
        self.handles.close(vc.handle)
        self._vcs.remove(vc)
        self._vc_deleted(vc)

    def _vc_deleted(self, vc: Vc) -> None:
        """Hook: a VC is gone (call.py forgets its last call)."""

    @ddi("NdisCoCreateVc")
    def NdisCoCreateVc(
        self,
        NdisBindingHandle: BindingHandle,
        NdisAfHandle: AfHandle | None,
        ProtocolVcContext: object,
    ) -> tuple[NDIS_STATUS, VcHandle | None]:
        """A client (outgoing call) or stand-alone call manager (incoming call) creates a VC.

        (nf-ndis-ndiscocreatevc) Returns (status, NdisVcHandle): SUCCESS;
        RESOURCES when NDIS cannot allocate; FAILURE when NdisAfHandle is not an
        AF of the caller on this binding; or the failure the miniport's
        MiniportCoCreateVc or the other protocol's ProtocolCoCreateVc returned.
        A call manager passes None for NdisAfHandle to create a VC for itself.
        """
        name = "NdisCoCreateVc"
        binding = self._binding_for(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE, None
        af: OpenAddressFamily | None = None
        if NdisAfHandle is not None:
            found = self._resolve(name, "NdisAfHandle", NdisAfHandle, AfHandle)
            if not isinstance(found, OpenAddressFamily):
                return NDIS_STATUS_FAILURE, None
            af = found
        with self._begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            caller = binding.protocol
            as_client = af is not None and af.client is binding and af.client_valid
            as_cm = binding.is_call_manager and (
                af is None or (af.registration.binding is binding and af.cm_valid)
            )
            if not (as_client or as_cm):
                return call.status(NDIS_STATUS_FAILURE), None
            if self._allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            vc = self._new_vc(binding.adapter, caller, af, ProtocolVcContext)
            call.handle = vc.handle
            status = self._miniport_create(vc)
            if status == NDIS_STATUS_SUCCESS and af is not None:
                if as_client:
                    peer, fn, ctx = (
                        af.cm,
                        af.registration.cm_handlers.CmCreateVcHandler,
                        af.cm_context,
                    )
                else:
                    handlers = af.client.client_handlers
                    assert handlers is not None
                    peer, fn, ctx = (
                        af.client.protocol,
                        handlers.ClCreateVcHandler,
                        af.client_context,
                    )
                status = self._peer_create(vc, peer, fn, ctx)
                if status != NDIS_STATUS_SUCCESS:
                    self._miniport_delete(vc)
            if status != NDIS_STATUS_SUCCESS:
                self._drop_vc(vc)
                return call.status(status), None
            return call.status(status, result=vc.handle), vc.handle

    @ddi("NdisMCmCreateVc")
    def NdisMCmCreateVc(
        self,
        MiniportAdapterHandle: AdapterHandle,
        NdisAfHandle: AfHandle,
        MiniportVcContext: object,
    ) -> tuple[NDIS_STATUS, VcHandle | None]:
        """An MCM creates a VC for an incoming call (nf-ndis-ndismcmcreatevc).

        NDIS calls the client's ProtocolCoCreateVc. Returns (status,
        NdisVcHandle): SUCCESS, RESOURCES, FAILURE (NdisAfHandle invalid), or
        the client's failure.
        """
        name = "NdisMCmCreateVc"
        adapter = self._adapter_for(name, MiniportAdapterHandle)
        if adapter is None:
            return NDIS_STATUS_FAILURE, None
        found = self._resolve(name, "NdisAfHandle", NdisAfHandle, AfHandle)
        with self._begin(name, adapter.driver, handle=MiniportAdapterHandle) as call:
            if (
                not isinstance(found, OpenAddressFamily)
                or found.registration.adapter is not adapter
                or not found.registration.is_mcm
                or not found.cm_valid
                or not adapter.driver.is_mcm
            ):
                return call.status(NDIS_STATUS_FAILURE), None
            af = found
            if self._allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            vc = self._new_vc(adapter, adapter.driver, af, MiniportVcContext)
            call.handle = vc.handle
            handlers = af.client.client_handlers
            assert handlers is not None
            status = self._peer_create(
                vc, af.client.protocol, handlers.ClCreateVcHandler, af.client_context
            )
            if status != NDIS_STATUS_SUCCESS:
                self._drop_vc(vc)
                return call.status(status), None
            return call.status(status, result=vc.handle), vc.handle

    # --- deletion ---------------------------------------------------------------------------

    def _delete(self, name: str, handle: object) -> NDIS_STATUS:
        vc = self._vc_for(name, handle)
        if vc is None:
            return NDIS_STATUS_FAILURE
        caller = self.current_driver or vc.creator
        with self._begin(name, caller, handle=vc.handle) as call:
            if caller is not vc.creator:
                self._violation(
                    "CoNdisVcNotCreator",
                    refused=True,
                    ddi=name,
                    driver=caller,
                    handle=vc.handle,
                    detail=f"{vc.handle.label} was created by {vc.creator.name}",
                )
                return call.status(NDIS_STATUS_FAILURE)
            if vc.state is VcState.DEACTIVATING:
                return call.status(NDIS_STATUS_CLOSING)
            if vc.state is not VcState.CREATED or self._vc_busy(vc):
                self._violation(
                    "CoNdisDeleteActiveVc",
                    refused=True,
                    ddi=name,
                    driver=caller,
                    handle=vc.handle,
                    detail=f"{vc.handle.label} is {vc.state.value}"
                    + ("; a call is still on it" if self._vc_busy(vc) else ""),
                )
                return call.status(NDIS_STATUS_NOT_ACCEPTED)
            if vc.af is not None:
                if vc.creator is vc.af.client.protocol:
                    peer = vc.af.cm
                    fn = vc.af.registration.cm_handlers.CmDeleteVcHandler
                    context = vc.cm_context
                else:
                    handlers = vc.af.client.client_handlers
                    assert handlers is not None
                    peer, fn, context = (
                        vc.af.client.protocol,
                        handlers.ClDeleteVcHandler,
                        (vc.client_context),
                    )
                status = self._call_status(
                    peer, "ProtocolCoDeleteVc", fn, context, handle=vc.handle
                )
                status = self._pending_is_illegal("ProtocolCoDeleteVc", peer, status)
                if status != NDIS_STATUS_SUCCESS:
                    return call.status(status)
            self._miniport_delete(vc)
            self._drop_vc(vc)
            return call.status(NDIS_STATUS_SUCCESS)

    def _vc_busy(self, vc: Vc) -> bool:
        """Hook: a call is still set up on the VC (call.py)."""
        return False

    @ddi("NdisCoDeleteVc")
    def NdisCoDeleteVc(self, NdisVcHandle: VcHandle) -> NDIS_STATUS:
        """The creator of a VC deletes it (nf-ndis-ndiscodeletevc).

        SUCCESS (the handle is invalid on return), NOT_ACCEPTED (the VC is
        still active or has a call), CLOSING (deactivation still pending), or
        the other protocol's refusal from ProtocolCoDeleteVc.
        """
        return self._delete("NdisCoDeleteVc", NdisVcHandle)

    @ddi("NdisMCmDeleteVc")
    def NdisMCmDeleteVc(self, NdisVcHandle: VcHandle) -> NDIS_STATUS:
        """An MCM deletes a VC it created (nf-ndis-ndismcmdeletevc): SUCCESS or NOT_ACCEPTED."""
        return self._delete("NdisMCmDeleteVc", NdisVcHandle)

    # --- activation -------------------------------------------------------------------------

    def _vc_for_cm(self, name: str, handle: object, *, mcm: bool) -> Vc | None:
        vc = self._vc_for(name, handle)
        if vc is None:
            return None
        if vc.mcm != mcm:
            expected = "NdisMCm" if vc.mcm else "NdisCm"
            self._violation(
                "CoNdisMcmSpelling",
                refused=True,
                ddi=name,
                driver=self.current_driver or vc.cm,
                handle=vc.handle,
                detail=f"{vc.handle.label} is on {vc.adapter.name}; use the {expected} spelling",
            )
            return None
        return vc

    @staticmethod
    def _params_arg(name: str, value: object) -> CO_CALL_PARAMETERS:
        if value is None:
            raise ValueError(f"{name}: CallParameters is required (got None)")
        if not isinstance(value, CO_CALL_PARAMETERS):
            raise TypeError(
                f"{name}: CallParameters must be a CO_CALL_PARAMETERS, not {type(value).__name__}"
            )
        return value

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
        params = self._params_arg(name, CallParameters)
        vc = self._vc_for_cm(name, NdisVcHandle, mcm=False)
        if vc is None:
            return NDIS_STATUS_FAILURE
        cm = vc.cm
        assert cm is not None
        with self._begin(name, cm, handle=vc.handle) as call:
            if vc.state not in (VcState.CREATED, VcState.ACTIVE):
                return call.status(NDIS_STATUS_FAILURE)
            vc.move(VcInput.ACTIVATE)
            miniport = vc.adapter.driver
            assert miniport.miniport_co is not None
            op = self._new_op(
                "activate-vc", "MiniportCoActivateVc", ("NdisMCoActivateVcComplete",), vc.handle
            )
            vc.activate_op = op
            call.op = op.id
            status = self._call_status(
                miniport,
                "MiniportCoActivateVc",
                miniport.miniport_co.CoActivateVcHandler,
                vc.miniport_context,
                params,
                handle=vc.handle,
                op=op.id,
            )
            pended = status == NDIS_STATUS_PENDING
            row = self._step_op(
                op,
                OpInput.RETURNED_PENDING if pended else OpInput.RETURNED,
                "MiniportCoActivateVc",
                miniport,
                vc.handle,
            )
            if row.delivers:
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
        status = self._status_arg(name, "Status", Status)
        params = self._params_arg(name, CallParameters)
        vc = self._vc_for(name, NdisVcHandle)
        if vc is None:
            return None
        miniport = vc.adapter.driver
        op_id = None if vc.activate_op is None else vc.activate_op.id
        with self._begin(name, miniport, handle=vc.handle, op=op_id) as call:
            if not self._complete_op(vc.activate_op, name, miniport, vc.handle):
                return call.void()
            self._activated(vc, status, params)
            cm = vc.cm
            assert cm is not None
            self._call_void(
                cm,
                "ProtocolCmActivateVcComplete",
                self._cm_handlers_of(vc).CmActivateVcCompleteHandler,
                status,
                vc.cm_context,
                params,
                handle=vc.handle,
                op=op_id,
            )
            return call.void()

    def _cm_handlers_of(self, vc: Vc) -> Any:
        if vc.af is not None:
            return vc.af.registration.cm_handlers
        binding = next(
            (b for b in vc.adapter.bindings if b.protocol is vc.creator and b.is_call_manager),
            None,
        )
        if binding is None or binding.cm_handlers is None:
            raise CondisInternalError(f"{vc.handle.label}: no call manager handlers")
        return binding.cm_handlers

    @ddi("NdisMCmActivateVc")
    def NdisMCmActivateVc(
        self, NdisVcHandle: VcHandle, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        """An MCM tells NDIS a VC is ready for transfers (nf-ndis-ndismcmactivatevc).

        Synchronous (module docstring): SUCCESS, or FAILURE while an
        activation or deactivation is in progress.
        """
        name = "NdisMCmActivateVc"
        params = self._params_arg(name, CallParameters)
        vc = self._vc_for_cm(name, NdisVcHandle, mcm=True)
        if vc is None:
            return NDIS_STATUS_FAILURE
        with self._begin(name, vc.adapter.driver, handle=vc.handle) as call:
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
        vc = self._vc_for_cm(name, NdisVcHandle, mcm=False)
        if vc is None:
            return NDIS_STATUS_FAILURE
        cm = vc.cm
        assert cm is not None
        with self._begin(name, cm, handle=vc.handle) as call:
            if vc.state is not VcState.ACTIVE:
                return call.status(NDIS_STATUS_NOT_ACCEPTED)
            vc.move(VcInput.DEACTIVATE)
            miniport = vc.adapter.driver
            assert miniport.miniport_co is not None
            op = self._new_op(
                "deactivate-vc",
                "MiniportCoDeactivateVc",
                ("NdisMCoDeactivateVcComplete",),
                vc.handle,
            )
            vc.deactivate_op = op
            call.op = op.id
            status = self._call_status(
                miniport,
                "MiniportCoDeactivateVc",
                miniport.miniport_co.CoDeactivateVcHandler,
                vc.miniport_context,
                handle=vc.handle,
                op=op.id,
            )
            pended = status == NDIS_STATUS_PENDING
            row = self._step_op(
                op,
                OpInput.RETURNED_PENDING if pended else OpInput.RETURNED,
                "MiniportCoDeactivateVc",
                miniport,
                vc.handle,
            )
            if row.delivers:
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
        status = self._status_arg(name, "Status", Status)
        vc = self._vc_for(name, NdisVcHandle)
        if vc is None:
            return None
        miniport = vc.adapter.driver
        op_id = None if vc.deactivate_op is None else vc.deactivate_op.id
        with self._begin(name, miniport, handle=vc.handle, op=op_id) as call:
            if not self._complete_op(vc.deactivate_op, name, miniport, vc.handle):
                return call.void()
            self._deactivated(vc, status)
            cm = vc.cm
            assert cm is not None
            self._call_void(
                cm,
                "ProtocolCmDeactivateVcComplete",
                self._cm_handlers_of(vc).CmDeactivateVcCompleteHandler,
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
        vc = self._vc_for_cm(name, NdisVcHandle, mcm=True)
        if vc is None:
            return NDIS_STATUS_FAILURE
        with self._begin(name, vc.adapter.driver, handle=vc.handle) as call:
            if vc.state is not VcState.ACTIVE:
                return call.status(NDIS_STATUS_NOT_ACCEPTED)
            vc.move(VcInput.DEACTIVATE)
            self._deactivated(vc, NDIS_STATUS_SUCCESS)
            return call.status(NDIS_STATUS_SUCCESS)

    # --- teardown --------------------------------------------------------------------------------

    def _report_vcs(self, vcs: list[Vc], where: str, *, refused: bool = False) -> None:
        for vc in vcs:
            self._violation(
                "CoNdisVcOpenOnTeardown",
                ddi=where,
                driver=vc.creator,
                handle=vc.handle,
                detail=f"{vc.handle.label}, created by {vc.creator.name}, is still "
                f"{vc.state.value}",
                refused=refused,
            )

    def _binding_closing(self, binding: Binding, ddi_name: str) -> None:
        self._report_vcs(
            [
                v
                for v in self.vcs
                if v.adapter is binding.adapter
                and (v.creator is binding.protocol or (v.af is not None and v.af.client is binding))
            ],
            ddi_name,
            refused=True,
        )
        super()._binding_closing(binding, ddi_name)

    def _adapter_halted(self, adapter: Adapter) -> None:
        self._report_vcs([v for v in self.vcs if v.adapter is adapter], "MiniportHaltEx")
        super()._adapter_halted(adapter)
