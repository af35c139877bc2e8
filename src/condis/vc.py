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

A stand-alone call manager activates a VC (vc_activation.py) with
NdisCmActivateVc: NDIS calls MiniportCoActivateVc, which completes at once or with
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

from collections.abc import Iterator, Mapping
from typing import Final, Protocol

from condis.core import Core, Engine
from condis.crossing import Returns, ddi, handler
from condis.errors import CondisInternalError
from condis.handles import AdapterHandle, AfHandle, BindingHandle, VcHandle
from condis.machines import VC, AfState, VcInput, VcState
from condis.ops import Operation
from condis.records import Adapter, Binding, DriverBlock, OpenAddressFamily, Vc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import Handler
from condis.verifier.leaks import Leak

__all__ = ["VC_TRANSITIONS", "Vc", "VcEngine", "VcEvents", "VcInput", "VcState"]

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


#: The legal rows of the VC machine, as (state, input) -> next state.
VC_TRANSITIONS: Final[Mapping[tuple[VcState, VcInput], VcState]] = VC.targets()


class VcEvents(Protocol):
    """What the rest of the host hears of a VC's deletion (lifecycle.py)."""

    def vc_deleting(self, vc: Vc, ddi: str, driver: DriverBlock) -> None:
        """`driver` is deleting `vc` with `ddi`, which can no longer fail."""


