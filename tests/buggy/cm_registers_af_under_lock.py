"""Irql_CallManager_Function: a call manager that registers its address families
while holding a spin lock.

NdisCmRegisterAddressFamilyEx must be called at PASSIVE_LEVEL; this call
manager finishes each bind (timer allocation, AF registration) under its
binding lock, at DISPATCH_LEVEL.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleCallManager
from condis.samples.callmanager import CmBinding
from condis.status import NDIS_STATUS

ROLE = "callmanager"
RULE = "Irql_CallManager_Function"


class LockedRegistrationCallManager(SampleCallManager):
    def _finish_bind(self, binding: CmBinding) -> NDIS_STATUS:
        lock = self.ndis.NdisAllocateSpinLock()
        # The mistake: NdisCmRegisterAddressFamilyEx runs at DISPATCH_LEVEL.
        self.ndis.NdisAcquireSpinLock(lock)
        status = super()._finish_bind(binding)
        self.ndis.NdisReleaseSpinLock(lock)
        self.ndis.NdisFreeSpinLock(lock)
        return status


def factory(ndis: Ndis) -> LockedRegistrationCallManager:
    return LockedRegistrationCallManager(ndis)
