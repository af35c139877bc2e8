"""NdisHandleForeign: a call manager that makes a call on its own signalling VC.

On each binding the call manager creates a VC for itself (NdisCoCreateVc with
no AF) and then, to bring up signalling, calls NdisClMakeCall on it: that is
a client's DDI, and a call manager's own VC is not a client's VC handle.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleCallManager
from condis.samples.callmanager import CmBinding, CmVc
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import CO_CALL_MANAGER_PARAMETERS, CO_CALL_PARAMETERS

ROLE = "callmanager"
RULE = "NdisHandleForeign"


class SignallingCallManager(SampleCallManager):
    def _finish_bind(self, binding: CmBinding) -> NDIS_STATUS:
        status = super()._finish_bind(binding)
        if status != NDIS_STATUS_SUCCESS or binding.handle is None:
            return status
        vc = CmVc(binding=binding, af=None)
        created, handle = self.ndis.NdisCoCreateVc(binding.handle, None, vc)
        if created == NDIS_STATUS_SUCCESS and handle is not None:
            params = CO_CALL_PARAMETERS(CallMgrParameters=CO_CALL_MANAGER_PARAMETERS())
            # The mistake: NdisClMakeCall takes a client's VC, not the call manager's own.
            self.ndis.NdisClMakeCall(handle, params)
            self.ndis.NdisCoDeleteVc(handle)
        return status


def factory(ndis: Ndis) -> SignallingCallManager:
    return SignallingCallManager(ndis)
