"""NdisDriverUnloadLeak: a client that cancels its per-binding timer but never frees it.

The client allocates a timer object for each binding with its driver handle.
On unbind it cancels the timer and drops it without NdisFreeTimerObject. A
timer allocated with a driver handle belongs to the driver, not to an
adapter, so neither the halt nor the unbind is wrong yet: the leak is the
driver's when it unloads.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import UnbindContextHandle
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.status import NDIS_STATUS

ROLE = "client"
RULE = "NdisDriverUnloadLeak"


class TimerDroppingClient(SampleClient):
    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        binding = ProtocolBindingContext
        if binding.timer is not None:
            self.ndis.NdisCancelTimerObject(binding.timer)
            binding.timer = None  # the mistake: cancelled, never NdisFreeTimerObject
        return super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)


def factory(ndis: Ndis) -> TimerDroppingClient:
    return TimerDroppingClient(ndis)
