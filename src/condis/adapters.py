"""Miniport adapters: bringing a NIC up with MiniportInitializeEx, and down.

Theory of operation (guide/adapter-states-of-a-miniport-driver.md,
nc-ndis-miniport_initialize.md, nc-ndis-miniport_halt.md):

* `Ndis.add_adapter` is the host's Plug and Play start of a NIC. NDIS calls
  the miniport's MiniportInitializeEx at PASSIVE_LEVEL; there the driver
  calls NdisMSetMiniportAttributes (registration attributes carry its
  MiniportAdapterContext) and, if it is an MCM, NdisMCmRegisterAddressFamilyEx
  once per AF. When MiniportInitializeEx returns NDIS_STATUS_SUCCESS the
  adapter is up and NDIS binds every loaded protocol to it, then tells each
  bound CoNDIS protocol about each registered AF (bindings.py, af.py).
* `Ndis.halt_adapter` is the host's removal of the NIC.

Choices the pages leave open:

* MiniportPause and MiniportRestart are outside the CoNDIS pages; condis
  restarts an adapter as soon as it initializes, so the adapter table has
  HALTED, INITIALIZING, RUNNING and HALTING only.
* Halt order. NDIS 6 in general unbinds every protocol before it halts a
  miniport. The CoNDIS pages, however, have an MCM close its clients' AFs
  from MiniportHaltEx with NdisMCmNotifyCloseAddressFamily, which needs the
  clients still bound (closing-a-condis-call-manager-or-mcm.md,
  nf-ndis-ndismcmnotifycloseaddressfamily.md). condis follows the CoNDIS
  pages: for an MCM's adapter NDIS calls MiniportHaltEx first and unbinds the
  protocols afterwards; for any other miniport NDIS unbinds the protocols
  first (stand-alone call managers before clients, so a call manager's
  unbind can ask its clients to close their AFs) and then calls
  MiniportHaltEx. Either way, when MiniportHaltEx returns, every AF on the
  adapter must be closed and no operation of it pending
  (CoNdisAfOpenOnTeardown, CoNdisPendingOnTeardown), and every work item and
  timer allocated with the adapter handle must be freed (NdisWorkItemLeak,
  NdisTimerLeak).
* A failed MiniportInitializeEx discards the AFs the MCM registered in it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from condis.constants import NDIS_HALT_ACTION, NDIS_MEDIUM, PASSIVE_LEVEL
from condis.crossing import ddi, handler
from condis.drivers import DriverBlock, DriverKind, DriverMixin
from condis.handles import AdapterHandle
from condis.machines import ADAPTER, AdapterInput, AdapterState
from condis.records import Adapter
from condis.status import NDIS_STATUS, NDIS_STATUS_BAD_VERSION, NDIS_STATUS_SUCCESS
from condis.structs import (
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_MINIPORT_INIT_PARAMETERS,
)

__all__ = ["ADAPTER_TRANSITIONS", "Adapter", "AdapterInput", "AdapterMixin", "AdapterState"]

handler("MiniportInitializeEx", "MiniportHaltEx")


#: The legal rows of the adapter machine, as (state, input) -> next state.
ADAPTER_TRANSITIONS: Final[Mapping[tuple[AdapterState, AdapterInput], AdapterState]] = (
    ADAPTER.targets()
)


class AdapterMixin(DriverMixin):
    """Adapters: PnP start and removal, and NdisMSetMiniportAttributes."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._adapters: dict[str, Adapter] = {}

    def _invariants(self) -> Iterator[str]:
        yield from super()._invariants()
        for adapter in self._adapters.values():
            if adapter.state is AdapterState.RUNNING and not self.handles.is_live(adapter.handle):
                yield f"adapter {adapter.name} is running but its handle is closed"
            for binding in adapter.bindings:
                if binding.adapter is not adapter:
                    yield f"adapter {adapter.name} lists a binding of {binding.adapter.name}"

    @property
    def adapters(self) -> tuple[Adapter, ...]:
        """Every adapter that is up or on its way up or down, in start order."""
        return tuple(a for a in self._adapters.values() if a.state is not AdapterState.HALTED)

    def adapter(self, name: str) -> Adapter:
        """The adapter called `name` (up or not)."""
        try:
            return self._adapters[name]
        except KeyError:
            raise KeyError(f"no adapter named {name!r}") from None

    # --- host side: PnP start -------------------------------------------------------

    def add_adapter(
        self,
        driver: DriverBlock | str,
        name: str | None = None,
        *,
        medium: NDIS_MEDIUM = NDIS_MEDIUM.NdisMediumAtm,
    ) -> Adapter:
        """Start a NIC driven by miniport `driver`: MiniportInitializeEx, then binding.

        Returns the adapter; its `state` says whether initialization worked.
        """
        self._check_alive()
        block = self.driver(driver) if isinstance(driver, str) else driver
        if not isinstance(block, DriverBlock):
            raise TypeError(
                "add_adapter: driver must be a DriverBlock or a driver name, "
                f"not {type(driver).__name__}"
            )
        if block.kind is not DriverKind.MINIPORT:
            raise ValueError(f"add_adapter: {block.name} did not register as a miniport driver")
        if not isinstance(medium, NDIS_MEDIUM):
            raise TypeError(
                f"add_adapter: medium must be an NDIS_MEDIUM, not {type(medium).__name__}"
            )
        name = name or f"{block.name}{sum(a.driver is block for a in self._adapters.values())}"
        existing = self._adapters.get(name)
        if existing is not None and existing.state is not AdapterState.HALTED:
            raise ValueError(f"add_adapter: adapter {name!r} is already up")
        handle = self.handles.issue(AdapterHandle, None)
        adapter = Adapter(name=name, driver=block, handle=handle, medium=medium)
        self.handles.attach(handle, adapter)
        self._adapters[name] = adapter
        adapter.move(AdapterInput.INITIALIZE)
        params = NDIS_MINIPORT_INIT_PARAMETERS(AdapterName=name, MediaType=medium)
        assert block.miniport_chars is not None
        status = self._call_status(
            block,
            "MiniportInitializeEx",
            block.miniport_chars.InitializeHandlerEx,
            adapter.handle,
            block.context,
            params,
            handle=adapter.handle,
            irql=PASSIVE_LEVEL,
        )
        if status != NDIS_STATUS_SUCCESS:
            adapter.move(AdapterInput.INIT_FAILED)
            self._adapter_init_failed(adapter)
            self._check_adapter_resources(adapter, "MiniportInitializeEx")
            self.handles.close(adapter.handle)
            return adapter
        adapter.move(AdapterInput.INIT_SUCCEEDED)
        self._adapter_started(adapter)
        return adapter

    # --- host side: removal -----------------------------------------------------------

    def shutdown(self) -> None:
        """Shut the host down: run what is pending, halt every adapter still up, run again.

        As at system shutdown, each halt unbinds the adapter's protocols first
        (see the module docstring), so every driver gets its chance to
        release what it holds; `leaks()` afterwards lists what none did.
        """
        self._check_alive()
        self.run()
        for adapter in list(self.adapters):
            if adapter.is_up:
                self.halt_adapter(adapter)
                self.run()

    def halt_adapter(
        self,
        adapter: Adapter | str,
        HaltAction: NDIS_HALT_ACTION = NDIS_HALT_ACTION.NdisHaltDeviceDisabled,
    ) -> None:
        """Remove a NIC: unbind its protocols and call MiniportHaltEx (see module docstring)."""
        self._check_alive()
        target = self.adapter(adapter) if isinstance(adapter, str) else adapter
        if not isinstance(target, Adapter):
            raise TypeError(
                f"halt_adapter: adapter must be an Adapter or a name, not {type(adapter).__name__}"
            )
        if not isinstance(HaltAction, NDIS_HALT_ACTION):
            raise TypeError("halt_adapter: HaltAction must be an NDIS_HALT_ACTION")
        if target.state is not AdapterState.RUNNING:
            raise ValueError(
                f"halt_adapter: adapter {target.name} is {target.state.value}, not running"
            )
        target.move(AdapterInput.HALT)
        if target.driver.is_mcm:
            self._call_halt(target, HaltAction)
            # Check the AFs when MiniportHaltEx returns, before the clients' unbind
            # could close what the MCM left open.
            self._adapter_halted(target)
            self._unbind_all(target)
        else:
            self._unbind_all(target)
            self._call_halt(target, HaltAction)
            self._adapter_halted(target)
        self._check_adapter_resources(target, "MiniportHaltEx")
        target.move(AdapterInput.HALTED)
        self.handles.close(target.handle)

    def _call_halt(self, adapter: Adapter, action: NDIS_HALT_ACTION) -> None:
        assert adapter.driver.miniport_chars is not None
        self._call_void(
            adapter.driver,
            "MiniportHaltEx",
            adapter.driver.miniport_chars.HaltHandlerEx,
            adapter.context,
            action,
            handle=adapter.handle,
            irql=PASSIVE_LEVEL,
        )

    # --- hooks other entities fill in ------------------------------------------------

    def _adapter_started(self, adapter: Adapter) -> None:
        """Hook: the adapter is up (bindings.py binds protocols to it)."""

    def _adapter_init_failed(self, adapter: Adapter) -> None:
        """Hook: MiniportInitializeEx failed (af.py drops its registrations)."""

    def _unbind_all(self, adapter: Adapter) -> None:
        """Hook: unbind every protocol from the adapter (bindings.py)."""

    def _adapter_halted(self, adapter: Adapter) -> None:
        """Hook: MiniportHaltEx returned (af.py checks AFs and pending operations)."""

    def _check_adapter_resources(self, adapter: Adapter, where: str) -> None:
        """Hook: check work items and timers allocated with the adapter handle."""

    def _adapter_for(self, ddi_name: str, handle: object) -> Adapter | None:
        obj = self._resolve(ddi_name, "MiniportAdapterHandle", handle, AdapterHandle)
        return obj if isinstance(obj, Adapter) else None

    # --- DDIs ---------------------------------------------------------------------------

    @ddi("NdisMSetMiniportAttributes")
    def NdisMSetMiniportAttributes(
        self, NdisMiniportHandle: AdapterHandle, MiniportAttributes: object
    ) -> NDIS_STATUS:
        """Give NDIS the adapter's attributes (nf-ndis-ndismsetminiportattributes).

        Registration attributes set the MiniportAdapterContext that NDIS passes
        to the miniport's handlers (and, for an MCM, to ProtocolCmOpenAf as
        CallMgrBindingContext). Returns SUCCESS, or BAD_VERSION when the
        header revision is not NDIS_OBJECT_REVISION_1.
        """
        name = "NdisMSetMiniportAttributes"
        if not isinstance(
            MiniportAttributes,
            NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES
            | NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
        ):
            raise TypeError(
                f"{name}: MiniportAttributes must be NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES "
                "or NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, "
                f"not {type(MiniportAttributes).__name__}"
            )
        adapter = self._adapter_for(name, NdisMiniportHandle)
        if adapter is None:
            return NDIS_STATUS_BAD_VERSION
        with self._begin(name, adapter.driver, handle=NdisMiniportHandle) as call:
            if MiniportAttributes.Header.Revision != 1:
                return call.status(NDIS_STATUS_BAD_VERSION)
            if isinstance(MiniportAttributes, NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES):
                adapter.context = MiniportAttributes.MiniportAdapterContext
            else:
                adapter.general = MiniportAttributes
            return call.status(NDIS_STATUS_SUCCESS)
