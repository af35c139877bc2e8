"""NdisHandleStale: a client that closes an AF again after the close succeeded.

After NdisClCloseAddressFamily returns NDIS_STATUS_SUCCESS, the NdisAfHandle is
no longer valid; this client calls NdisClCloseAddressFamily with it once more.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleClient
from condis.samples.client import ClientAf
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS

ROLE = "client"
RULE = "NdisHandleStale"


class DoubleCloseClient(SampleClient):
    def close_af(self, af: ClientAf) -> NDIS_STATUS:
        status = super().close_af(af)
        if status == NDIS_STATUS_SUCCESS and af.handle is not None:
            # The mistake: the handle died with the successful close.
            self.ndis.NdisClCloseAddressFamily(af.handle)
        return status


def factory(ndis: Ndis) -> DoubleCloseClient:
    return DoubleCloseClient(ndis)
