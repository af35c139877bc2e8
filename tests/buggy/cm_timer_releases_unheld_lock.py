"""SpinlockRelease: a call manager whose timer callback releases a lock it never took.

The deferred-work timer of each binding ends with NdisReleaseSpinLock on the
binding lock, though the callback never acquired it.
"""

from __future__ import annotations

from typing import Any

from condis import Ndis
from condis.samples import SampleCallManager
from condis.samples.callmanager import CmBinding
from condis.spinlocks import NDIS_SPIN_LOCK
from condis.status import NDIS_STATUS

ROLE = "callmanager"
RULE = "SpinlockRelease"


class UnbalancedTimerCallManager(SampleCallManager):
    def _finish_bind(self, binding: CmBinding) -> NDIS_STATUS:
        self.lock: NDIS_SPIN_LOCK = self.ndis.NdisAllocateSpinLock()
        return super()._finish_bind(binding)

    def _timer_fired(
        self,
        SystemSpecific1: object,
        FunctionContext: Any,
        SystemSpecific2: object,
        SystemSpecific3: object,
    ) -> None:
        super()._timer_fired(SystemSpecific1, FunctionContext, SystemSpecific2, SystemSpecific3)
        self.ndis.NdisReleaseSpinLock(self.lock)  # the mistake: not held


def factory(ndis: Ndis) -> UnbalancedTimerCallManager:
    return UnbalancedTimerCallManager(ndis)
