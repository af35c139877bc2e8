"""CoNdisPendingOnTeardown: a client that pends its unbind and never completes it.

ProtocolUnbindAdapterEx closes the client's AFs and its binding as it
should, but returns NDIS_STATUS_PENDING even when NdisCloseAdapterEx
completed at once, and its ProtocolCloseAdapterCompleteEx forgets
NdisCompleteUnbindAdapterEx: NDIS waits for the unbind for ever. Run with
the watchdog off, so the hang is reported at teardown rather than as a
timed-out completion (NdisWatchdog).
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import UnbindContextHandle
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING

ROLE = "client"
RULE = "CoNdisPendingOnTeardown"
WATCHDOG_MS = None


class ForgetfulClient(SampleClient):
    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)
        return NDIS_STATUS_PENDING  # the mistake: nothing will complete the unbind

    def ProtocolCloseAdapterCompleteEx(self, ProtocolBindingContext: ClientBinding) -> None:
        self._forget(ProtocolBindingContext)  # ...nor here: no NdisCompleteUnbindAdapterEx


def factory(ndis: Ndis) -> ForgetfulClient:
    return ForgetfulClient(ndis)
