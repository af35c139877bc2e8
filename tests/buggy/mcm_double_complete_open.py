"""CoNdisDoubleComplete: an MCM that completes a pended AF open twice.

The MCM answers ProtocolCmOpenAf with NDIS_STATUS_PENDING and completes the
open from a work item, but queues that completion twice: the second
NdisMCmOpenAddressFamilyComplete is for an open that is already done.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AfHandle
from condis.samples import SampleMcm
from condis.samples.mcm import McmAdapter, McmAf
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "mcm"
RULE = "CoNdisDoubleComplete"


class DoubleCompleteMcm(SampleMcm):
    def ProtocolCmOpenAf(
        self,
        CallMgrBindingContext: McmAdapter,
        AddressFamily: CO_ADDRESS_FAMILY,
        NdisAfHandle: AfHandle,
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmAf]:
        result = super().ProtocolCmOpenAf(CallMgrBindingContext, AddressFamily, NdisAfHandle)
        if not isinstance(result, tuple):
            return result
        _, af = result

        def complete() -> None:
            self.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, NdisAfHandle, af)

        for _ in range(2):  # the mistake: one completion too many
            self._defer(CallMgrBindingContext, complete)
        return NDIS_STATUS_PENDING


def factory(ndis: Ndis) -> DoubleCompleteMcm:
    return DoubleCompleteMcm(ndis)
