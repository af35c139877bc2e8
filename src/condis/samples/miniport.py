"""Sample CoNDIS miniport: a connection-oriented NIC without call management.

A plain CoNDIS miniport registers NDIS_MINIPORT_CO_CHARACTERISTICS in
MiniportSetOptions (the `MiniportDriver` base does it), which is what lets a
stand-alone call manager register an AF over it. It gives NDIS its adapter
context in MiniportInitializeEx and releases everything in MiniportHaltEx.

Its MiniportCoXxx handlers keep per-VC state: MiniportCoCreateVc and
MiniportCoDeleteVc are synchronous, as their pages require;
MiniportCoActivateVc rejects call parameters without media parameters
(NDIS_STATUS_INVALID_DATA) and, with `completion="pended"`, activates and
deactivates from a work item, completing with NdisMCoActivateVcComplete /
NdisMCoDeactivateVcComplete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from condis.constants import NDIS_HALT_ACTION, NDIS_MEDIUM
from condis.data import NET_BUFFER_LIST
from condis.driver import MiniportDriver
from condis.handles import AdapterHandle, VcHandle, WorkItemHandle
from condis.oid import NDIS_OID_REQUEST
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import (
    CO_CALL_PARAMETERS,
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_MINIPORT_INIT_PARAMETERS,
)

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["MiniportAdapter", "MiniportVc", "SampleCoMiniport"]


@dataclass(eq=False)
class MiniportVc:
    """MiniportVcContext: the miniport's state for one VC."""

    adapter: MiniportAdapter
    handle: VcHandle
    active: bool = False
    parameters: CO_CALL_PARAMETERS | None = None


@dataclass(eq=False)
class MiniportAdapter:
    """MiniportAdapterContext of the sample CoNDIS miniport."""

    handle: AdapterHandle
    name: str
    medium: NDIS_MEDIUM
    halted: bool = False
    vcs: dict[VcHandle, MiniportVc] = field(default_factory=dict)
    work_outstanding: int = 0


class SampleCoMiniport(MiniportDriver):
    """A CoNDIS miniport for a stand-alone call manager to drive."""

    def __init__(self, ndis: Ndis, *, completion: Literal["sync", "pended"] = "sync") -> None:
        super().__init__(ndis)
        if completion not in ("sync", "pended"):
            raise ValueError(f"completion must be 'sync' or 'pended', not {completion!r}")
        #: how MiniportCoActivateVc / MiniportCoDeactivateVc answer
        self.completion = completion
        self.adapters: dict[AdapterHandle, MiniportAdapter] = {}

    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        adapter = MiniportAdapter(
            handle=NdisMiniportHandle,
            name=MiniportInitParameters.AdapterName,
            medium=MiniportInitParameters.MediaType,
        )
        status = self.ndis.NdisMSetMiniportAttributes(
            NdisMiniportHandle,
            NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES(MiniportAdapterContext=adapter),
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        status = self.ndis.NdisMSetMiniportAttributes(
            NdisMiniportHandle, NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES(MediaType=adapter.medium)
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        self.adapters[NdisMiniportHandle] = adapter
        return NDIS_STATUS_SUCCESS

    def MiniportHaltEx(
        self, MiniportAdapterContext: MiniportAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        adapter = MiniportAdapterContext
        adapter.halted = True
        del self.adapters[adapter.handle]

    # --- VCs -------------------------------------------------------------------------------

    def MiniportCoCreateVc(
        self, MiniportAdapterContext: MiniportAdapter, NdisVcHandle: VcHandle
    ) -> tuple[NDIS_STATUS, MiniportVc]:
        vc = MiniportVc(adapter=MiniportAdapterContext, handle=NdisVcHandle)
        MiniportAdapterContext.vcs[NdisVcHandle] = vc
        return NDIS_STATUS_SUCCESS, vc

    def MiniportCoDeleteVc(self, MiniportVcContext: MiniportVc) -> NDIS_STATUS:
        del MiniportVcContext.adapter.vcs[MiniportVcContext.handle]
        return NDIS_STATUS_SUCCESS

    def MiniportCoActivateVc(
        self, MiniportVcContext: MiniportVc, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        vc = MiniportVcContext
        # Validate what the NIC must support: this one needs media parameters.
        if CallParameters.MediaParameters is None:
            return NDIS_STATUS_INVALID_DATA

        def complete() -> None:
            vc.active, vc.parameters = True, CallParameters
            self.ndis.NdisMCoActivateVcComplete(NDIS_STATUS_SUCCESS, vc.handle, CallParameters)

        if self.completion == "pended" and self._defer(vc.adapter, complete):
            return NDIS_STATUS_PENDING
        vc.active, vc.parameters = True, CallParameters
        return NDIS_STATUS_SUCCESS

    def MiniportCoDeactivateVc(self, MiniportVcContext: MiniportVc) -> NDIS_STATUS:
        vc = MiniportVcContext

        def complete() -> None:
            vc.active, vc.parameters = False, None
            self.ndis.NdisMCoDeactivateVcComplete(NDIS_STATUS_SUCCESS, vc.handle)

        if self.completion == "pended" and self._defer(vc.adapter, complete):
            return NDIS_STATUS_PENDING
        vc.active, vc.parameters = False, None
        return NDIS_STATUS_SUCCESS

    # --- data: this NIC puts sends on the wire (it indicates no receives) ------------------

    def MiniportCoSendNetBufferLists(
        self, MiniportVcContext: MiniportVc, NetBufferLists: NET_BUFFER_LIST, SendFlags: int
    ) -> None:
        for nbl in NetBufferLists.chain():
            nbl.Status = NDIS_STATUS_SUCCESS
        self.ndis.NdisMCoSendNetBufferListsComplete(MiniportVcContext.handle, NetBufferLists, 0)

    # --- deferring work to PASSIVE_LEVEL ------------------------------------------------------

    def _defer(self, adapter: MiniportAdapter, work: Callable[[], None]) -> bool:
        item = self.ndis.NdisAllocateIoWorkItem(adapter.handle)
        if item is None:
            return False
        adapter.work_outstanding += 1

        def routine(context: object, handle: WorkItemHandle) -> None:
            self.ndis.NdisFreeIoWorkItem(handle)
            adapter.work_outstanding -= 1
            work()

        self.ndis.NdisQueueIoWorkItem(item, routine, None)
        return True

    def MiniportCoOidRequest(
        self,
        MiniportAdapterContext: MiniportAdapter,
        MiniportVcContext: MiniportVc | None,
        NdisRequest: NDIS_OID_REQUEST,
    ) -> NDIS_STATUS:
        """A required entry point; this NIC answers no OIDs (NDIS_STATUS_NOT_SUPPORTED)."""
        return NDIS_STATUS_NOT_SUPPORTED
