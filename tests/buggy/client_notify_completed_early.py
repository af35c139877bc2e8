"""CoNdisNotifyCloseNotClosed: a client that completes a close notification before
it closes the AF.

ProtocolClNotifyCloseAf pends and finishes from a timer, where it calls
NdisClNotifyCloseAddressFamilyComplete with NDIS_STATUS_SUCCESS first and
only then NdisClCloseAddressFamily: it reports success for an AF that is
still open (the two calls in the wrong order).
"""

from __future__ import annotations

from typing import Any

from condis import Ndis
from condis.handles import TimerHandle
from condis.samples import SampleClient
from condis.samples.client import ClientAf
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS
from condis.structs import NDIS_TIMER_CHARACTERISTICS

ROLE = "client"
RULE = "CoNdisNotifyCloseNotClosed"


class EarlyNotifyClient(SampleClient):
    def ProtocolClNotifyCloseAf(self, ProtocolAfContext: ClientAf) -> NDIS_STATUS:
        assert self.driver_handle is not None
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=self._finish_notify)
        status, timer = self.ndis.NdisAllocateTimerObject(self.driver_handle, chars)
        if status != NDIS_STATUS_SUCCESS or timer is None:
            return super().ProtocolClNotifyCloseAf(ProtocolAfContext)
        self.ndis.NdisSetTimerObject(timer, -1, 0, (ProtocolAfContext, timer))
        return NDIS_STATUS_PENDING

    def _finish_notify(
        self,
        SystemSpecific1: object,
        FunctionContext: Any,
        SystemSpecific2: object,
        SystemSpecific3: object,
    ) -> None:
        af: ClientAf
        timer: TimerHandle
        af, timer = FunctionContext
        self.ndis.NdisFreeTimerObject(timer)
        assert af.handle is not None
        # The mistake: success is reported before the AF is closed.
        self.ndis.NdisClNotifyCloseAddressFamilyComplete(af.handle, NDIS_STATUS_SUCCESS)
        if af.state == "open":
            self.close_af(af)


def factory(ndis: Ndis) -> EarlyNotifyClient:
    return EarlyNotifyClient(ndis)
