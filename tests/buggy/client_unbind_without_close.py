"""CoNdisUnbindIncomplete: a client whose unbind completes without closing the adapter.

ProtocolUnbindAdapterEx closes the client's AFs and frees its timer, then
returns NDIS_STATUS_SUCCESS without calling NdisCloseAdapterEx.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import UnbindContextHandle
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS

ROLE = "client"
RULE = "CoNdisUnbindIncomplete"


class NoCloseUnbindClient(SampleClient):
    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        binding = ProtocolBindingContext
        binding.unbinding = True
        for af in list(binding.afs):
            if af.state == "open":
                self.close_af(af)
        self._free_timer(binding)
        self._forget(binding)
        return NDIS_STATUS_SUCCESS  # the mistake: NdisCloseAdapterEx was never called


def factory(ndis: Ndis) -> NoCloseUnbindClient:
    return NoCloseUnbindClient(ndis)
