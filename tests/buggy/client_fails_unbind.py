"""CoNdisHandlerStatus: a client whose ProtocolUnbindAdapterEx returns a failure.

A protocol cannot fail an unbind: ProtocolUnbindAdapterEx returns
NDIS_STATUS_SUCCESS or NDIS_STATUS_PENDING. This client tears the binding
down properly but then returns NDIS_STATUS_FAILURE.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import UnbindContextHandle
from condis.samples import SampleClient
from condis.samples.client import ClientBinding
from condis.status import NDIS_STATUS, NDIS_STATUS_FAILURE, NDIS_STATUS_SUCCESS

ROLE = "client"
RULE = "CoNdisHandlerStatus"


class FailingUnbindClient(SampleClient):
    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        status = super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)
        # The mistake: an unbind cannot fail.
        return NDIS_STATUS_FAILURE if status == NDIS_STATUS_SUCCESS else status


def factory(ndis: Ndis) -> FailingUnbindClient:
    return FailingUnbindClient(ndis)
