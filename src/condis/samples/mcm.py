"""Sample miniport call manager (MCM): a NIC with call management on board.

Written the way a WDK sample would be (this file: adapters, AFs and SAPs;
mcm_network.py: VCs, calls, parties, QoS, data and OIDs; mcm_state.py: the
contexts). The MCM registers as a CoNDIS
miniport with call-manager handlers (MiniportSetOptions, from the
`MiniportDriver` base), and in MiniportInitializeEx it registers one AF per
configured type with NdisMCmRegisterAddressFamilyEx.

`completion` chooses how it answers ProtocolCmOpenAf and ProtocolCmCloseAf:
"sync" finishes in the handler; "pended" returns NDIS_STATUS_PENDING and
completes from an NDIS I/O work item with NdisMCmOpenAddressFamilyComplete /
NdisMCmCloseAddressFamilyComplete, as an MCM whose signaling runs on the NIC
would.

MiniportHaltEx closes every AF still open with NdisMCmNotifyCloseAddressFamily
and, for those the clients pend, waits (NdisWaitEvent) until
ProtocolCmNotifyCloseAfComplete reports each one; it then waits for its own
work items to drain, because NDIS requires every work item allocated with the
adapter handle to be freed before MiniportHaltEx returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from condis.constants import (
    CO_ADDRESS_FAMILY_PSCHED,
    CO_ADDRESS_FAMILY_Q2931,
    NDIS_HALT_ACTION,
)
from condis.handles import AdapterHandle, AfHandle, SapHandle
from condis.samples.mcm_network import OID_SAMPLE_LINK_SPEED, McmNetwork
from condis.samples.mcm_state import McmAdapter, McmAf, McmParty, McmSap, McmVc, called_party
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import (
    CO_ADDRESS_FAMILY,
    CO_SAP,
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_MINIPORT_INIT_PARAMETERS,
)

if TYPE_CHECKING:
    from condis.ndis import Ndis

#: the signaling version this sample speaks (UNI 3.1)
MAJOR_VERSION, MINOR_VERSION = 3, 1

__all__ = [
    "OID_SAMPLE_LINK_SPEED",
    "McmAdapter",
    "McmAf",
    "McmParty",
    "McmSap",
    "McmVc",
    "SampleMcm",
    "called_party",
]


class SampleMcm(McmNetwork):
    """An MCM for a connection-oriented NIC (see the module docstring)."""

    def __init__(
        self,
        ndis: Ndis,
        *,
        address_families: Sequence[int] = (CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED),
        completion: Literal["sync", "pended"] = "sync",
    ) -> None:
        super().__init__(ndis)
        if completion not in ("sync", "pended"):
            raise ValueError(f"completion must be 'sync' or 'pended', not {completion!r}")
        self.address_families = tuple(address_families)
        self.completion = completion
        self.adapters: dict[AdapterHandle, McmAdapter] = {}

    # --- adapter lifetime ------------------------------------------------------------------

    def MiniportInitializeEx(
        self,
        NdisMiniportHandle: AdapterHandle,
        MiniportDriverContext: object,
        MiniportInitParameters: NDIS_MINIPORT_INIT_PARAMETERS,
    ) -> NDIS_STATUS:
        ndis = self.ndis
        adapter = McmAdapter(
            handle=NdisMiniportHandle,
            name=MiniportInitParameters.AdapterName,
            medium=MiniportInitParameters.MediaType,
        )
        # The registration attributes must come first: they carry the context
        # NDIS hands back to every MiniportXxx and, for an MCM, ProtocolCmXxx.
        status = ndis.NdisMSetMiniportAttributes(
            NdisMiniportHandle,
            NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES(MiniportAdapterContext=adapter),
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        status = ndis.NdisMSetMiniportAttributes(
            NdisMiniportHandle,
            NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES(MediaType=adapter.medium, MtuSize=9180),
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        # Advertise the on-board signaling: one registration per AF type. NDIS
        # tells the clients once this function has returned and they are bound.
        for af_type in self.address_families:
            family = CO_ADDRESS_FAMILY(af_type, MAJOR_VERSION, MINOR_VERSION)
            status = ndis.NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, family)
            if status != NDIS_STATUS_SUCCESS:
                return status  # NDIS drops the registrations of a failed initialize
        self.adapters[NdisMiniportHandle] = adapter
        return NDIS_STATUS_SUCCESS

    def MiniportHaltEx(
        self, MiniportAdapterContext: McmAdapter, HaltAction: NDIS_HALT_ACTION
    ) -> None:
        adapter = MiniportAdapterContext
        ndis = self.ndis
        adapter.halt_event = ndis.NdisInitializeEvent()
        # The NIC is going away: every client must close its AFs on it. Wait
        # for pended notifications and for our own work items; the system keeps
        # running (NDIS and the clients complete) while this thread waits.
        while True:
            ndis.NdisResetEvent(adapter.halt_event)
            self._run_backlog(adapter)
            for af in list(adapter.afs.values()):
                if af.open and not af.notified:
                    af.notified = True
                    adapter.notifies_outstanding += 1
                    if ndis.NdisMCmNotifyCloseAddressFamily(af.handle) != NDIS_STATUS_PENDING:
                        adapter.notifies_outstanding -= 1
            if adapter.backlog:
                continue  # signalling the notifications left without a work item
            if not (
                adapter.notifies_outstanding
                or adapter.work_outstanding
                or adapter.receives_outstanding
                or adapter.afs
            ):
                break
            ndis.NdisWaitEvent(adapter.halt_event, 0)
        adapter.halted = True
        del self.adapters[adapter.handle]

    # --- call manager: address families ---------------------------------------------------------

    def ProtocolCmOpenAf(
        self,
        CallMgrBindingContext: McmAdapter,
        AddressFamily: CO_ADDRESS_FAMILY,
        NdisAfHandle: AfHandle,
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmAf]:
        adapter = CallMgrBindingContext
        if AddressFamily.MajorVersion != MAJOR_VERSION:
            return NDIS_STATUS_NOT_SUPPORTED
        af = McmAf(adapter=adapter, family=AddressFamily, handle=NdisAfHandle)
        adapter.afs[NdisAfHandle] = af
        if self.completion == "sync":
            af.open = True
            return NDIS_STATUS_SUCCESS, af

        def complete() -> None:
            af.open = True
            self.ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, NdisAfHandle, af)

        if not self._defer(adapter, complete):
            del adapter.afs[NdisAfHandle]
            return NDIS_STATUS_RESOURCES
        return NDIS_STATUS_PENDING

    def ProtocolCmCloseAf(self, CallMgrAfContext: McmAf) -> NDIS_STATUS:
        af = CallMgrAfContext
        adapter = af.adapter
        if self.completion == "sync":
            af.open = False
            del adapter.afs[af.handle]
            return NDIS_STATUS_SUCCESS

        def complete() -> None:
            af.open = False
            del adapter.afs[af.handle]
            # When this returns the handle is invalid for the MCM.
            self.ndis.NdisMCmCloseAddressFamilyComplete(NDIS_STATUS_SUCCESS, af.handle)

        if not self._defer(adapter, complete):
            af.open = False
            del adapter.afs[af.handle]
            return NDIS_STATUS_SUCCESS
        return NDIS_STATUS_PENDING

    # --- call manager: SAPs --------------------------------------------------------------------

    def ProtocolCmRegisterSap(
        self, CallMgrAfContext: McmAf, Sap: CO_SAP, NdisSapHandle: SapHandle
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, McmSap]:
        af = CallMgrAfContext
        adapter = af.adapter
        entry = McmSap(af=af, sap=Sap, handle=NdisSapHandle)
        if entry.key in adapter.saps:
            # "If the given SAP is already registered by another connection-oriented
            # client, the call manager must fail the request" (ProtocolCmRegisterSap).
            return NDIS_STATUS_INVALID_DATA
        adapter.saps[entry.key] = entry
        if self.completion == "sync":
            entry.registered = True
            return NDIS_STATUS_SUCCESS, entry

        def complete() -> None:
            entry.registered = True
            self.ndis.NdisMCmRegisterSapComplete(NDIS_STATUS_SUCCESS, NdisSapHandle, entry)

        if not self._defer(adapter, complete):
            del adapter.saps[entry.key]
            return NDIS_STATUS_RESOURCES
        return NDIS_STATUS_PENDING

    def ProtocolCmDeregisterSap(self, CallMgrSapContext: McmSap) -> NDIS_STATUS:
        entry = CallMgrSapContext
        self._forget_sap(entry)  # no call is routed to it from now on
        if self.completion == "pended":

            def complete() -> None:
                self.ndis.NdisMCmDeregisterSapComplete(NDIS_STATUS_SUCCESS, entry.handle)

            if self._defer(entry.af.adapter, complete):
                return NDIS_STATUS_PENDING
        return NDIS_STATUS_SUCCESS

    @staticmethod
    def _forget_sap(entry: McmSap) -> None:
        entry.registered = False
        entry.af.adapter.saps.pop(entry.key, None)

    def ProtocolCmNotifyCloseAfComplete(self, CallMgrAfContext: McmAf, Status: NDIS_STATUS) -> None:
        adapter = CallMgrAfContext.adapter
        adapter.notifies_outstanding -= 1
        if adapter.halt_event is not None:
            self.ndis.NdisSetEvent(adapter.halt_event)
