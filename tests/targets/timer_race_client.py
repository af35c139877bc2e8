"""A client whose bug shows in one order of three timers set for the same moment.

When its first AF opens it sets timers A, B and C, all due 1 ms later. If
they fire in the order C, B, A, its last callback closes the AF behind the
back of the client's own bookkeeping, which closes it again at teardown: a
stale handle (NdisHandleStale). In the other five orders nothing happens;
FIFO fires them A, B, C. It frees its timers when it unbinds, so a clean
order leaves nothing behind.
"""

from __future__ import annotations

from typing import Any

from condis import NDIS_TIMER_CHARACTERISTICS, Ndis
from condis.samples import SampleClient


class TimerRaceClient(SampleClient):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.timers: list[Any] = []
        self.fired: list[str] = []

    def ProtocolCoAfRegisterNotify(self, ProtocolBindingContext: Any, AddressFamily: Any) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        if self.timers or not self.afs("open"):
            return
        for name in "ABC":
            chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=self._tick, FunctionContext=name)
            _, timer = self.ndis.NdisAllocateTimerObject(self.driver_handle, chars)
            self.timers.append(timer)
        for timer in self.timers:
            self.ndis.NdisSetTimerObject(timer, -10_000)  # 1 ms from now, all three

    def _tick(self, SystemSpecific1: object, FunctionContext: Any, *rest: object) -> None:
        self.fired.append(FunctionContext)
        if self.fired == ["C", "B", "A"] and self.afs("open"):
            af = self.afs("open")[0]
            self.ndis.NdisClCloseAddressFamily(af.handle)  # the bug: its records still say open

    def ProtocolUnbindAdapterEx(self, UnbindContext: Any, ProtocolBindingContext: Any) -> Any:
        for timer in self.timers:
            self.ndis.NdisCancelTimerObject(timer)
            self.ndis.NdisFreeTimerObject(timer)
        self.timers.clear()
        return super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)


def factory(ndis: Ndis) -> TimerRaceClient:
    return TimerRaceClient(ndis)
