"""CoNdisVcOpenOnTeardown: a call manager that never deletes a VC it created for itself.

On each binding the call manager creates a VC for its own signalling
(NdisCoCreateVc with no AF) and, when it unbinds, closes the binding without
NdisCoDeleteVc.
"""

from __future__ import annotations

from condis import Ndis
from condis.samples import SampleCallManager
from condis.samples.callmanager import CmBinding, CmVc
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS

ROLE = "callmanager"
RULE = "CoNdisVcOpenOnTeardown"


class LeakyVcCallManager(SampleCallManager):
    def _finish_bind(self, binding: CmBinding) -> NDIS_STATUS:
        status = super()._finish_bind(binding)
        if status == NDIS_STATUS_SUCCESS and binding.handle is not None:
            # The mistake: nothing deletes this VC before NdisCloseAdapterEx.
            self.ndis.NdisCoCreateVc(binding.handle, None, CmVc(binding=binding, af=None))
        return status


def factory(ndis: Ndis) -> LeakyVcCallManager:
    return LeakyVcCallManager(ndis)
