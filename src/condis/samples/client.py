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

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from condis.driver import ProtocolDriver
from condis.handles import AfHandle, BindContextHandle, BindingHandle, UnbindContextHandle
from condis.spinlocks import NDIS_EVENT
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_UNSUPPORTED_MEDIA,
)
from condis.structs import CO_ADDRESS_FAMILY, NDIS_BIND_PARAMETERS, NDIS_OPEN_PARAMETERS

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["ClientAf", "ClientBinding", "SampleClient"]


@dataclass(eq=False)
class ClientAf:
    """ClientAfContext: the client's state for one open AF."""

    binding: ClientBinding
    family: CO_ADDRESS_FAMILY
    handle: AfHandle | None = None
    state: str = "opening"  # opening, open, closing, closed, failed
    notify_pending: bool = False
    last_status: NDIS_STATUS | None = None


@dataclass(eq=False)
class ClientBinding:
    """ProtocolBindingContext: the client's state for one binding."""

    adapter_name: str
    handle: BindingHandle | None = None
    bind_context: BindContextHandle | None = None
    unbind_context: UnbindContextHandle | None = None
    afs: list[ClientAf] = field(default_factory=list)
    offers: list[CO_ADDRESS_FAMILY] = field(default_factory=list)
    idle: NDIS_EVENT | None = None
    unbinding: bool = False
    unbound: bool = False

    def busy(self) -> bool:
        return any(af.state in ("opening", "closing") for af in self.afs)


class SampleClient(ProtocolDriver):
    """A CoNDIS client (see the module docstring)."""

    def __init__(self, ndis: Ndis, *, address_families: Iterable[int] | None = None) -> None:
        super().__init__(ndis)
        #: AF types to open when offered; None opens every offer
        self.wanted = None if address_families is None else frozenset(address_families)
        self.bindings: list[ClientBinding] = []

    # --- queries for tests and tools -------------------------------------------------------

    def afs(self, state: str | None = None) -> list[ClientAf]:
        return [af for b in self.bindings for af in b.afs if state is None or af.state == state]

    # --- binding ------------------------------------------------------------------------------

    def ProtocolBindAdapterEx(
        self, ProtocolDriverContext: object, BindContext: BindContextHandle, BindParameters: NDIS_BIND_PARAMETERS
    ) -> NDIS_STATUS:
        if not BindParameters.ConnectionOriented:
            return NDIS_STATUS_UNSUPPORTED_MEDIA  # a CoNDIS client binds to CoNDIS miniports only
        assert self.driver_handle is not None
        binding = ClientBinding(adapter_name=BindParameters.AdapterName, bind_context=BindContext)
        params = NDIS_OPEN_PARAMETERS(
            AdapterName=BindParameters.AdapterName, MediumArray=[BindParameters.MediaType]
        )
        status, handle = self.ndis.NdisOpenAdapterEx(self.driver_handle, binding, params, BindContext)
        binding.handle = handle
        if status == NDIS_STATUS_PENDING:
            # The handle may not be used until ProtocolOpenAdapterCompleteEx.
            self.bindings.append(binding)
            return NDIS_STATUS_PENDING
        if status == NDIS_STATUS_SUCCESS:
            self.bindings.append(binding)
        return status

    def ProtocolOpenAdapterCompleteEx(self, ProtocolBindingContext: ClientBinding, Status: NDIS_STATUS) -> None:
        binding = ProtocolBindingContext
        if Status != NDIS_STATUS_SUCCESS:
            self.bindings.remove(binding)
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
        self._signal(af.binding)

    def close_af(self, af: ClientAf) -> NDIS_STATUS:
        """Close one open AF (the client's own decision, or on request)."""
        assert af.handle is not None and af.state == "open"
        af.state = "closing"
        status = self.ndis.NdisClCloseAddressFamily(af.handle)
        if status != NDIS_STATUS_PENDING:
            self._close_done(af, status, completion=False)
        return status

    def ProtocolClCloseAfComplete(self, Status: NDIS_STATUS, ProtocolAfContext: ClientAf) -> None:
        self._close_done(ProtocolAfContext, Status, completion=True)

    def _close_done(self, af: ClientAf, status: NDIS_STATUS, *, completion: bool) -> None:
        af.last_status = status
        if status == NDIS_STATUS_SUCCESS:
            af.state = "closed"
            af.binding.afs.remove(af)
        else:
            af.state = "open"  # the call manager refused; the AF stays usable
        if af.notify_pending and completion:
            # The close that a ProtocolClNotifyCloseAf pended has finished.
            af.notify_pending = False
            assert af.handle is not None
            self.ndis.NdisClNotifyCloseAddressFamilyComplete(af.handle, status)
        self._signal(af.binding)

    def ProtocolClNotifyCloseAf(self, ProtocolAfContext: ClientAf) -> NDIS_STATUS:
        af = ProtocolAfContext
        if af.state == "closing":
            af.notify_pending = True  # already closing: report when the close completes
            return NDIS_STATUS_PENDING
        # Mark the notification pending before closing: the close may complete
        # before NdisClCloseAddressFamily even returns.
        af.notify_pending = True
        status = self.close_af(af)
        if status == NDIS_STATUS_PENDING:
            return NDIS_STATUS_PENDING
        af.notify_pending = False
        return status

    def _signal(self, binding: ClientBinding) -> None:
        if binding.idle is not None:
            self.ndis.NdisSetEvent(binding.idle)
