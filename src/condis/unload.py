"""Unloading a driver: its unload routine and the deregistration DDIs.

Pages (WDK ndis.h, outside spec/INDEX.md): nf-ndis-ndisderegisterprotocoldriver,
nf-ndis-ndismderegisterminiportdriver, nc-ndis-miniport_unload and "Unloading
a Miniport Driver"; rules/bug-check-0xc4 (Parameter 1 0x62) for what a driver
leaves behind.

Theory of operation:

* `Ndis.unload_driver(name)` plays the I/O manager. The system unloads a
  miniport only once every device it services has been removed, so condis
  first halts each of its adapters that is still up (`halt_adapter`, which
  unbinds their protocols first). NDIS's Unload routine then calls the
  miniport's MiniportDriverUnload(DriverObject) at PASSIVE_LEVEL, where the
  driver must call NdisMDeregisterMiniportDriver.
* A protocol's unload routine is its own (the DriverUnload it sets in its
  DRIVER_OBJECT; in condis the driver object's `DriverUnload` method, as
  `DriverEntry` is). It calls NdisDeregisterProtocolDriver, within which
  NDIS calls ProtocolUnbindAdapterEx once per open binding and waits for
  each unbind to finish before releasing the registration.
* When the unload routine returns, everything the driver still holds through
  NDIS (`Ndis.leaks()`: its registration, timers and work items allocated
  with its driver handle, locks, AFs...) is reported, one violation per
  leak no earlier violation named, under NdisDriverUnloadLeak:
  Driver Verifier's 0xC4 with Parameter 1 0x62, "the driver is unloading
  without first freeing its pool allocations". The driver is then gone:
  its handles are stale, its name may be loaded again, and a timer or work
  item it left queued is withdrawn unrun (on Windows it would run into
  unloaded code).

Choices the pages leave open, and what condis does:

* A driver with no unload routine cannot be unloaded (the I/O manager does
  not unload a driver whose DriverUnload is NULL): `unload_driver` raises
  ValueError and changes nothing.
* The deregistration DDIs belong in DriverEntry (after a failure) and in the
  unload routine. The protocol page warns that calling
  NdisDeregisterProtocolDriver from an entry point NDIS calls "could cause a
  deadlock", and the miniport page names only those two places. A call from
  anywhere else breaks NdisDeregisterContext and is refused.
* NdisDeregisterProtocolDriver waits for binds in progress to finish and
  then unbinds them. If a bind or unbind never finishes, neither does the
  deregistration nor the unload: the driver stays loaded, and the hang is
  reported as NdisWatchdog or, with the watchdog off, CoNdisPendingOnTeardown.
* A DriverEntry that fails after registering must deregister before it
  returns; one that does not is reported when it returns (drivers.py).
"""

from __future__ import annotations

import re

from condis.adapters import AdapterEngine
from condis.audit import Audit
from condis.bindings import BindingEngine, BindingState
from condis.catalogue import IrqlRequirement
from condis.constants import NDIS_HALT_ACTION, PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import ddi, handler
from condis.drivers import DriverEngine
from condis.handles import DriverHandle
from condis.lifecycle import Host
from condis.records import DriverBlock, DriverKind
from condis.structs import Handler

__all__ = ["Unloader"]

handler("MiniportDriverUnload", "DriverUnload")

_PASSIVE = IrqlRequirement(relation="==", level=PASSIVE_LEVEL, text="PASSIVE_LEVEL")
#: the frames a driver may deregister from
_DEREGISTER_FROM = frozenset({"DriverEntry", "DriverUnload", "MiniportDriverUnload"})


