"""Irql_Miniport_Driver_Function: a miniport that sets its adapter attributes while
holding a spin lock.

MiniportInitializeEx holds the driver's lock (DISPATCH_LEVEL) around the
whole initialization, including NdisMSetMiniportAttributes, which must be
called at PASSIVE_LEVEL.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AdapterHandle
from condis.samples import SampleCoMiniport
from condis.status import NDIS_STATUS
from condis.structs import NDIS_MINIPORT_INIT_PARAMETERS

ROLE = "miniport"
RULE = "Irql_Miniport_Driver_Function"


class LockedInitMiniport(SampleCoMiniport):
    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        lock = self.ndis.NdisAllocateSpinLock()
        # The mistake: NdisMSetMiniportAttributes runs at DISPATCH_LEVEL.
        self.ndis.NdisAcquireSpinLock(lock)
        status = super().MiniportInitializeEx(
            NdisMiniportHandle, MiniportDriverContext, MiniportInitParameters
        )
        self.ndis.NdisReleaseSpinLock(lock)
        self.ndis.NdisFreeSpinLock(lock)
        return status


def factory(ndis: Ndis) -> LockedInitMiniport:
    return LockedInitMiniport(ndis)
