"""Address-family offers: a call manager registers an AF type on a NIC.

Theory of operation (guide/registering-and-opening-an-address-family.md,
nf-ndis-ndismcmregisteraddressfamilyex.md, nf-ndis-ndiscmregisteraddressfamilyex.md).

An `AfRegistration` is a call manager's offer of one AF type on one NIC: an
MCM makes it with NdisMCmRegisterAddressFamilyEx from MiniportInitializeEx,
a stand-alone call manager with NdisCmRegisterAddressFamilyEx on a binding.
Only one call manager may offer a given AF type on a NIC; an MCM's offer
displaces a stand-alone call manager's offer of the same type. NDIS announces
each offer to each bound CoNDIS protocol once, with ProtocolCoAfRegisterNotify
at PASSIVE_LEVEL: after MiniportInitializeEx has returned and the protocol's
bind has completed, after the call manager's own bind has completed, or,
when the offer is made later, from NDIS work queued by the DDI (it runs
when the scheduler next runs).

Choices the pages leave open, and what condis does:

* ProtocolCoAfRegisterNotify goes to every bound CoNDIS protocol except the
  call manager that made the offer; a call manager's ProtocolCoAfRegisterNotify
  "simply returns control", as its page says.
* A displaced offer takes no new opens; AFs already open on it stay open.
"""

from __future__ import annotations

from collections.abc import Iterator

import condis.args as args
from condis.constants import PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import ddi
from condis.handles import AdapterHandle, BindingHandle
from condis.machines import (
    ADAPTER,
    BINDING,
    BINDING_OPEN,
    AdapterInput,
    BindingInput,
    BindingState,
    OpenInput,
)
from condis.records import Adapter, AfRegistration, Binding
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_ADDRESS_FAMILY

__all__ = ["AfRegistration", "AfRegistry"]


