"""CoNdisCompleteNotPending: an MCM that completes an AF open it did not pend.

ProtocolCmOpenAf opens the AF at once and returns NDIS_STATUS_SUCCESS, and
then also calls NdisMCmOpenAddressFamilyComplete from a work item, as if it
had returned NDIS_STATUS_PENDING.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AfHandle
from condis.samples import SampleMcm
from condis.samples.mcm import McmAdapter, McmAf
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "mcm"
RULE = "CoNdisCompleteNotPending"


class CompleteNotPendingMcm(SampleMcm):
    def ProtocolCmOpenAf(
        self,
        CallMgrBindingContext: McmAdapter,
        AddressFamily: CO_ADDRESS_FAMILY,
        NdisAfHandle: AfHandle,
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmAf]:
        result = super().ProtocolCmOpenAf(CallMgrBindingContext, AddressFamily, NdisAfHandle)
        if isinstance(result, tuple):
            _, af = result
            # The mistake: a completion for an open that was answered synchronously.
            self._defer(
                CallMgrBindingContext,
                lambda: self.ndis.NdisMCmOpenAddressFamilyComplete(
                    NDIS_STATUS_SUCCESS, NdisAfHandle, af
                ),
            )
        return result


def factory(ndis: Ndis) -> CompleteNotPendingMcm:
    return CompleteNotPendingMcm(ndis)
