"""Irql_Miscellaneous_Function: a miniport that initializes an event while holding a
spin lock.

MiniportInitializeEx sets up its adapter's "idle" event under the driver's
lock; NdisInitializeEvent must be called at PASSIVE_LEVEL.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AdapterHandle
from condis.samples import SampleCoMiniport
from condis.spinlocks import NDIS_EVENT
from condis.status import NDIS_STATUS
from condis.structs import NDIS_MINIPORT_INIT_PARAMETERS

ROLE = "miniport"
RULE = "Irql_Miscellaneous_Function"


class LockedEventMiniport(SampleCoMiniport):
    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        lock = self.ndis.NdisAllocateSpinLock()
        self.ndis.NdisAcquireSpinLock(lock)
        # The mistake: NdisInitializeEvent at DISPATCH_LEVEL.
        self.idle: NDIS_EVENT = self.ndis.NdisInitializeEvent()
        self.ndis.NdisReleaseSpinLock(lock)
        self.ndis.NdisFreeSpinLock(lock)
        return super().MiniportInitializeEx(
            NdisMiniportHandle, MiniportDriverContext, MiniportInitParameters
        )


def factory(ndis: Ndis) -> LockedEventMiniport:
    return LockedEventMiniport(ndis)