class AfRegistry(Engine):
    """Call managers' AF offers and their announcement to bound protocols."""

    __slots__ = ("_registrations",)

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._registrations: list[AfRegistration] = []

    def invariants(self) -> Iterator[str]:
        for reg in self._registrations:
            listed = reg in reg.adapter.registrations
            if reg.withdrawn == listed:
                state = "withdrawn" if reg.withdrawn else "live"
                yield (
                    f"the offer of AF {reg.family.AddressFamily:#x} by {reg.cm.name} is {state} "
                    f"but {'still' if listed else 'not'} listed on {reg.adapter.name}"
                )

    @property
    def registrations(self) -> tuple[AfRegistration, ...]:
        """Every AF offer that is live, in registration order."""
        return tuple(r for r in self._registrations if r.live)

    @property
    def history(self) -> tuple[AfRegistration, ...]:
        """Every AF offer ever made, live or withdrawn, in registration order."""
        return tuple(self._registrations)

    # --- announcing offers -----------------------------------------------------------------

    def announce(self, reg: AfRegistration) -> None:
        """Tell every bound CoNDIS protocol on the adapter about `reg`."""
        if reg.withdrawn:
            return
        reg.announced = True
        for binding in list(reg.adapter.bindings):
            self._notify_offer(binding, reg)

    def _notify_offer(self, binding: Binding, reg: AfRegistration) -> None:
        if (
            reg.withdrawn
            or binding is reg.binding
            or binding in reg.notified
            or binding.state is not BindingState.RUNNING
        ):
            return
        co = binding.co_handlers
        if co is None or co.CoAfRegisterNotifyHandler is None:
            return
        reg.notified.append(binding)
        self.k.call_void(
            binding.protocol,
            "ProtocolCoAfRegisterNotify",
            co.CoAfRegisterNotifyHandler,
            binding.context,
            reg.family,
            handle=binding.handle,
            irql=PASSIVE_LEVEL,
        )

    def adapter_started(self, adapter: Adapter) -> None:
        """MiniportInitializeEx succeeded: the offers made in it are announced, to each
        protocol as its bind completes."""
        for reg in adapter.registrations:
            reg.announced = True

    def binding_bound(self, binding: Binding) -> None:
        """A bind completed: the protocol hears of the adapter's announced offers, and a
        call manager's own offers made during its bind are announced."""
        for reg in list(binding.adapter.registrations):
            if reg.announced and reg.binding is not binding:
                self._notify_offer(binding, reg)
        for reg in list(binding.registrations):
            if not reg.announced:
                self.announce(reg)

    def withdraw(self, reg: AfRegistration) -> None:
        reg.withdrawn = True
        if reg in reg.adapter.registrations:
            reg.adapter.registrations.remove(reg)

    def adapter_init_failed(self, adapter: Adapter) -> None:
        """MiniportInitializeEx failed: the offers made in it go."""
        for reg in list(adapter.registrations):
            self.withdraw(reg)

    # --- registration ----------------------------------------------------------------------

    @ddi("NdisMCmRegisterAddressFamilyEx")
    def NdisMCmRegisterAddressFamilyEx(
        self, MiniportAdapterHandle: AdapterHandle, AddressFamily: CO_ADDRESS_FAMILY
    ) -> NDIS_STATUS:
        """An MCM offers an AF on its adapter (nf-ndis-ndismcmregisteraddressfamilyex).

        Returns SUCCESS; FAILURE when the caller did not register as a CoNDIS
        miniport with call-manager handlers, when the adapter already has an
        MCM offer of this AF type, or when the adapter is halting; RESOURCES
        when NDIS cannot allocate its tracking state.
        """
        name = "NdisMCmRegisterAddressFamilyEx"
        family = args.family(name, AddressFamily)
        adapter = self.resolve.adapter(name, MiniportAdapterHandle)
        if adapter is None:
            return NDIS_STATUS_FAILURE
        with self.k.begin(name, adapter.driver, handle=MiniportAdapterHandle) as call:
            if not adapter.driver.is_mcm:
                return call.status(NDIS_STATUS_FAILURE)
            if ADAPTER.guard(adapter.state, AdapterInput.REGISTER_AF).refused:
                return call.status(NDIS_STATUS_FAILURE)
            for reg in adapter.registrations:
                if reg.is_mcm and reg.family.AddressFamily == family.AddressFamily:
                    return call.status(NDIS_STATUS_FAILURE)
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES)
            for reg in list(adapter.registrations):
                if reg.family.AddressFamily == family.AddressFamily:
                    reg.displaced = True
                    self.withdraw(reg)
            reg = AfRegistration(family=family, adapter=adapter, cm=adapter.driver, binding=None)
            self._registrations.append(reg)
            adapter.registrations.append(reg)
            if adapter.is_up:
                self.k.defer("NDIS announces an address family", lambda: self.announce(reg))
            return call.status(NDIS_STATUS_SUCCESS)

    @ddi("NdisCmRegisterAddressFamilyEx")
    def NdisCmRegisterAddressFamilyEx(
        self, NdisBindingHandle: BindingHandle, AddressFamily: CO_ADDRESS_FAMILY
    ) -> NDIS_STATUS:
        """A stand-alone call manager offers an AF on a binding.

        (nf-ndis-ndiscmregisteraddressfamilyex) Returns SUCCESS; FAILURE when
        the caller is not a CoNDIS call manager, the adapter's miniport is not
        a CoNDIS miniport, another call manager (or an MCM) already offers this
        AF type on the adapter, or the binding is closing; RESOURCES when NDIS
        cannot allocate.
        """
        name = "NdisCmRegisterAddressFamilyEx"
        family = args.family(name, AddressFamily)
        binding = self.resolve.binding(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE
        with self.k.begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            if not binding.is_call_manager or binding.co_handlers is None:
                return call.status(NDIS_STATUS_FAILURE)
            if not binding.adapter.driver.is_co_miniport:
                return call.status(NDIS_STATUS_FAILURE)
            if (
                BINDING.guard(binding.state, BindingInput.REGISTER_AF).refused
                or BINDING_OPEN.guard(binding.open_state, OpenInput.REGISTER_AF).refused
            ):
                return call.status(NDIS_STATUS_FAILURE)
            for reg in binding.adapter.registrations:
                if reg.family.AddressFamily == family.AddressFamily:
                    return call.status(NDIS_STATUS_FAILURE)
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES)
            reg = AfRegistration(
                family=family, adapter=binding.adapter, cm=binding.protocol, binding=binding
            )
            self._registrations.append(reg)
            binding.adapter.registrations.append(reg)
            binding.registrations.append(reg)
            if binding.state is BindingState.RUNNING:
                self.k.defer("NDIS announces an address family", lambda: self.announce(reg))
            return call.status(NDIS_STATUS_SUCCESS)
