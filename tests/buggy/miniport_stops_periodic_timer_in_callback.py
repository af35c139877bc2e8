"""Irql_Timer_Function: a miniport that cancels a periodic timer from its own callback.

The miniport polls its NIC with a periodic timer and, after a few ticks,
cancels it from the timer callback (DISPATCH_LEVEL); cancelling a periodic
timer requires PASSIVE_LEVEL. MiniportHaltEx frees the timer.
"""

from __future__ import annotations

from typing import Any

from condis import Ndis
from condis.constants import NDIS_HALT_ACTION
from condis.handles import AdapterHandle, TimerHandle
from condis.samples import SampleCoMiniport
from condis.samples.miniport import MiniportAdapter
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import NDIS_MINIPORT_INIT_PARAMETERS, NDIS_TIMER_CHARACTERISTICS

ROLE = "miniport"
RULE = "Irql_Timer_Function"

POLLS = 3


class PollingMiniport(SampleCoMiniport):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.timer: TimerHandle | None = None
        self.polls = 0

    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        status = super().MiniportInitializeEx(
            NdisMiniportHandle, MiniportDriverContext, MiniportInitParameters
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=self._poll)
        allocated, timer = self.ndis.NdisAllocateTimerObject(NdisMiniportHandle, chars)
        if allocated == NDIS_STATUS_SUCCESS and timer is not None:
            self.timer = timer
            self.ndis.NdisSetTimerObject(timer, -10_000, 1)  # every millisecond
        return NDIS_STATUS_SUCCESS

    def _poll(
        self,
        SystemSpecific1: object,
        FunctionContext: Any,
        SystemSpecific2: object,
        SystemSpecific3: object,
    ) -> None:
        self.polls += 1
        if self.polls == POLLS and self.timer is not None:
            # The mistake: a periodic timer is cancelled at PASSIVE_LEVEL only.
            self.ndis.NdisCancelTimerObject(self.timer)

    def MiniportHaltEx(
        self, MiniportAdapterContext: MiniportAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        if self.timer is not None:
            self.ndis.NdisFreeTimerObject(self.timer)
            self.timer = None
        super().MiniportHaltEx(MiniportAdapterContext, HaltAction)


def factory(ndis: Ndis) -> PollingMiniport:
    return PollingMiniport(ndis)
