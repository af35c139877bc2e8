"""Miniport adapters: bringing a NIC up with MiniportInitializeEx, and down.

Theory of operation (guide/adapter-states-of-a-miniport-driver.md,
nc-ndis-miniport_initialize.md, nc-ndis-miniport_halt.md):

* `Ndis.add_adapter` is the host's Plug and Play start of a NIC. NDIS calls
  the miniport's MiniportInitializeEx at PASSIVE_LEVEL; there the driver
  calls NdisMSetMiniportAttributes (registration attributes carry its
  MiniportAdapterContext) and, if it is an MCM, NdisMCmRegisterAddressFamilyEx
  once per AF. When MiniportInitializeEx returns NDIS_STATUS_SUCCESS the
  adapter is up and NDIS binds every loaded protocol to it, then tells each
  bound CoNDIS protocol about each registered AF (lifecycle.Host runs that
  sequence; bindings.py and af_registration.py do each step).
* `Ndis.halt_adapter` is the host's removal of the NIC (lifecycle.Host again).

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
from typing import Final

import condis.args as args
from condis.constants import NDIS_HALT_ACTION, NDIS_MEDIUM, PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import ddi, handler
from condis.handles import AdapterHandle
from condis.machines import ADAPTER, AdapterInput, AdapterState
from condis.records import Adapter, DriverBlock
from condis.status import NDIS_STATUS, NDIS_STATUS_BAD_VERSION, NDIS_STATUS_SUCCESS
from condis.structs import (
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_MINIPORT_INIT_PARAMETERS,
)

__all__ = ["ADAPTER_TRANSITIONS", "Adapter", "AdapterEngine", "AdapterInput", "AdapterState"]

handler("MiniportInitializeEx", "MiniportHaltEx")


#: The legal rows of the adapter machine, as (state, input) -> next state.
ADAPTER_TRANSITIONS: Final[Mapping[tuple[AdapterState, AdapterInput], AdapterState]] = (
    ADAPTER.targets()
)


class AdapterEngine(Engine):
    """The adapters: MiniportInitializeEx and MiniportHaltEx, and NdisMSetMiniportAttributes.

    When each is called, and what follows, is the host's (lifecycle.py).
    """

    __slots__ = ("_adapters",)

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._adapters: dict[str, Adapter] = {}

    def invariants(self) -> Iterator[str]:
        for adapter in self._adapters.values():
            if adapter.state is AdapterState.RUNNING and not self.k.handles.is_live(adapter.handle):
                yield f"adapter {adapter.name} is running but its handle is closed"
            for binding in adapter.bindings:
                if binding.adapter is not adapter:
                    yield f"adapter {adapter.name} lists a binding of {binding.adapter.name}"

    @property
    def adapters(self) -> tuple[Adapter, ...]:
        """Every adapter that is up or on its way up or down, in start order."""
        return tuple(a for a in self._adapters.values() if a.state is not AdapterState.HALTED)

    @property
    def history(self) -> tuple[Adapter, ...]:
        """Every adapter ever started, by name (the last one of each name)."""
        return tuple(self._adapters.values())

    def adapter(self, name: str) -> Adapter:
        """The adapter called `name` (up or not)."""
        try:
            return self._adapters[name]
        except KeyError:
            raise KeyError(f"no adapter named {name!r}") from None

    def default_name(self, block: DriverBlock) -> str:
        """The name a new adapter of miniport `block` gets when the host gives none."""
        return f"{block.name}{sum(a.driver is block for a in self._adapters.values())}"

    def initialize(self, block: DriverBlock, name: str, medium: NDIS_MEDIUM) -> Adapter:
        """A new adapter of `block`: NDIS calls MiniportInitializeEx; the adapter's state
        says how it went (RUNNING, or HALTED with its handle still to close)."""
        existing = self._adapters.get(name)
        if existing is not None and existing.state is not AdapterState.HALTED:
            raise ValueError(f"add_adapter: adapter {name!r} is already up")
        handle = self.k.handles.issue(AdapterHandle, None)
        adapter = Adapter(name=name, driver=block, handle=handle, medium=medium)
        self.k.handles.attach(handle, adapter)
        self._adapters[name] = adapter
        adapter.move(AdapterInput.INITIALIZE)
        params = NDIS_MINIPORT_INIT_PARAMETERS(AdapterName=name, MediaType=medium)
        assert block.miniport_chars is not None
        status = self.k.call_status(
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
        else:
            adapter.move(AdapterInput.INIT_SUCCEEDED)
        return adapter

    def halt(self, adapter: Adapter, action: NDIS_HALT_ACTION) -> None:
        """NDIS calls MiniportHaltEx."""
        assert adapter.driver.miniport_chars is not None
        self.k.call_void(
            adapter.driver,
            "MiniportHaltEx",
            adapter.driver.miniport_chars.HaltHandlerEx,
            adapter.context,
            action,
            handle=adapter.handle,
            irql=PASSIVE_LEVEL,
        )

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
        args.header(name, "MiniportAttributes", MiniportAttributes)
        adapter = self.resolve.adapter(name, NdisMiniportHandle, "NdisMiniportHandle")
        if adapter is None:
            return NDIS_STATUS_BAD_VERSION
        with self.k.begin(name, adapter.driver, handle=NdisMiniportHandle) as call:
            if MiniportAttributes.Header.Revision != 1:
                return call.status(NDIS_STATUS_BAD_VERSION)
            if isinstance(MiniportAttributes, NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES):
                adapter.context = MiniportAttributes.MiniportAdapterContext
            else:
                adapter.general = MiniportAttributes
            return call.status(NDIS_STATUS_SUCCESS)
