"""NdisWorkItemLeak: an MCM that allocates a work item per adapter and never frees it.

MiniportInitializeEx keeps a spare NDIS I/O work item for later use;
MiniportHaltEx forgets it, though a work item allocated with the adapter
handle must be freed before MiniportHaltEx returns.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AdapterHandle
from condis.samples import SampleMcm
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import NDIS_MINIPORT_INIT_PARAMETERS

ROLE = "mcm"
RULE = "NdisWorkItemLeak"


class SpareWorkItemMcm(SampleMcm):
    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        status = super().MiniportInitializeEx(
            NdisMiniportHandle, MiniportDriverContext, MiniportInitParameters
        )
        if status == NDIS_STATUS_SUCCESS:
            # The mistake: nothing ever frees this work item.
            self.ndis.NdisAllocateIoWorkItem(NdisMiniportHandle)
        return status


def factory(ndis: Ndis) -> SpareWorkItemMcm:
    return SpareWorkItemMcm(ndis)
