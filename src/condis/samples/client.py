"""Sample CoNDIS client: binds, opens the AFs it is offered, closes them.

Written the way a WDK sample would be, with the parts where NDIS semantics
matter commented:

* ProtocolBindAdapterEx declines adapters whose miniport is not
  connection-oriented, opens the others with NdisOpenAdapterEx and, if NDIS
  pends the open, completes the bind from ProtocolOpenAdapterCompleteEx.
* ProtocolCoAfRegisterNotify opens each offered AF it wants with
  NdisClOpenAddressFamilyEx. A status other than NDIS_STATUS_PENDING is
  handled in line, as the page asks ("the client should make an internal
  call to its ProtocolClOpenAfCompleteEx function").
* `close_af` closes one AF; ProtocolClNotifyCloseAf does the same when the
  call manager asks, returning NDIS_STATUS_PENDING while the close is pending
  and then calling NdisClNotifyCloseAddressFamilyComplete.
* ProtocolUnbindAdapterEx closes every AF, waits at PASSIVE_LEVEL until they
  are closed (a completion can arrive at DISPATCH_LEVEL, where
  NdisCloseAdapterEx may not be called), then closes the binding. If NDIS
  pends the close, the unbind is pended too and completed from
  ProtocolCloseAdapterCompleteEx with NdisCompleteUnbindAdapterEx.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from condis.handles import AfHandle, BindContextHandle, SapHandle, UnbindContextHandle
from condis.oid import NDIS_OID_REQUEST
from condis.samples.client_connections import ClientConnections
from condis.samples.client_state import ClientAf, ClientBinding, ClientParty, ClientSap, ClientVc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_UNSUPPORTED_MEDIA,
)
from condis.status_ind import NDIS_STATUS_INDICATION
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

__all__ = [
    "ClientAf",
    "ClientBinding",
    "ClientParty",
    "ClientSap",
    "ClientVc",
    "SampleClient",
]


class SampleClient(ClientConnections):
    """A CoNDIS client (see the module docstring)."""

    def __init__(
        self,
        ndis: Ndis,
        *,
        address_families: Iterable[int] | None = None,
        saps: Mapping[int, Sequence[CO_SAP]] | None = None,
        incoming: Literal["accept", "reject", "pend"] = "accept",
    ) -> None:
        super().__init__(ndis)
        if incoming not in ("accept", "reject", "pend"):
            raise ValueError(f"incoming must be 'accept', 'reject' or 'pend', not {incoming!r}")
        #: how ProtocolClIncomingCall answers an offered call
        self.incoming = incoming
        #: values ProtocolCoOidRequest answers, by OID
        self.oid_values: dict[int, object] = {}
        #: completed OID requests this client made, and status indications it saw
        self.oid_results: list[tuple[NDIS_OID_REQUEST, NDIS_STATUS]] = []
        self.indications: list[tuple[ClientVc | None, NDIS_STATUS_INDICATION]] = []
        #: AF types to open when offered; None opens every offer
        self.wanted = None if address_families is None else frozenset(address_families)
        #: SAPs to register on each AF type once it is open
        self.saps: dict[int, tuple[CO_SAP, ...]] = {k: tuple(v) for k, v in (saps or {}).items()}
        self.bindings: list[ClientBinding] = []

    # --- queries for tests and tools -------------------------------------------------------

    def afs(self, state: str | None = None) -> list[ClientAf]:
        return [af for b in self.bindings for af in b.afs if state is None or af.state == state]

    # --- binding ------------------------------------------------------------------------------

    def ProtocolBindAdapterEx(
        self,
        ProtocolDriverContext: object,
        BindContext: BindContextHandle,
        BindParameters: NDIS_BIND_PARAMETERS,
    ) -> NDIS_STATUS:
        if not BindParameters.ConnectionOriented:
            return NDIS_STATUS_UNSUPPORTED_MEDIA  # a CoNDIS client binds to CoNDIS miniports only
        assert self.driver_handle is not None
        binding = ClientBinding(adapter_name=BindParameters.AdapterName, bind_context=BindContext)
        status, timer = self.ndis.NdisAllocateTimerObject(
            self.driver_handle,
            NDIS_TIMER_CHARACTERISTICS(TimerFunction=self._resume_timer, FunctionContext=binding),
        )
        if status != NDIS_STATUS_SUCCESS:
            return status
        binding.timer = timer
        params = NDIS_OPEN_PARAMETERS(
            AdapterName=BindParameters.AdapterName, MediumArray=[BindParameters.MediaType]
        )
        status, handle = self.ndis.NdisOpenAdapterEx(
            self.driver_handle, binding, params, BindContext
        )
        binding.handle = handle
        if status == NDIS_STATUS_PENDING:
            # The handle may not be used until ProtocolOpenAdapterCompleteEx.
            self.bindings.append(binding)
            return NDIS_STATUS_PENDING
        if status == NDIS_STATUS_SUCCESS:
            self.bindings.append(binding)
        else:
            self._free_timer(binding)
        return status

    def _free_timer(self, binding: ClientBinding) -> None:
        if binding.timer is not None:
            self.ndis.NdisCancelTimerObject(binding.timer)
            self.ndis.NdisFreeTimerObject(binding.timer)
            binding.timer = None

    def ProtocolOpenAdapterCompleteEx(
        self, ProtocolBindingContext: ClientBinding, Status: NDIS_STATUS
    ) -> None:
        binding = ProtocolBindingContext
        if Status != NDIS_STATUS_SUCCESS:
            self.bindings.remove(binding)
            self._free_timer(binding)
        assert binding.bind_context is not None
        self.ndis.NdisCompleteBindAdapterEx(binding.bind_context, Status)

    def ProtocolUnbindAdapterEx(
        self, UnbindContext: UnbindContextHandle, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        binding = ProtocolBindingContext
        ndis = self.ndis
        binding.unbinding = True
        binding.unbind_context = UnbindContext
        binding.idle = ndis.NdisInitializeEvent()
        for af in list(binding.afs):
            if af.state == "open":
                self.close_af(af)
        # Completions may come at DISPATCH_LEVEL; wait here, at PASSIVE_LEVEL,
        # until every AF is closed, then close the binding.
        while binding.busy():
            ndis.NdisResetEvent(binding.idle)
            if binding.busy():
                ndis.NdisWaitEvent(binding.idle, 0)
        self._free_timer(binding)
        assert binding.handle is not None
        status = ndis.NdisCloseAdapterEx(binding.handle)
        if status == NDIS_STATUS_PENDING:
            return NDIS_STATUS_PENDING  # finished in ProtocolCloseAdapterCompleteEx
        self._forget(binding)
        return NDIS_STATUS_SUCCESS

    def ProtocolCloseAdapterCompleteEx(self, ProtocolBindingContext: ClientBinding) -> None:
        binding = ProtocolBindingContext
        self._forget(binding)
        assert binding.unbind_context is not None
        self.ndis.NdisCompleteUnbindAdapterEx(binding.unbind_context)

    def _forget(self, binding: ClientBinding) -> None:
        binding.unbound = True
        if binding in self.bindings:
            self.bindings.remove(binding)

    # --- address families -----------------------------------------------------------------------

    def ProtocolCoAfRegisterNotify(
        self, ProtocolBindingContext: ClientBinding, AddressFamily: CO_ADDRESS_FAMILY
    ) -> None:
        binding = ProtocolBindingContext
        binding.offers.append(AddressFamily)
        if self.wanted is not None and AddressFamily.AddressFamily not in self.wanted:
            return  # not for us; NDIS may offer others
        if binding.unbinding:
            return
        assert binding.handle is not None
        af = ClientAf(binding=binding, family=AddressFamily)
        binding.afs.append(af)
        status, handle = self.ndis.NdisClOpenAddressFamilyEx(binding.handle, AddressFamily, af)
        if af.handle is None:
            af.handle = handle
        if status != NDIS_STATUS_PENDING:
            self._open_done(af, handle, status)

    def ProtocolClOpenAfCompleteEx(
        self, ProtocolAfContext: ClientAf, NdisAfHandle: AfHandle | None, Status: NDIS_STATUS
    ) -> None:
        self._open_done(ProtocolAfContext, NdisAfHandle, Status)

    def _open_done(self, af: ClientAf, handle: AfHandle | None, status: NDIS_STATUS) -> None:
        af.last_status = status
        if status != NDIS_STATUS_SUCCESS:
            af.state = "failed"
            af.binding.afs.remove(af)
            self._signal(af.binding)
            return
        af.handle = handle
        af.state = "open"
        if af.binding.unbinding:
            self.close_af(af)
        else:
            # A client that takes incoming calls registers its SAPs now.
            for sap in self.saps.get(af.family.AddressFamily, ()):
                self.register_sap(af, sap)
        self._signal(af.binding)

    # --- SAPs ---------------------------------------------------------------------------------

    def register_sap(self, af: ClientAf, sap: CO_SAP) -> ClientSap:
        """Register a SAP on an open AF to be offered incoming calls on it."""
        assert af.handle is not None and af.state == "open"
        entry = ClientSap(af=af, sap=sap)
        af.saps.append(entry)
        status, handle = self.ndis.NdisClRegisterSap(af.handle, entry, sap)
        if entry.handle is None:
            entry.handle = handle
        if status != NDIS_STATUS_PENDING:
            self._sap_registered(entry, handle, status)
        return entry

    def ProtocolClRegisterSapComplete(
        self,
        Status: NDIS_STATUS,
        ProtocolSapContext: ClientSap,
        Sap: CO_SAP,
        NdisSapHandle: SapHandle | None,
    ) -> None:
        self._sap_registered(ProtocolSapContext, NdisSapHandle, Status)

    def _sap_registered(
        self, entry: ClientSap, handle: SapHandle | None, status: NDIS_STATUS
    ) -> None:
        entry.last_status = status
        if status != NDIS_STATUS_SUCCESS:
            entry.state = "failed"
            entry.af.saps.remove(entry)
        else:
            entry.handle = handle
            entry.state = "registered"
        self._continue_close(entry.af)

    def ProtocolClDeregisterSapComplete(
        self, Status: NDIS_STATUS, ProtocolSapContext: ClientSap
    ) -> None:
        entry = ProtocolSapContext
        entry.last_status = Status
        if Status == NDIS_STATUS_SUCCESS:
            entry.state = "deregistered"
            entry.af.saps.remove(entry)
        else:
            entry.state = "registered"
        self._continue_close(entry.af)

    # --- what an upper layer asks of it (the verify client workload's hooks) -------------------

    def condis_make_call(self, NdisAfHandle: AfHandle, CallParameters: CO_CALL_PARAMETERS) -> None:
        """Make an outgoing call on the open AF of that handle, as TAPI would ask."""
        af = next((a for a in self.afs("open") if a.handle is NdisAfHandle), None)
        if af is not None:
            self.make_call(af, CallParameters)

    def condis_send(self, packets: Sequence[bytes]) -> None:
        """Send `packets` on every outgoing call that is connected."""
        for vc in self._outgoing("connected"):
            self.send(vc, *packets)

    def condis_hang_up(self) -> None:
        """Close every outgoing call that is connected."""
        for vc in self._outgoing("connected"):
            self.close_call(vc)

    def _outgoing(self, state: str) -> list[ClientVc]:
        return [
            vc for af in self.afs("open") for vc in af.vcs if not vc.incoming and vc.call == state
        ]
