"""NdisWatchdog: a client that pends its bind and never completes it.

ProtocolBindAdapterEx opens the adapter and returns NDIS_STATUS_PENDING, as
if NdisOpenAdapterEx had pended, but nothing ever calls
NdisCompleteBindAdapterEx: NDIS's watchdog expires.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import BindContextHandle
from condis.samples import SampleClient
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING
from condis.structs import NDIS_BIND_PARAMETERS

ROLE = "client"
RULE = "NdisWatchdog"


class StuckBindClient(SampleClient):
    def ProtocolBindAdapterEx(
        self,
        ProtocolDriverContext: object,
        BindContext: BindContextHandle,
        BindParameters: NDIS_BIND_PARAMETERS,
    ) -> NDIS_STATUS:
        super().ProtocolBindAdapterEx(ProtocolDriverContext, BindContext, BindParameters)
        return NDIS_STATUS_PENDING  # the mistake: no NdisCompleteBindAdapterEx will follow


def factory(ndis: Ndis) -> StuckBindClient:
    return StuckBindClient(ndis)
