"""A client that races its own timer against the call manager's completion.

When NDIS announces an AF it opens it and sets a timer for 1 ms later,
whose callback registers a SAP on the AF, trusting the open to have
completed by then. With an MCM that completes the open from a work item,
nothing orders the two: on Windows the timer's DPC may run before the work
item does, and the SAP is then registered on a handle that is not yet
valid (NdisHandleNotYetValid). In FIFO order the work item runs first, so
`condis verify` never sees it.
"""

from __future__ import annotations

from typing import Any

from condis import CO_SAP, NDIS_STATUS_PENDING, NDIS_TIMER_CHARACTERISTICS, Ndis
from condis.samples import SampleClient
from condis.samples.client_state import ClientSap

SAP = CO_SAP(SapType=1, Sap=b"early")


class EarlyTimerClient(SampleClient):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.timer: Any = None

    def ProtocolCoAfRegisterNotify(self, ProtocolBindingContext: Any, AddressFamily: Any) -> None:
        super().ProtocolCoAfRegisterNotify(ProtocolBindingContext, AddressFamily)
        if self.timer is not None:
            return
        chars = NDIS_TIMER_CHARACTERISTICS(
            TimerFunction=self._tick, FunctionContext=ProtocolBindingContext
        )
        _, self.timer = self.ndis.NdisAllocateTimerObject(self.driver_handle, chars)
        self.ndis.NdisSetTimerObject(self.timer, -10_000)  # 1 ms: "the open is done by then"

    def _tick(self, SystemSpecific1: object, FunctionContext: Any, *rest: object) -> None:
        afs = [af for af in FunctionContext.afs if af.handle is not None]
        if not afs:
            return
        af = afs[0]
        entry = ClientSap(af=af, sap=SAP)
        af.saps.append(entry)
        status, handle = self.ndis.NdisClRegisterSap(af.handle, entry, SAP)  # the bug
        entry.handle = entry.handle or handle
        if status != NDIS_STATUS_PENDING:
            self._sap_registered(entry, handle, status)

    def ProtocolUnbindAdapterEx(self, UnbindContext: Any, ProtocolBindingContext: Any) -> Any:
        if self.timer is not None:
            self.ndis.NdisCancelTimerObject(self.timer)
            self.ndis.NdisFreeTimerObject(self.timer)
            self.timer = None
        return super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)


def factory(ndis: Ndis) -> EarlyTimerClient:
    return EarlyTimerClient(ndis)
