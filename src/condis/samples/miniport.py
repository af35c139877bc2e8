"""Sample CoNDIS miniport: a connection-oriented NIC without call management.

A plain CoNDIS miniport registers NDIS_MINIPORT_CO_CHARACTERISTICS in
MiniportSetOptions (the `MiniportDriver` base does it), which is what lets a
stand-alone call manager register an AF over it. It gives NDIS its adapter
context in MiniportInitializeEx and releases everything in MiniportHaltEx.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from condis.constants import NDIS_HALT_ACTION, NDIS_MEDIUM
from condis.driver import MiniportDriver
from condis.handles import AdapterHandle
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import (
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_MINIPORT_INIT_PARAMETERS,
)

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["MiniportAdapter", "SampleCoMiniport"]


@dataclass(eq=False)
class MiniportAdapter:
    """MiniportAdapterContext of the sample CoNDIS miniport."""

    handle: AdapterHandle
    name: str
    medium: NDIS_MEDIUM
    halted: bool = False


class SampleCoMiniport(MiniportDriver):
    """A CoNDIS miniport for a stand-alone call manager to drive."""

    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis)
        self.adapters: dict[AdapterHandle, MiniportAdapter] = {}

    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        adapter = MiniportAdapter(
            handle=NdisMiniportHandle,
            name=MiniportInitParameters.AdapterName,
            medium=MiniportInitParameters.MediaType,
        )
        status = self.ndis.NdisMSetMiniportAttributes(
            NdisMiniportHandle,
            NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES(MiniportAdapterContext=adapter),
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        status = self.ndis.NdisMSetMiniportAttributes(
            NdisMiniportHandle, NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES(MediaType=adapter.medium)
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        self.adapters[NdisMiniportHandle] = adapter
        return NDIS_STATUS_SUCCESS

    def MiniportHaltEx(
        self, MiniportAdapterContext: MiniportAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        adapter = MiniportAdapterContext
        adapter.halted = True
        del self.adapters[adapter.handle]
