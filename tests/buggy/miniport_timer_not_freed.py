"""NdisTimerLeak: a miniport that cancels its adapter timer at halt but never frees it.

MiniportInitializeEx allocates a timer object with the adapter handle (a
link-check timer); MiniportHaltEx cancels it and forgets
NdisFreeTimerObject, though every timer allocated with the adapter handle
must be freed before MiniportHaltEx returns.
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
RULE = "NdisTimerLeak"


class TimerLeakMiniport(SampleCoMiniport):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.timer: TimerHandle | None = None

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
            chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=self._link_check)
            _, self.timer = self.ndis.NdisAllocateTimerObject(NdisMiniportHandle, chars)
        return status

    def _link_check(
        self,
        SystemSpecific1: object,
        FunctionContext: Any,
        SystemSpecific2: object,
        SystemSpecific3: object,
    ) -> None:
        return None

    def MiniportHaltEx(
        self, MiniportAdapterContext: MiniportAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        if self.timer is not None:
            self.ndis.NdisCancelTimerObject(self.timer)  # the mistake: no NdisFreeTimerObject
        super().MiniportHaltEx(MiniportAdapterContext, HaltAction)


def factory(ndis: Ndis) -> TimerLeakMiniport:
    return TimerLeakMiniport(ndis)
