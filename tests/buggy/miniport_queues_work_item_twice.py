"""NdisWorkItemQueued: a miniport that queues a work item that is already queued.

MiniportInitializeEx queues a self-test on an NDIS I/O work item (the routine
frees the item), and queues the same item a second time before it has run.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AdapterHandle, WorkItemHandle
from condis.samples import SampleCoMiniport
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import NDIS_MINIPORT_INIT_PARAMETERS

ROLE = "miniport"
RULE = "NdisWorkItemQueued"


class SelfTestMiniport(SampleCoMiniport):
    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        status = super().MiniportInitializeEx(
            NdisMiniportHandle, MiniportDriverContext, MiniportInitParameters
        )
        item = self.ndis.NdisAllocateIoWorkItem(NdisMiniportHandle)
        if status == NDIS_STATUS_SUCCESS and item is not None:
            self.ndis.NdisQueueIoWorkItem(item, self._self_test)
            self.ndis.NdisQueueIoWorkItem(item, self._self_test)  # the mistake: still queued
        return status

    def _self_test(self, WorkItemContext: object, NdisIoWorkItemHandle: WorkItemHandle) -> None:
        self.ndis.NdisFreeIoWorkItem(NdisIoWorkItemHandle)


def factory(ndis: Ndis) -> SelfTestMiniport:
    return SelfTestMiniport(ndis)
