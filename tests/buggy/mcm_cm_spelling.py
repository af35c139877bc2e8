"""CoNdisMcmSpelling: an MCM that completes a pended AF open with the stand-alone
call manager's spelling, NdisCmOpenAddressFamilyComplete.

An MCM must use the NdisMCm spelling (NdisMCmOpenAddressFamilyComplete).
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AfHandle
from condis.samples import SampleMcm
from condis.samples.mcm import McmAdapter, McmAf
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS
from condis.structs import CO_ADDRESS_FAMILY

ROLE = "mcm"
RULE = "CoNdisMcmSpelling"


class CmSpellingMcm(SampleMcm):
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
        # The mistake: NdisCm... where an MCM calls NdisMCm...
        self._defer(
            CallMgrBindingContext,
            lambda: self.ndis.NdisCmOpenAddressFamilyComplete(
                NDIS_STATUS_SUCCESS, NdisAfHandle, af
            ),
        )
        return NDIS_STATUS_PENDING


def factory(ndis: Ndis) -> CmSpellingMcm:
    return CmSpellingMcm(ndis)