class VcEngine(Engine):
    """VC creation and deletion, and the table of live VCs."""

    __slots__ = ("_events", "_vcs")

    def __init__(self, core: Core, events: VcEvents) -> None:
        super().__init__(core)
        self._events = events
        self._vcs: dict[Vc, None] = {}

    def leaks(self) -> Iterator[Leak]:
        for vc in self._vcs:
            yield Leak(
                "VC", vc.handle.label, vc.creator.name, f"not deleted ({vc.state.value})"
            ).at(vc.handle.born)

    def invariants(self) -> Iterator[str]:
        for vc in self._vcs:
            if vc.state is VcState.DELETED or not self.k.handles.is_live(vc.handle):
                yield f"{vc.handle.label} is listed as live but is deleted"
            if vc.af is not None and not self.k.handles.is_live(vc.af.handle):
                yield f"{vc.handle.label} lives on {vc.af.handle.label}, which is closed"

    @property
    def vcs(self) -> tuple[Vc, ...]:
        """Every VC not yet deleted, in creation order."""
        return tuple(self._vcs)

    @staticmethod
    def operations_on(af: OpenAddressFamily) -> Iterator[Operation]:
        """The activations and deactivations of `af`'s VCs (a deleted VC has none left)."""
        for vc in af.vcs:
            yield from (o for o in (vc.activate_op, vc.deactivate_op) if o is not None)

    # --- creation --------------------------------------------------------------------------

    def _pending_is_illegal(
        self, name: str, driver: DriverBlock, status: NDIS_STATUS
    ) -> NDIS_STATUS:
        if status == NDIS_STATUS_PENDING:
            self.k.violation(
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
        status, context = self.k.invoke(
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
        status = self.k.call_status(
            miniport,
            "MiniportCoDeleteVc",
            miniport.miniport_co.CoDeleteVcHandler,
            vc.miniport_context,
            handle=vc.handle,
        )
        if status != NDIS_STATUS_SUCCESS:
            self.k.violation(
                "CoNdisHandlerStatus",
                ddi="MiniportCoDeleteVc",
                driver=miniport,
                handle=vc.handle,
                detail=f"returned {status}; MiniportCoDeleteVc returns NDIS_STATUS_SUCCESS",
            )

    def _peer_create(
        self, vc: Vc, peer: DriverBlock, fn: Handler | None, af_context: object
    ) -> NDIS_STATUS:
        """The other protocol's ProtocolCoCreateVc; stores its context on the VC."""
        status, context = self.k.invoke(
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
        handle = self.k.handles.issue(VcHandle, None)
        vc = Vc(handle=handle, adapter=adapter, creator=creator, af=af)
        if af is not None and creator is af.client.protocol:
            vc.client_context = context
        else:
            vc.cm_context = context
        self.k.handles.attach(handle, vc)
        self._vcs[vc] = None
        adapter.vcs[vc] = None
        if af is not None:
            af.vcs[vc] = None
        return vc

    def _drop_vc(self, vc: Vc) -> None:
        vc.move(VcInput.DELETE)
        self.k.handles.close(vc.handle)
        del self._vcs[vc]
        vc.adapter.vcs.pop(vc, None)
        if vc.af is not None:
            vc.af.vcs.pop(vc, None)
        vc.call = None

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
        binding = self.resolve.binding(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE, None
        af: OpenAddressFamily | None = None
        if NdisAfHandle is not None:
            found = self.resolve.handle(name, "NdisAfHandle", NdisAfHandle, AfHandle)
            if not isinstance(found, OpenAddressFamily):
                return NDIS_STATUS_FAILURE, None
            af = found
        with self.k.begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            caller = binding.protocol
            as_client = af is not None and af.client is binding and af.client_valid
            as_cm = binding.is_call_manager and (
                af is None or (af.registration.binding is binding and af.cm_valid)
            )
            if not (as_client or as_cm):
                return call.status(NDIS_STATUS_FAILURE), None
            if self.k.allocation_fails(name):
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
        the client's failure. The page leaves open what "invalid" covers; condis
        counts an AF that is not open (its open not yet complete, or a close
        under way), since the VC would be the client's on an AF it is leaving.
        """
        name = "NdisMCmCreateVc"
        adapter = self.resolve.adapter(name, MiniportAdapterHandle)
        if adapter is None:
            return NDIS_STATUS_FAILURE, None
        found = self.resolve.handle(name, "NdisAfHandle", NdisAfHandle, AfHandle)
        with self.k.begin(name, adapter.driver, handle=MiniportAdapterHandle) as call:
            if (
                not isinstance(found, OpenAddressFamily)
                or found.registration.adapter is not adapter
                or not found.registration.is_mcm
                or not found.cm_valid
                or found.state is not AfState.OPEN  # closing: invalid for the client's VCs
                or not adapter.driver.is_mcm
            ):
                return call.status(NDIS_STATUS_FAILURE), None
            af = found
            if self.k.allocation_fails(name):
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
        vc = self.resolve.vc(name, handle)
        if vc is None:
            return NDIS_STATUS_FAILURE
        caller = self.k.current_driver or vc.creator
        with self.k.begin(name, caller, handle=vc.handle) as call:
            if caller is not vc.creator:
                self.k.violation(
                    "CoNdisVcNotCreator",
                    refused=True,
                    ddi=name,
                    driver=caller,
                    handle=vc.handle,
                    detail=f"{vc.handle.label} was created by {vc.creator.name}",
                )
                return call.status(NDIS_STATUS_FAILURE)
            row = VC.guard(vc.state, VcInput.DELETE)
            busy = self._vc_busy(vc)
            out = vc.sends_out + vc.receives_out
            detail = f"{vc.handle.label} is {vc.state.value}" + (
                f"; {out} NBL(s) are still out on it"
                if out
                else "; a call is still on it"
                if busy
                else ""
            )
            if row.refused:
                return call.status(
                    self.k.refuse(row, ddi=name, driver=caller, handle=vc.handle, detail=detail)
                )
            if busy:
                self.k.violation(
                    "CoNdisDeleteActiveVc",
                    refused=True,
                    ddi=name,
                    driver=caller,
                    handle=vc.handle,
                    detail=detail,
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
                status = self.k.call_status(
                    peer, "ProtocolCoDeleteVc", fn, context, handle=vc.handle
                )
                status = self._pending_is_illegal("ProtocolCoDeleteVc", peer, status)
                if status != NDIS_STATUS_SUCCESS:
                    return call.status(status)
            self._events.vc_deleting(vc, name, caller)
            self._miniport_delete(vc)
            self._drop_vc(vc)
            return call.status(NDIS_STATUS_SUCCESS)

    @staticmethod
    def _vc_busy(vc: Vc) -> bool:
        """A call is still set up on the VC, or NBLs are still out on it."""
        return (vc.call is not None and vc.call.live) or bool(vc.sends_out + vc.receives_out)

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

    # --- teardown --------------------------------------------------------------------------------

    def report_open(self, vcs: list[Vc], where: str, *, refused: bool = False) -> None:
        """Each of `vcs` should have been deleted by now (CoNdisVcOpenOnTeardown)."""
        for vc in vcs:
            self.k.violation(
                "CoNdisVcOpenOnTeardown",
                ddi=where,
                driver=vc.creator,
                handle=vc.handle,
                detail=f"{vc.handle.label}, created by {vc.creator.name}, is still "
                f"{vc.state.value}",
                refused=refused,
            )

    def binding_closing(self, binding: Binding, ddi_name: str) -> None:
        """NdisCloseAdapterEx: the VCs the binding created, or that are on AFs it opened,
        must be gone (checked before the close changes anything)."""
        self.report_open(
            [
                v
                for v in binding.adapter.vcs
                if (v.creator is binding.protocol or (v.af is not None and v.af.client is binding))
            ],
            ddi_name,
            refused=True,
        )

    def adapter_halted(self, adapter: Adapter) -> None:
        """MiniportHaltEx returned: every VC on the adapter should be gone."""
        self.report_open(list(adapter.vcs), "MiniportHaltEx")
