"""CoNdisCompletedButNotPended: an MCM that completes an AF open inside its handler
and then returns NDIS_STATUS_SUCCESS.

A handler that calls the completion DDI for its own operation must return
NDIS_STATUS_PENDING; this ProtocolCmOpenAf calls
NdisMCmOpenAddressFamilyComplete and then returns the synchronous result.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AfHandle
from condis.samples import SampleMcm
from condis.samples.mcm import McmAdapter, McmAf
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "mcm"
RULE = "CoNdisCompletedButNotPended"


class CompletedNotPendedMcm(SampleMcm):
    def ProtocolCmOpenAf(
        self,
        CallMgrBindingContext: McmAdapter,
        AddressFamily: CO_ADDRESS_FAMILY,
        NdisAfHandle: AfHandle,
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmAf]:
        result = super().ProtocolCmOpenAf(CallMgrBindingContext, AddressFamily, NdisAfHandle)
        if isinstance(result, tuple):
            # The mistake: completing in the handler, then not returning PENDING.
            self.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, NdisAfHandle, result[1])
        return result


def factory(ndis: Ndis) -> CompletedNotPendedMcm:
    return CompletedNotPendedMcm(ndis)
