"""NdisBindIncomplete: a client that fails a bind after opening the adapter.

The client wants Ethernet adapters only, but checks the medium after
NdisOpenAdapterEx succeeded and then fails ProtocolBindAdapterEx with
NDIS_STATUS_UNSUPPORTED_MEDIA without closing the adapter: a failed bind must
leave the adapter closed.
"""

from __future__ import annotations

from condis import Ndis
from condis.constants import NDIS_MEDIUM
from condis.handles import BindContextHandle
from condis.samples import SampleClient
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS, NDIS_STATUS_UNSUPPORTED_MEDIA
from condis.structs import NDIS_BIND_PARAMETERS

ROLE = "client"
RULE = "NdisBindIncomplete"


class PickyBindClient(SampleClient):
    def ProtocolBindAdapterEx(
        self,
        ProtocolDriverContext: object,
        BindContext: BindContextHandle,
        BindParameters: NDIS_BIND_PARAMETERS,
    ) -> NDIS_STATUS:
        status = super().ProtocolBindAdapterEx(ProtocolDriverContext, BindContext, BindParameters)
        if (
            status == NDIS_STATUS_SUCCESS
            and BindParameters.MediaType != NDIS_MEDIUM.NdisMedium802_3
        ):
            binding = self.bindings.pop()
            self._free_timer(binding)
            return NDIS_STATUS_UNSUPPORTED_MEDIA  # the mistake: the adapter is still open
        return status


def factory(ndis: Ndis) -> PickyBindClient:
    return PickyBindClient(ndis)
