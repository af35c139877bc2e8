"""Irql_MCM_Function: an MCM that registers its address families while holding a
spin lock.

NdisMCmRegisterAddressFamilyEx must be called at PASSIVE_LEVEL; this
MiniportInitializeEx registers the AFs under its adapter's spin lock, at
DISPATCH_LEVEL.
"""

from __future__ import annotations

from condis import Ndis
from condis.handles import AdapterHandle
from condis.samples import SampleMcm
from condis.samples.mcm import MAJOR_VERSION, MINOR_VERSION
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import CO_ADDRESS_FAMILY, NDIS_MINIPORT_INIT_PARAMETERS

ROLE = "mcm"
RULE = "Irql_MCM_Function"


class LockedRegistrationMcm(SampleMcm):
    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        families, self.address_families = self.address_families, ()
        try:
            status = super().MiniportInitializeEx(
                NdisMiniportHandle, MiniportDriverContext, MiniportInitParameters
            )
        finally:
            self.address_families = families
        if status != NDIS_STATUS_SUCCESS:
            return status
        lock = self.ndis.NdisAllocateSpinLock()
        self.ndis.NdisAcquireSpinLock(lock)
        for af_type in families:
            # The mistake: a PASSIVE_LEVEL DDI called at DISPATCH_LEVEL.
            family = CO_ADDRESS_FAMILY(af_type, MAJOR_VERSION, MINOR_VERSION)
            self.ndis.NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, family)
        self.ndis.NdisReleaseSpinLock(lock)
        self.ndis.NdisFreeSpinLock(lock)
        return NDIS_STATUS_SUCCESS


def factory(ndis: Ndis) -> LockedRegistrationMcm:
    return LockedRegistrationMcm(ndis)
