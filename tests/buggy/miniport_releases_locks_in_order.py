"""Irql_Synch_Function: a miniport that releases two spin locks in the order it took them.

MiniportCoCreateVc takes the adapter lock, then the VC-table lock, and
releases the adapter lock first: NdisReleaseSpinLock restores the IRQL saved
with that lock (PASSIVE_LEVEL), so the second NdisReleaseSpinLock runs below
DISPATCH_LEVEL, where it may not be called.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import VcHandle
from condis.samples import SampleCoMiniport
from condis.samples.miniport import MiniportAdapter, MiniportVc
from condis.status import NDIS_STATUS

ROLE = "miniport"
RULE = "Irql_Synch_Function"


class UnorderedLocksMiniport(SampleCoMiniport):
    def MiniportCoCreateVc(
        self, MiniportAdapterContext: MiniportAdapter, NdisVcHandle: VcHandle
    ) -> tuple[NDIS_STATUS, MiniportVc]:
        adapter_lock = self.ndis.NdisAllocateSpinLock()
        table_lock = self.ndis.NdisAllocateSpinLock()
        self.ndis.NdisAcquireSpinLock(adapter_lock)
        self.ndis.NdisAcquireSpinLock(table_lock)
        result = super().MiniportCoCreateVc(MiniportAdapterContext, NdisVcHandle)
        # The mistake: first in, first out.
        self.ndis.NdisReleaseSpinLock(adapter_lock)
        self.ndis.NdisReleaseSpinLock(table_lock)
        self.ndis.NdisFreeSpinLock(adapter_lock)
        self.ndis.NdisFreeSpinLock(table_lock)
        return result


def factory(ndis: Ndis) -> UnorderedLocksMiniport:
    return UnorderedLocksMiniport(ndis)
