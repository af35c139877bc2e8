"""Driver registration: DriverEntry, characteristics and optional handlers.

Theory of operation (guide/condis-*-registration.md, set_options page):

* The host loads a driver (`Ndis.load_driver`) and calls its DriverEntry at
  PASSIVE_LEVEL with a DRIVER_OBJECT. A miniport (a CoNDIS miniport or an
  MCM) calls NdisMRegisterMiniportDriver; a protocol (a CoNDIS client or a
  stand-alone call manager) calls NdisRegisterProtocolDriver.
* Inside the registration call NDIS calls the driver's XxxSetOptions, where
  the driver calls NdisSetOptionalHandlers once per optional structure: a
  miniport with NDIS_MINIPORT_CO_CHARACTERISTICS (and, for an MCM,
  NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS); a protocol with
  NDIS_PROTOCOL_CO_CHARACTERISTICS and NDIS_CO_CLIENT_OPTIONAL_HANDLERS and/or
  NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS. Those structures decide the
  driver's CoNDIS roles (`DriverBlock.is_mcm`, `.is_client`...).
* After DriverEntry returns NDIS_STATUS_SUCCESS, NDIS binds a new protocol to
  every adapter that is up (lifecycle.Host).

Choices the pages leave open, and what condis does:

* A failing XxxSetOptions fails the registration with the status it
  returned, and NDIS forgets the driver.
* A DriverEntry that fails after registering must deregister before it
  returns (the NdisMRegisterMiniportDriver page; unload.py has the
  deregistration DDIs): one that does not breaks NdisDriverUnloadLeak, and
  NDIS forgets the driver all the same.
* NdisSetOptionalHandlers checks that the handlers the pages call required
  are present (`REQUIRED_HANDLERS`); a structure missing one is refused with
  NDIS_STATUS_FAILURE, the page's catch-all status, rather than crashing
  later on a NULL entry point.
* A miniport calling NdisSetOptionalHandlers outside MiniportSetOptions, or a
  driver passing a structure its type may not register, gets
  NDIS_STATUS_FAILURE; a miniport that declared an NDIS version below 6.0
  gets NDIS_STATUS_NOT_SUPPORTED (both as the page's return table says).
* A protocol may also call NdisSetOptionalHandlers with an NdisBindingHandle;
  the handlers then apply to that binding only (stored on the binding's record).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace
from typing import Any

import condis.args as args
from condis.constants import PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import ddi, handler
from condis.handles import DriverHandle
from condis.records import Binding, DriverBlock, DriverKind
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_BAD_CHARACTERISTICS,
    NDIS_STATUS_BAD_VERSION,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import (
    DRIVER_OBJECT,
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_MINIPORT_CO_CHARACTERISTICS,
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS,
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
    OPTIONAL_HANDLER_TYPES,
)

__all__ = ["REQUIRED_HANDLERS", "DriverBlock", "DriverEngine", "DriverKind"]

handler("DriverEntry", "MiniportSetOptions", "ProtocolSetOptions")


#: Handlers each structure must supply, as the pages call them required.
REQUIRED_HANDLERS: dict[type[Any], tuple[str, ...]] = {
    # nc-ndis-miniport_initialize.md / miniport_halt.md: required entry points
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS: ("InitializeHandlerEx", "HaltHandlerEx"),
    # ProtocolBindAdapterEx, ProtocolUnbindAdapterEx, ProtocolOpenAdapterCompleteEx and
    # ProtocolCloseAdapterCompleteEx are each "a required function"
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS: (
        "BindAdapterHandlerEx",
        "UnbindAdapterHandlerEx",
        "OpenAdapterCompleteHandlerEx",
        "CloseAdapterCompleteHandlerEx",
    ),
    # "All connection-oriented NDIS clients must have fully functional
    # ProtocolCoAfRegisterNotify functions"; call managers register one too.
    NDIS_PROTOCOL_CO_CHARACTERISTICS: ("CoAfRegisterNotifyHandler",),
    NDIS_MINIPORT_CO_CHARACTERISTICS: (),
    # ProtocolClOpenAfCompleteEx, ProtocolClCloseAfComplete, ProtocolClNotifyCloseAf
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS: (
        "ClOpenAfCompleteHandlerEx",
        "ClCloseAfCompleteHandler",
        "ClNotifyCloseAfHandler",
    ),
    # ProtocolCmOpenAf, ProtocolCmCloseAf, ProtocolCmNotifyCloseAfComplete
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS: (
        "CmOpenAfHandler",
        "CmCloseAfHandler",
        "CmNotifyCloseAfCompleteHandler",
    ),
}

_MINIPORT_OPTIONAL = (NDIS_MINIPORT_CO_CHARACTERISTICS, NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS)
_PROTOCOL_OPTIONAL = (
    NDIS_PROTOCOL_CO_CHARACTERISTICS,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
)


def _missing(struct: object) -> list[str]:
    return [
        name for name in REQUIRED_HANDLERS.get(type(struct), ()) if getattr(struct, name) is None
    ]


def _check_handlers(struct: object, ddi_name: str) -> None:
    for f in fields(struct):  # type: ignore[arg-type]
        if f.name.endswith("Handler") or f.name.endswith("HandlerEx"):
            value = getattr(struct, f.name)
            if value is not None and not callable(value):
                raise TypeError(
                    f"{ddi_name}: {type(struct).__name__}.{f.name} must be callable or None, "
                    f"not {type(value).__name__}"
                )


class DriverEngine(Engine):
    """Loading drivers (DriverEntry) and the registration DDIs."""

    __slots__ = ("_drivers",)

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._drivers: dict[str, DriverBlock] = {}

    # --- host side -------------------------------------------------------------

    @property
    def drivers(self) -> tuple[DriverBlock, ...]:
        """Every loaded driver, in load order."""
        return tuple(d for d in self._drivers.values() if d.loaded)

    def loaded(self, operation: str, driver: object) -> DriverBlock:
        """`driver` (a block or a name) as a driver loaded on this host; naming
        `operation`, a KeyError for a name no driver has, a TypeError for what is not a
        driver, a ValueError for another host's."""
        if isinstance(driver, str):
            block = self._drivers.get(driver)
            if block is None or not block.loaded:
                raise KeyError(f"{operation}: no driver named {driver!r} is loaded")
            return block
        if not isinstance(driver, DriverBlock):
            raise TypeError(
                f"{operation}: driver must be a loaded driver (its DriverBlock or its name), "
                f"not {type(driver).__name__}"
            )
        if self._drivers.get(driver.name) is not driver or not driver.loaded:
            raise ValueError(f"{operation}: {driver.name!r} is not a driver loaded on this host")
        return driver

    def driver(self, name: str) -> DriverBlock:
        """The loaded driver called `name`."""
        block = self._drivers.get(name)
        if block is None or not block.loaded:
            raise KeyError(f"no driver named {name!r} is loaded")
        return block

    def load(self, driver: object, name: str | None = None) -> tuple[NDIS_STATUS, DriverBlock]:
        """Load `driver` and run its DriverEntry(DriverObject, RegistryPath).

        `driver` is an object with a DriverEntry method, or the DriverEntry
        callable itself. Returns DriverEntry's status and the driver's block
        (what follows a successful DriverEntry is lifecycle.py's).
        """
        self.k.check_alive()
        entry: Callable[..., Any] | None
        entry = driver if callable(driver) and not hasattr(driver, "DriverEntry") else None
        if entry is None:
            entry = getattr(driver, "DriverEntry", None)
        if not callable(entry):
            raise TypeError("load_driver: driver must have a DriverEntry method or be callable")
        name = name or type(driver).__name__
        if not isinstance(name, str) or not name:
            raise ValueError("load_driver: name must be a non-empty string")
        if name in self._drivers and self._drivers[name].loaded:
            raise ValueError(f"load_driver: a driver named {name!r} is already loaded")
        block = DriverBlock(name=name, driver_object=DRIVER_OBJECT(DriverName=name), code=driver)
        self._drivers[name] = block
        registry_path = f"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\{name}"
        status = self.k.call_status(
            block,
            "DriverEntry",
            entry,
            block.driver_object,
            registry_path,
            irql=PASSIVE_LEVEL,
        )
        assert status is not None
        if status != NDIS_STATUS_SUCCESS:
            block.loaded = False
            if block.handle is not None and self.k.handles.is_live(block.handle):
                self.k.violation(
                    "NdisDriverUnloadLeak",
                    ddi="DriverEntry",
                    driver=block,
                    handle=block.handle,
                    detail=f"DriverEntry failed ({status}) without calling {block.deregistration}",
                )
                self.k.handles.close(block.handle)
        return status, block

    def _block_for_object(self, ddi_name: str, driver_object: object) -> DriverBlock:
        if not isinstance(driver_object, DRIVER_OBJECT):
            raise TypeError(
                f"{ddi_name}: DriverObject must be the DRIVER_OBJECT given to DriverEntry, "
                f"not {type(driver_object).__name__}"
            )
        for block in self._drivers.values():
            if block.driver_object is driver_object and block.loaded:
                return block
        raise ValueError(f"{ddi_name}: DriverObject {driver_object.DriverName!r} is not loaded")

    # --- registration DDIs ---------------------------------------------------------

    @ddi("NdisMRegisterMiniportDriver")
    def NdisMRegisterMiniportDriver(
        self,
        DriverObject: DRIVER_OBJECT,
        RegistryPath: str,
        MiniportDriverContext: object,
        MiniportDriverCharacteristics: NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    ) -> tuple[NDIS_STATUS, DriverHandle | None]:
        """Register a miniport driver's entry points (nf-ndis-ndismregisterminiportdriver).

        Returns (status, NdisMiniportDriverHandle): SUCCESS; BAD_VERSION when
        MajorNdisVersion is not 6; BAD_CHARACTERISTICS when the header type is
        wrong or InitializeHandlerEx/HaltHandlerEx is missing; RESOURCES when
        allocation fails; FAILURE when the driver already registered, or the
        status its MiniportSetOptions returned.
        """
        name = "NdisMRegisterMiniportDriver"
        block = self._block_for_object(name, DriverObject)
        chars = MiniportDriverCharacteristics
        if not isinstance(chars, NDIS_MINIPORT_DRIVER_CHARACTERISTICS):
            raise TypeError(
                f"{name}: MiniportDriverCharacteristics must be an "
                f"NDIS_MINIPORT_DRIVER_CHARACTERISTICS, not {type(chars).__name__}"
            )
        args.header(name, "MiniportDriverCharacteristics", chars)
        _check_handlers(chars, name)
        with self.k.begin(name, block) as call:
            if block.kind is not DriverKind.UNREGISTERED:
                return call.status(NDIS_STATUS_FAILURE), None
            if chars.MajorNdisVersion != 6:
                return call.status(NDIS_STATUS_BAD_VERSION), None
            if (
                chars.Header.Type != 0x8A  # NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS
                or _missing(chars)
            ):
                return call.status(NDIS_STATUS_BAD_CHARACTERISTICS), None
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            status = self._register(
                block, DriverKind.MINIPORT, chars, MiniportDriverContext, "MiniportSetOptions"
            )
            handle = block.handle if status == NDIS_STATUS_SUCCESS else None
            call.handle = handle
            return call.status(status), handle

    @ddi("NdisRegisterProtocolDriver")
    def NdisRegisterProtocolDriver(
        self,
        ProtocolDriverContext: object,
        ProtocolCharacteristics: NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
    ) -> tuple[NDIS_STATUS, DriverHandle | None]:
        """Register a protocol driver's entry points (nf-ndis-ndisregisterprotocoldriver).

        Must be called from DriverEntry (the calling driver is the one whose
        DriverEntry runs). Returns (status, NdisProtocolHandle) with the same
        statuses as NdisMRegisterMiniportDriver.
        """
        name = "NdisRegisterProtocolDriver"
        chars = ProtocolCharacteristics
        if not isinstance(chars, NDIS_PROTOCOL_DRIVER_CHARACTERISTICS):
            raise TypeError(
                f"{name}: ProtocolCharacteristics must be an "
                f"NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, not {type(chars).__name__}"
            )
        args.header(name, "ProtocolCharacteristics", chars)
        _check_handlers(chars, name)
        block = self.k.current_driver
        if block is None or not self.k.frames or self.k.frames[-1].name != "DriverEntry":
            raise ValueError(f"{name}: must be called from the driver's DriverEntry")
        with self.k.begin(name, block) as call:
            if block.kind is not DriverKind.UNREGISTERED:
                return call.status(NDIS_STATUS_FAILURE), None
            if chars.MajorNdisVersion != 6:
                return call.status(NDIS_STATUS_BAD_VERSION), None
            if chars.Header.Type != 0x95 or _missing(chars):
                return call.status(NDIS_STATUS_BAD_CHARACTERISTICS), None
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            status = self._register(
                block, DriverKind.PROTOCOL, chars, ProtocolDriverContext, "ProtocolSetOptions"
            )
            handle = block.handle if status == NDIS_STATUS_SUCCESS else None
            call.handle = handle
            return call.status(status), handle

    def _register(
        self,
        block: DriverBlock,
        kind: DriverKind,
        chars: NDIS_MINIPORT_DRIVER_CHARACTERISTICS | NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
        context: object,
        set_options: str,
    ) -> NDIS_STATUS:
        block.kind = kind
        block.context = context
        # "NDIS copies the characteristics structure to NDIS internal storage":
        # a driver that edits its structure after registering changes nothing.
        chars = replace(chars, Header=replace(chars.Header))
        if isinstance(chars, NDIS_MINIPORT_DRIVER_CHARACTERISTICS):
            block.miniport_chars = chars
        else:
            block.protocol_chars = chars
        block.handle = self.k.handles.issue(DriverHandle, block)
        status = NDIS_STATUS_SUCCESS
        if chars.SetOptionsHandler is not None:
            block.in_set_options = True
            try:
                result = self.k.call_status(
                    block,
                    set_options,
                    chars.SetOptionsHandler,
                    block.handle,
                    context,
                    handle=block.handle,
                )
            finally:
                block.in_set_options = False
            assert result is not None
            status = result
        if status != NDIS_STATUS_SUCCESS:
            self.k.handles.close(block.handle)
            block.kind = DriverKind.UNREGISTERED
            block.handle = None
            block.miniport_chars = block.protocol_chars = None
            block.miniport_co = block.protocol_co = None
            block.client = block.call_manager = None
        return status

    @ddi("NdisSetOptionalHandlers")
    def NdisSetOptionalHandlers(self, NdisHandle: object, OptionalHandlers: object) -> NDIS_STATUS:
        """Register optional CoNDIS entry points (nf-ndis-ndissetoptionalhandlers).

        `NdisHandle` is the driver handle given to XxxSetOptions or, for a
        protocol, an NdisBindingHandle. Returns SUCCESS, RESOURCES,
        NOT_SUPPORTED (a miniport below NDIS 6.0) or FAILURE (a structure the
        caller may not register here, a required handler missing, or a
        miniport outside MiniportSetOptions).
        """
        name = "NdisSetOptionalHandlers"
        if type(OptionalHandlers) not in OPTIONAL_HANDLER_TYPES:
            raise TypeError(
                f"{name}: OptionalHandlers must be one of "
                f"{', '.join(t.__name__ for t in OPTIONAL_HANDLER_TYPES)}, "
                f"not {type(OptionalHandlers).__name__}"
            )
        args.header(name, "OptionalHandlers", OptionalHandlers)
        _check_handlers(OptionalHandlers, name)
        target = self._optional_handler_target(name, NdisHandle)
        if target is None:
            return NDIS_STATUS_FAILURE
        block, binding = target
        handle = block.handle if binding is None else binding.handle
        with self.k.begin(name, block, handle=handle) as call:
            allowed = (
                _MINIPORT_OPTIONAL if block.kind is DriverKind.MINIPORT else _PROTOCOL_OPTIONAL
            )
            if block.kind is DriverKind.MINIPORT:
                assert block.miniport_chars is not None
                if block.miniport_chars.MajorNdisVersion < 6:
                    return call.status(NDIS_STATUS_NOT_SUPPORTED)
                if not block.in_set_options:
                    return call.status(NDIS_STATUS_FAILURE)
            if type(OptionalHandlers) not in allowed:
                return call.status(NDIS_STATUS_FAILURE)
            if OptionalHandlers.Header.Type != OPTIONAL_HANDLER_TYPES[type(OptionalHandlers)]:  # type: ignore[attr-defined]
                return call.status(NDIS_STATUS_FAILURE)
            if _missing(OptionalHandlers):
                return call.status(NDIS_STATUS_FAILURE)
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES)
            self._store_optional(block, binding, OptionalHandlers)
            return call.status(NDIS_STATUS_SUCCESS)

    def _optional_handler_target(
        self, ddi_name: str, handle: object
    ) -> tuple[DriverBlock, Binding | None] | None:
        """Resolve NdisSetOptionalHandlers' handle: a driver handle, or a protocol's
        NdisBindingHandle for handlers that apply to that binding only."""
        if isinstance(handle, DriverHandle):
            block = self.resolve.driver(ddi_name, "NdisHandle", handle)
            return None if block is None else (block, None)
        binding = self.resolve.binding(ddi_name, "NdisHandle", handle)
        return None if binding is None else (binding.protocol, binding)

    @staticmethod
    def _store_optional(block: DriverBlock, binding: Binding | None, struct: object) -> None:
        owner: DriverBlock | Binding = binding if binding is not None else block
        if isinstance(struct, NDIS_MINIPORT_CO_CHARACTERISTICS):
            assert isinstance(owner, DriverBlock)
            owner.miniport_co = struct
        elif isinstance(struct, NDIS_PROTOCOL_CO_CHARACTERISTICS):
            owner.protocol_co = struct
        elif isinstance(struct, NDIS_CO_CLIENT_OPTIONAL_HANDLERS):
            owner.client = struct
        elif isinstance(struct, NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS):
            owner.call_manager = struct
