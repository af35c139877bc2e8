"""CoNdisAfOpenOnTeardown: a call manager that closes its binding with its clients'
AFs still open.

ProtocolUnbindAdapterEx frees its timer and calls NdisCloseAdapterEx at
once, without asking the clients to close their address families
(NdisCmNotifyCloseAddressFamily) and waiting until they have.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import UnbindContextHandle
from condis.samples import SampleCallManager
from condis.samples.callmanager import CmBinding
from condis.status import NDIS_STATUS, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS

ROLE = "callmanager"
RULE = "CoNdisAfOpenOnTeardown"


class HastyUnbindCallManager(SampleCallManager):
    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: CmBinding
    ) -> NDIS_STATUS:
        binding = ProtocolBindingContext
        binding.unbind_context = UnbindContext
        # The mistake: no NdisCmNotifyCloseAddressFamily, no wait for the AFs to close.
        assert binding.timer is not None and binding.handle is not None
        self.ndis.NdisCancelTimerObject(binding.timer)
        self.ndis.NdisFreeTimerObject(binding.timer)
        if self.ndis.NdisCloseAdapterEx(binding.handle) == NDIS_STATUS_PENDING:
            return NDIS_STATUS_PENDING
        self.bindings.remove(binding)
        return NDIS_STATUS_SUCCESS


def factory(ndis: Ndis) -> HastyUnbindCallManager:
    return HastyUnbindCallManager(ndis)
