"""Sample stand-alone call manager: signaling as a protocol driver.

Written the way a WDK sample would be. The call manager is a protocol with
call-manager handlers (ProtocolSetOptions registers them). It binds to
connection-oriented adapters and, once the open has completed, registers its
AF types on each binding with NdisCmRegisterAddressFamilyEx; NDIS announces
them to the clients bound to the same adapter when the bind completes.

`completion` chooses how it answers ProtocolCmOpenAf and ProtocolCmCloseAf:
"sync", or "pended", completing with NdisCmOpenAddressFamilyComplete /
NdisCmCloseAddressFamilyComplete from a timer. (A protocol cannot use NDIS
I/O work items, so a timer at DISPATCH_LEVEL is how it defers work; NDIS
then calls the client's PASSIVE_LEVEL ProtocolClOpenAfCompleteEx from a work
item of its own.)

Calls. The network beyond the NIC accepts every outgoing point-to-point
call: ProtocolCmMakeCall pends, and from the binding's timer the call
manager activates the VC with the call's parameters (NdisCmActivateVc) and,
once the activation has completed, completes the call
(NdisCmMakeCallComplete), since a VC must be active before its call
completes. ProtocolCmCloseCall deactivates the VC (NdisCmDeactivateVc) and
completes the close, with NdisCmCloseCallComplete when the deactivation
pended. It dispatches no incoming calls and supports no parties, QoS
changes or OID requests; as the NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS page
asks, it still registers every entry point, and those are placeholders that
return NDIS_STATUS_NOT_SUPPORTED.

ProtocolUnbindAdapterEx asks the clients to close every AF open on the
binding with NdisCmNotifyCloseAddressFamily, waits at PASSIVE_LEVEL for the
pended notifications (ProtocolCmNotifyCloseAfComplete), cancels and frees its
timer and closes the binding.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from condis.constants import CO_ADDRESS_FAMILY_Q2931
from condis.driver import ProtocolDriver
from condis.handles import (
    AfHandle,
    BindContextHandle,
    BindingHandle,
    PartyHandle,
    SapHandle,
    TimerHandle,
    UnbindContextHandle,
    VcHandle,
)
from condis.oid import NDIS_OID_REQUEST
from condis.spinlocks import NDIS_EVENT
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_UNSUPPORTED_MEDIA,
)
from condis.structs import (
    CO_ADDRESS_FAMILY,
    CO_CALL_PARAMETERS,
    CO_SAP,
    NDIS_BIND_PARAMETERS,
    NDIS_OPEN_PARAMETERS,
    NDIS_TIMER_CHARACTERISTICS,
)

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["CmAf", "CmBinding", "CmSap", "CmVc", "SampleCallManager"]

MAJOR_VERSION, MINOR_VERSION = 3, 1


@dataclass(eq=False)
class CmAf:
    """CallMgrAfContext of the sample call manager."""

    binding: CmBinding
    handle: AfHandle
    open: bool = False
    notified: bool = False


@dataclass(eq=False)
class CmSap:
    """CallMgrSapContext of the sample call manager."""

    af: CmAf
    sap: CO_SAP
    handle: SapHandle
    registered: bool = False

    @property
    def key(self) -> tuple[int, bytes]:
        return (self.sap.SapType, self.sap.Sap)


@dataclass(eq=False)
class CmVc:
    """CallMgrVcContext of the sample call manager."""

    binding: CmBinding
    af: CmAf | None
    handle: VcHandle | None = None
    active: bool = False
    deactivating: bool = False
    #: the parameters of an outgoing call waiting for the VC's activation
    making: CO_CALL_PARAMETERS | None = None
    #: a close waiting for the VC's deactivation
    closing: bool = False
    parameters: CO_CALL_PARAMETERS | None = None
    last_status: NDIS_STATUS | None = None


@dataclass(eq=False)
class CmBinding:
    """ProtocolBindingContext of the sample call manager."""

    adapter_name: str
    bind_context: BindContextHandle
    handle: BindingHandle | None = None
    unbind_context: UnbindContextHandle | None = None
    timer: TimerHandle | None = None
    deferred: list[Callable[[], None]] = field(default_factory=list)
    afs: dict[AfHandle, CmAf] = field(default_factory=dict)
    saps: dict[tuple[int, bytes], CmSap] = field(default_factory=dict)
    vcs: dict[VcHandle, CmVc] = field(default_factory=dict)
    notifies_outstanding: int = 0
    idle: NDIS_EVENT | None = None
    registered: list[int] = field(default_factory=list)


class SampleCallManager(ProtocolDriver):
    """A stand-alone call manager (see the module docstring)."""

    def __init__(
        self,
        ndis: Ndis,
        *,
        address_families: Sequence[int] = (CO_ADDRESS_FAMILY_Q2931,),
        completion: Literal["sync", "pended"] = "sync",
    ) -> None:
        super().__init__(ndis)
        if completion not in ("sync", "pended"):
            raise ValueError(f"completion must be 'sync' or 'pended', not {completion!r}")
        self.address_families = tuple(address_families)
        self.completion = completion
        self.bindings: list[CmBinding] = []

    # --- binding --------------------------------------------------------------------------------

    def ProtocolBindAdapterEx(
        self,
        ProtocolDriverContext: object,
        BindContext: BindContextHandle,
        BindParameters: NDIS_BIND_PARAMETERS,
    ) -> NDIS_STATUS:
        if not BindParameters.ConnectionOriented:
            return NDIS_STATUS_UNSUPPORTED_MEDIA
        assert self.driver_handle is not None
        binding = CmBinding(adapter_name=BindParameters.AdapterName, bind_context=BindContext)
        params = NDIS_OPEN_PARAMETERS(
            AdapterName=BindParameters.AdapterName, MediumArray=[BindParameters.MediaType]
        )
        status, handle = self.ndis.NdisOpenAdapterEx(
            self.driver_handle, binding, params, BindContext
        )
        binding.handle = handle
        if status == NDIS_STATUS_PENDING:
            self.bindings.append(binding)
            return NDIS_STATUS_PENDING  # finished in ProtocolOpenAdapterCompleteEx
        if status != NDIS_STATUS_SUCCESS:
            return status
        self.bindings.append(binding)
        return self._finish_bind(binding)

    def ProtocolOpenAdapterCompleteEx(
        self, ProtocolBindingContext: CmBinding, Status: NDIS_STATUS
    ) -> None:
        binding = ProtocolBindingContext
        if Status == NDIS_STATUS_SUCCESS:
            Status = self._finish_bind(binding)
        if Status != NDIS_STATUS_SUCCESS:
            self.bindings.remove(binding)
        self.ndis.NdisCompleteBindAdapterEx(binding.bind_context, Status)

    def _finish_bind(self, binding: CmBinding) -> NDIS_STATUS:
        """With the adapter open: a timer for deferred completions, then the AFs."""
        assert self.driver_handle is not None and binding.handle is not None
        status, timer = self.ndis.NdisAllocateTimerObject(
            self.driver_handle,
            NDIS_TIMER_CHARACTERISTICS(TimerFunction=self._timer_fired, FunctionContext=binding),
        )
        if status != NDIS_STATUS_SUCCESS:
            self.ndis.NdisCloseAdapterEx(binding.handle)
            return status
        binding.timer = timer
        for af_type in self.address_families:
            family = CO_ADDRESS_FAMILY(af_type, MAJOR_VERSION, MINOR_VERSION)
            if (
                self.ndis.NdisCmRegisterAddressFamilyEx(binding.handle, family)
                == NDIS_STATUS_SUCCESS
            ):
                binding.registered.append(af_type)
        return NDIS_STATUS_SUCCESS

    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: CmBinding
    ) -> NDIS_STATUS:
        binding = ProtocolBindingContext
        ndis = self.ndis
        binding.unbind_context = UnbindContext
        binding.idle = ndis.NdisInitializeEvent()
        # Before unbinding, every client with an AF open here must close it;
        # an AF whose open is still pending is asked once the open completes.
        while True:
            ndis.NdisResetEvent(binding.idle)
            for af in list(binding.afs.values()):
                if af.open and not af.notified:
                    af.notified = True
                    binding.notifies_outstanding += 1
                    if ndis.NdisCmNotifyCloseAddressFamily(af.handle) != NDIS_STATUS_PENDING:
                        binding.notifies_outstanding -= 1
            busy = any(vc.deactivating for vc in binding.vcs.values())
            if not (binding.notifies_outstanding or binding.afs or binding.deferred or busy):
                break
            ndis.NdisWaitEvent(binding.idle, 0)
        assert binding.timer is not None and binding.handle is not None
        ndis.NdisCancelTimerObject(binding.timer)
        ndis.NdisFreeTimerObject(binding.timer)
        status = ndis.NdisCloseAdapterEx(binding.handle)
        if status == NDIS_STATUS_PENDING:
            return NDIS_STATUS_PENDING  # finished in ProtocolCloseAdapterCompleteEx
        self.bindings.remove(binding)
        return NDIS_STATUS_SUCCESS

    def ProtocolCloseAdapterCompleteEx(self, ProtocolBindingContext: CmBinding) -> None:
        binding = ProtocolBindingContext
        self.bindings.remove(binding)
        assert binding.unbind_context is not None
        self.ndis.NdisCompleteUnbindAdapterEx(binding.unbind_context)

    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: CmBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        """A call manager is not a client: it simply returns (the page says so)."""

    # --- deferring work (a timer: protocols have no I/O work items) ---------------------

    def _defer(self, binding: CmBinding, work: Callable[[], None]) -> None:
        assert binding.timer is not None
        binding.deferred.append(work)
        self.ndis.NdisSetTimerObject(binding.timer, -10_000)  # 1 ms from now

    def _timer_fired(
        self,
        SystemSpecific1: object,
        FunctionContext: CmBinding,
        SystemSpecific2: object,
        SystemSpecific3: object,
    ) -> None:
        binding = FunctionContext
        while binding.deferred:
            binding.deferred.pop(0)()
        if binding.idle is not None:
            self.ndis.NdisSetEvent(binding.idle)

    # --- call manager: address families ---------------------------------------------------------

    def ProtocolCmOpenAf(
        self,
        CallMgrBindingContext: CmBinding,
        AddressFamily: CO_ADDRESS_FAMILY,
        NdisAfHandle: AfHandle,
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, CmAf]:
        binding = CallMgrBindingContext
        af = CmAf(binding=binding, handle=NdisAfHandle)
        binding.afs[NdisAfHandle] = af
        if self.completion == "sync":
            af.open = True
            return NDIS_STATUS_SUCCESS, af

        def complete() -> None:
            af.open = True
            # Runs at DISPATCH_LEVEL (a timer); allowed for this DDI.
            self.ndis.NdisCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, NdisAfHandle, af)

        self._defer(binding, complete)
        return NDIS_STATUS_PENDING

    def ProtocolCmCloseAf(self, CallMgrAfContext: CmAf) -> NDIS_STATUS:
        af = CallMgrAfContext
        binding = af.binding
        if self.completion == "sync":
            af.open = False
            del binding.afs[af.handle]
            return NDIS_STATUS_SUCCESS

        def complete() -> None:
            af.open = False
            del binding.afs[af.handle]
            self.ndis.NdisCmCloseAddressFamilyComplete(NDIS_STATUS_SUCCESS, af.handle)

        self._defer(binding, complete)
        return NDIS_STATUS_PENDING

    # --- call manager: SAPs --------------------------------------------------------------------

    def ProtocolCmRegisterSap(
        self, CallMgrAfContext: CmAf, Sap: CO_SAP, NdisSapHandle: SapHandle
    ) -> NDIS_STATUS | tuple[NDIS_STATUS, CmSap]:
        af = CallMgrAfContext
        binding = af.binding
        entry = CmSap(af=af, sap=Sap, handle=NdisSapHandle)
        if entry.key in binding.saps:
            return NDIS_STATUS_INVALID_DATA  # already registered by another client
        binding.saps[entry.key] = entry
        if self.completion == "sync":
            entry.registered = True
            return NDIS_STATUS_SUCCESS, entry

        def complete() -> None:
            entry.registered = True
            self.ndis.NdisCmRegisterSapComplete(NDIS_STATUS_SUCCESS, NdisSapHandle, entry)

        self._defer(binding, complete)
        return NDIS_STATUS_PENDING

    def ProtocolCmDeregisterSap(self, CallMgrSapContext: CmSap) -> NDIS_STATUS:
        entry = CallMgrSapContext
        binding = entry.af.binding
        if self.completion == "sync":
            entry.registered = False
            binding.saps.pop(entry.key, None)
            return NDIS_STATUS_SUCCESS

        def complete() -> None:
            entry.registered = False
            binding.saps.pop(entry.key, None)
            self.ndis.NdisCmDeregisterSapComplete(NDIS_STATUS_SUCCESS, entry.handle)

        self._defer(binding, complete)
        return NDIS_STATUS_PENDING

    # --- VCs --------------------------------------------------------------------------------------

    def ProtocolCoCreateVc(
        self, ProtocolAfContext: CmAf, NdisVcHandle: VcHandle
    ) -> tuple[NDIS_STATUS, CmVc]:
        vc = CmVc(binding=ProtocolAfContext.binding, af=ProtocolAfContext, handle=NdisVcHandle)
        vc.binding.vcs[NdisVcHandle] = vc
        return NDIS_STATUS_SUCCESS, vc

    def ProtocolCoDeleteVc(self, ProtocolVcContext: CmVc) -> NDIS_STATUS:
        if ProtocolVcContext.active:
            return NDIS_STATUS_NOT_ACCEPTED
        assert ProtocolVcContext.handle is not None
        ProtocolVcContext.binding.vcs.pop(ProtocolVcContext.handle, None)
        return NDIS_STATUS_SUCCESS

    def activate_vc(self, vc: CmVc, parameters: CO_CALL_PARAMETERS) -> NDIS_STATUS:
        """Pass call parameters to the miniport (NdisCmActivateVc)."""
        assert vc.handle is not None
        status = self.ndis.NdisCmActivateVc(vc.handle, parameters)
        if status != NDIS_STATUS_PENDING:
            self.ProtocolCmActivateVcComplete(status, vc, parameters)  # the "internal call"
        return status

    def deactivate_vc(self, vc: CmVc) -> NDIS_STATUS:
        """Stop transfers on `vc` (NdisCmDeactivateVc)."""
        assert vc.handle is not None
        status = self.ndis.NdisCmDeactivateVc(vc.handle)
        if status != NDIS_STATUS_PENDING:
            self.ProtocolCmDeactivateVcComplete(status, vc)
        return status

    def ProtocolCmActivateVcComplete(
        self, Status: NDIS_STATUS, CallMgrVcContext: CmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        vc = CallMgrVcContext
        vc.last_status = Status
        if Status == NDIS_STATUS_SUCCESS:
            vc.active, vc.parameters = True, CallParameters
        if vc.making is not None:
            params, vc.making = vc.making, None
            assert vc.handle is not None
            self.ndis.NdisCmMakeCallComplete(Status, vc.handle, None, None, params)

    def ProtocolCmDeactivateVcComplete(self, Status: NDIS_STATUS, CallMgrVcContext: CmVc) -> None:
        vc = CallMgrVcContext
        vc.last_status, vc.deactivating = Status, False
        if Status == NDIS_STATUS_SUCCESS:
            vc.active, vc.parameters = False, None
        if vc.closing:
            vc.closing = False
            assert vc.handle is not None
            self.ndis.NdisCmCloseCallComplete(NDIS_STATUS_SUCCESS, vc.handle, None)
        if vc.binding.idle is not None:
            self.ndis.NdisSetEvent(vc.binding.idle)  # an unbind may be waiting for it

    def ProtocolCmNotifyCloseAfComplete(self, CallMgrAfContext: CmAf, Status: NDIS_STATUS) -> None:
        binding = CallMgrAfContext.binding
        binding.notifies_outstanding -= 1
        if binding.idle is not None:
            self.ndis.NdisSetEvent(binding.idle)

    # --- outgoing calls ------------------------------------------------------------------

    def ProtocolCmMakeCall(
        self,
        CallMgrVcContext: CmVc,
        CallParameters: CO_CALL_PARAMETERS,
        NdisPartyHandle: PartyHandle | None,
    ) -> NDIS_STATUS:
        if NdisPartyHandle is not None:
            return NDIS_STATUS_NOT_SUPPORTED  # no point-to-multipoint on this network
        vc = CallMgrVcContext
        vc.making = CallParameters

        # The network answers later: activate, then complete (ProtocolCmActivateVcComplete).
        def connect() -> None:
            self.activate_vc(vc, CallParameters)

        self._defer(vc.binding, connect)
        return NDIS_STATUS_PENDING

    def ProtocolCmCloseCall(
        self,
        CallMgrVcContext: CmVc,
        CallMgrPartyContext: object,
        CloseData: bytes | None,
        Size: int,
    ) -> NDIS_STATUS:
        vc = CallMgrVcContext
        if not vc.active or vc.deactivating:
            return NDIS_STATUS_SUCCESS
        vc.deactivating = True
        if self.deactivate_vc(vc) == NDIS_STATUS_PENDING:
            vc.closing = True  # completed in ProtocolCmDeactivateVcComplete
            return NDIS_STATUS_PENDING
        return NDIS_STATUS_SUCCESS

    # --- placeholders: what this call manager does not support --------------------------

    def ProtocolCmIncomingCallComplete(
        self, Status: NDIS_STATUS, CallMgrVcContext: CmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> None:
        return None  # never called: this call manager dispatches no incoming calls

    def ProtocolCmAddParty(
        self,
        CallMgrVcContext: CmVc,
        CallParameters: CO_CALL_PARAMETERS,
        NdisPartyHandle: PartyHandle,
    ) -> NDIS_STATUS:
        return NDIS_STATUS_NOT_SUPPORTED

    def ProtocolCmDropParty(
        self, CallMgrPartyContext: object, CloseData: bytes | None, Size: int
    ) -> NDIS_STATUS:
        return NDIS_STATUS_NOT_SUPPORTED

    def ProtocolCmModifyCallQoS(
        self, CallMgrVcContext: CmVc, CallParameters: CO_CALL_PARAMETERS
    ) -> NDIS_STATUS:
        return NDIS_STATUS_NOT_SUPPORTED

    def ProtocolCoOidRequest(
        self,
        ProtocolAfContext: CmAf,
        ProtocolVcContext: CmVc | None,
        ProtocolPartyContext: object,
        OidRequest: NDIS_OID_REQUEST,
    ) -> NDIS_STATUS:
        return NDIS_STATUS_NOT_SUPPORTED

    def ProtocolCoOidRequestComplete(
        self,
        ProtocolAfContext: CmAf,
        ProtocolVcContext: CmVc | None,
        ProtocolPartyContext: object,
        OidRequest: NDIS_OID_REQUEST,
        Status: NDIS_STATUS,
    ) -> None:
        return None  # never called: this call manager issues no OID requests