class Unloader(Engine):
    """`unload_driver` and the two deregistration DDIs."""

    __slots__ = ("_adapters", "_audit", "_bindings", "_drivers", "_host", "_stuck")

    def __init__(
        self,
        core: Core,
        drivers: DriverEngine,
        adapters: AdapterEngine,
        bindings: BindingEngine,
        host: Host,
        audit: Audit,
    ) -> None:
        super().__init__(core)
        self._drivers = drivers
        self._adapters = adapters
        self._bindings = bindings
        self._host = host
        self._audit = audit
        #: drivers whose deregistration waits for a binding that never finishes
        self._stuck: set[str] = set()

    # --- host side -------------------------------------------------------------

    def unload_driver(self, name: str) -> None:
        """Unload the driver called `name`: halt its adapters, run its unload routine,
        report what it left behind (module docstring)."""
        self.k.check_alive()
        block = self._drivers.driver(name)
        if self.k.frames:
            raise ValueError("unload_driver: the host unloads drivers, not driver code")
        routine = self._unload_routine(block)
        label = "MiniportDriverUnload" if block.kind is DriverKind.MINIPORT else "DriverUnload"
        if routine is None:
            raise ValueError(f"unload_driver: {name} has no unload routine ({label})")
        if block.kind is DriverKind.MINIPORT:
            for adapter in list(self._adapters.adapters):
                if adapter.driver is block and adapter.is_up:
                    self._host.halt_adapter(adapter, NDIS_HALT_ACTION.NdisHaltDeviceDisabled)
                    self.k.run()
        self.k.call_void(block, label, routine, block.driver_object, irql=PASSIVE_LEVEL)
        if block.name in self._stuck:
            return  # the unload never finishes: NDIS still waits for a binding
        for leak in self._audit.leaks():
            if leak.driver == block.name and not self._reported(leak.label):
                self.k.violation(
                    "NdisDriverUnloadLeak",
                    ddi=label,
                    driver=block,
                    detail=f"unloading without freeing {leak.describe()}",
                )
        if block.handle is not None and self.k.handles.is_live(block.handle):
            self.k.violation(
                "NdisDriverUnloadLeak",
                ddi=label,
                driver=block,
                handle=block.handle,
                detail=f"unloading without calling {block.deregistration}",
            )
            self.k.handles.close(block.handle)
        block.loaded = False
        self._host.driver_unloaded(block)

    def _reported(self, label: str) -> bool:
        """Each leak is reported once: what a violation already named is not repeated."""
        named = re.compile(re.escape(label) + r"(?!\d)")
        violations = self.k.verifier.violations
        return any(v.handle == label or named.search(v.detail) for v in violations)

    def unload_all(self) -> None:
        """Unload every loaded driver that has an unload routine, last loaded first.

        After `shutdown()`, this is the end of a run: what a driver still holds
        is then reported (NdisDriverUnloadLeak). A driver with no unload
        routine stays loaded, as the I/O manager would leave it.
        """
        self.k.check_alive()
        for block in reversed(self._drivers.drivers):
            if self._unload_routine(block) is not None:
                self.unload_driver(block.name)

    @staticmethod
    def _unload_routine(block: DriverBlock) -> Handler | None:
        if block.kind is DriverKind.MINIPORT:
            chars = block.miniport_chars
            return None if chars is None else chars.UnloadHandler
        routine = getattr(block.code, "DriverUnload", None)
        return routine if callable(routine) else None

    # --- DDIs ----------------------------------------------------------------------

    @ddi("NdisMDeregisterMiniportDriver")
    def NdisMDeregisterMiniportDriver(self, NdisMiniportDriverHandle: DriverHandle) -> None:
        """Release a miniport driver's registration (nf-ndis-ndismderegisterminiportdriver).

        Called from MiniportDriverUnload, or from DriverEntry after a failure
        that followed a successful NdisMRegisterMiniportDriver.
        """
        self._deregister(
            "NdisMDeregisterMiniportDriver",
            "NdisMiniportDriverHandle",
            NdisMiniportDriverHandle,
            DriverKind.MINIPORT,
            "Irql_Miniport_Driver_Function",
        )

    @ddi("NdisDeregisterProtocolDriver")
    def NdisDeregisterProtocolDriver(self, NdisProtocolHandle: DriverHandle) -> None:
        """Release a protocol driver's registration (nf-ndis-ndisderegisterprotocoldriver).

        NDIS first unbinds every open binding of the protocol, calling its
        ProtocolUnbindAdapterEx within this call, and waits for each unbind.
        """
        self._deregister(
            "NdisDeregisterProtocolDriver",
            "NdisProtocolHandle",
            NdisProtocolHandle,
            DriverKind.PROTOCOL,
            "Irql_Protocol_Driver_Function",
        )

    def _deregister(
        self, name: str, param: str, handle: object, kind: DriverKind, irql_rule: str
    ) -> None:
        block = self.resolve.driver(name, param, handle)
        if block is None:
            return None
        if block.kind is not kind:
            raise ValueError(
                f"{name}: {param} must be the handle of a {kind.value} driver, "
                f"not of the {block.kind.value} driver {block.name}"
            )
        with self.k.begin(name, block, handle=block.handle, irql=_PASSIVE, rule=irql_rule) as c:
            where = self.k.frames[-1].name
            if where not in _DEREGISTER_FROM:
                self.k.violation(
                    "NdisDeregisterContext",
                    refused=True,
                    ddi=name,
                    driver=block,
                    handle=block.handle,
                    detail=f"called from {where}; a driver deregisters only from DriverEntry "
                    "or its unload routine",
                )
                return c.void()
            if kind is DriverKind.PROTOCOL and not self._unbind_protocol(block, name):
                return c.void()
            assert block.handle is not None
            self.k.handles.close(block.handle)
            return c.void()

    def _unbind_protocol(self, block: DriverBlock, ddi_name: str) -> bool:
        """Unbind every binding of `block`, waiting for each; False if one never finishes."""
        for binding in [b for b in self._bindings.bindings if b.protocol is block]:
            if self.k.drive(lambda: binding.state is not BindingState.OPENING):  # noqa: B023
                if binding.state is BindingState.RUNNING:
                    self._bindings.unbind(binding)
                if self.k.drive(lambda: binding.state is BindingState.UNBOUND):  # noqa: B023
                    continue
            self._stuck.add(block.name)
            if self.k.watchdog_ms is None:  # else NdisWatchdog has reported the hang
                self.k.violation(
                    "CoNdisPendingOnTeardown",
                    ddi=ddi_name,
                    driver=block,
                    handle=block.handle,
                    detail=f"{binding.label} is still {binding.state.value}; NDIS would wait "
                    "for it forever",
                )
            return False
        return True
