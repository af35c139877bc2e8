"""Convenience bases for drivers written as Python classes.

A real NDIS driver fills characteristics structures with pointers to its
functions and registers them. These bases do the same from methods named
after the WDK handlers: a class that defines `ProtocolCmOpenAf` gets an
NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS whose CmOpenAfHandler is that method.
The structures remain the single truth: NDIS reads only what the driver
registered through NdisMRegisterMiniportDriver, NdisRegisterProtocolDriver
and NdisSetOptionalHandlers, and a driver may skip these bases and build the
structures itself.

Which structures a driver registers follows from the methods it defines:

* NDIS_MINIPORT_CO_CHARACTERISTICS: a `MiniportDriver` whose class sets
  `CONNECTION_ORIENTED = True` (the default) or defines a MiniportCoXxx method;
* NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS: any driver defining ProtocolCmOpenAf
  (an MCM when it is a miniport, a stand-alone call manager when a protocol);
* NDIS_PROTOCOL_CO_CHARACTERISTICS: a protocol defining ProtocolCoAfRegisterNotify;
* NDIS_CO_CLIENT_OPTIONAL_HANDLERS: a protocol defining ProtocolClOpenAfCompleteEx.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from condis.handles import DriverHandle
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS
from condis.structs import (
    DRIVER_OBJECT,
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_MINIPORT_CO_CHARACTERISTICS,
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS,
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS,
)

if TYPE_CHECKING:
    from condis.ndis import Ndis

__all__ = ["HANDLER_METHODS", "MiniportDriver", "ProtocolDriver", "build_characteristics"]

#: structure -> (member -> WDK handler name the member holds)
HANDLER_METHODS: Mapping[type[Any], Mapping[str, str]] = MappingProxyType(
    {
        NDIS_MINIPORT_DRIVER_CHARACTERISTICS: {
            "SetOptionsHandler": "MiniportSetOptions",
            "InitializeHandlerEx": "MiniportInitializeEx",
            "HaltHandlerEx": "MiniportHaltEx",
            "UnloadHandler": "MiniportDriverUnload",
            "PauseHandler": "MiniportPause",
            "RestartHandler": "MiniportRestart",
            "OidRequestHandler": "MiniportOidRequest",
            "SendNetBufferListsHandler": "MiniportSendNetBufferLists",
            "ReturnNetBufferListsHandler": "MiniportReturnNetBufferLists",
            "CancelSendHandler": "MiniportCancelSend",
            "CheckForHangHandlerEx": "MiniportCheckForHangEx",
            "ResetHandlerEx": "MiniportResetEx",
            "DevicePnPEventNotifyHandler": "MiniportDevicePnPEventNotify",
            "ShutdownHandlerEx": "MiniportShutdownEx",
            "CancelOidRequestHandler": "MiniportCancelOidRequest",
        },
        NDIS_PROTOCOL_DRIVER_CHARACTERISTICS: {
            "SetOptionsHandler": "ProtocolSetOptions",
            "BindAdapterHandlerEx": "ProtocolBindAdapterEx",
            "UnbindAdapterHandlerEx": "ProtocolUnbindAdapterEx",
            "OpenAdapterCompleteHandlerEx": "ProtocolOpenAdapterCompleteEx",
            "CloseAdapterCompleteHandlerEx": "ProtocolCloseAdapterCompleteEx",
            "NetPnPEventHandler": "ProtocolNetPnPEvent",
            "UninstallHandler": "ProtocolUninstall",
            "OidRequestCompleteHandler": "ProtocolOidRequestComplete",
            "StatusHandlerEx": "ProtocolStatusEx",
            "ReceiveNetBufferListsHandler": "ProtocolReceiveNetBufferLists",
            "SendNetBufferListsCompleteHandler": "ProtocolSendNetBufferListsComplete",
        },
        NDIS_MINIPORT_CO_CHARACTERISTICS: {
            "CoCreateVcHandler": "MiniportCoCreateVc",
            "CoDeleteVcHandler": "MiniportCoDeleteVc",
            "CoActivateVcHandler": "MiniportCoActivateVc",
            "CoDeactivateVcHandler": "MiniportCoDeactivateVc",
            "CoSendNetBufferListsHandler": "MiniportCoSendNetBufferLists",
            "CoOidRequestHandler": "MiniportCoOidRequest",
        },
        NDIS_PROTOCOL_CO_CHARACTERISTICS: {
            "CoStatusHandlerEx": "ProtocolCoStatusEx",
            "CoAfRegisterNotifyHandler": "ProtocolCoAfRegisterNotify",
            "CoReceiveNetBufferListsHandler": "ProtocolCoReceiveNetBufferLists",
            "CoSendNetBufferListsCompleteHandler": "ProtocolCoSendNetBufferListsComplete",
        },
        NDIS_CO_CLIENT_OPTIONAL_HANDLERS: {
            "ClCreateVcHandler": "ProtocolCoCreateVc",
            "ClDeleteVcHandler": "ProtocolCoDeleteVc",
            "ClOidRequestHandler": "ProtocolCoOidRequest",
            "ClOidRequestCompleteHandler": "ProtocolCoOidRequestComplete",
            "ClOpenAfCompleteHandlerEx": "ProtocolClOpenAfCompleteEx",
            "ClCloseAfCompleteHandler": "ProtocolClCloseAfComplete",
            "ClRegisterSapCompleteHandler": "ProtocolClRegisterSapComplete",
            "ClDeregisterSapCompleteHandler": "ProtocolClDeregisterSapComplete",
            "ClMakeCallCompleteHandler": "ProtocolClMakeCallComplete",
            "ClModifyCallQoSCompleteHandler": "ProtocolClModifyCallQoSComplete",
            "ClCloseCallCompleteHandler": "ProtocolClCloseCallComplete",
            "ClAddPartyCompleteHandler": "ProtocolClAddPartyComplete",
            "ClDropPartyCompleteHandler": "ProtocolClDropPartyComplete",
            "ClIncomingCallHandler": "ProtocolClIncomingCall",
            "ClIncomingCallQoSChangeHandler": "ProtocolClIncomingCallQoSChange",
            "ClIncomingCloseCallHandler": "ProtocolClIncomingCloseCall",
            "ClIncomingDropPartyHandler": "ProtocolClIncomingDropParty",
            "ClCallConnectedHandler": "ProtocolClCallConnected",
            "ClNotifyCloseAfHandler": "ProtocolClNotifyCloseAf",
        },
        NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS: {
            "CmCreateVcHandler": "ProtocolCoCreateVc",
            "CmDeleteVcHandler": "ProtocolCoDeleteVc",
            "CmOpenAfHandler": "ProtocolCmOpenAf",
            "CmCloseAfHandler": "ProtocolCmCloseAf",
            "CmRegisterSapHandler": "ProtocolCmRegisterSap",
            "CmDeregisterSapHandler": "ProtocolCmDeregisterSap",
            "CmMakeCallHandler": "ProtocolCmMakeCall",
            "CmCloseCallHandler": "ProtocolCmCloseCall",
            "CmIncomingCallCompleteHandler": "ProtocolCmIncomingCallComplete",
            "CmAddPartyHandler": "ProtocolCmAddParty",
            "CmDropPartyHandler": "ProtocolCmDropParty",
            "CmActivateVcCompleteHandler": "ProtocolCmActivateVcComplete",
            "CmDeactivateVcCompleteHandler": "ProtocolCmDeactivateVcComplete",
            "CmModifyCallQoSHandler": "ProtocolCmModifyCallQoS",
            "CmOidRequestHandler": "ProtocolCoOidRequest",
            "CmOidRequestCompleteHandler": "ProtocolCoOidRequestComplete",
            "CmNotifyCloseAfCompleteHandler": "ProtocolCmNotifyCloseAfComplete",
        },
    }
)

S = TypeVar("S")


def build_characteristics(struct: type[S], driver: object) -> S:
    """A `struct` whose handler members are `driver`'s methods of the WDK names."""
    members = {
        member: getattr(driver, method)
        for member, method in HANDLER_METHODS[struct].items()
        if callable(getattr(driver, method, None))
    }
    return struct(**members)


def _defines(driver: object, *methods: str) -> bool:
    return any(callable(getattr(driver, m, None)) for m in methods)


class _Driver:
    """What both bases share: the host, the DRIVER_OBJECT and the driver handle."""

    def __init__(self, ndis: Ndis) -> None:
        self.ndis = ndis
        self.driver_object: DRIVER_OBJECT | None = None
        self.driver_handle: DriverHandle | None = None

    def _set_optional(self, NdisDriverHandle: DriverHandle, *structs: object) -> NDIS_STATUS:
        for struct in structs:
            status = self.ndis.NdisSetOptionalHandlers(NdisDriverHandle, struct)
            if status != NDIS_STATUS_SUCCESS:
                return status
        return NDIS_STATUS_SUCCESS


class MiniportDriver(_Driver):
    """A miniport (CoNDIS miniport or MCM) built from its handler methods."""

    #: register NDIS_MINIPORT_CO_CHARACTERISTICS (a CoNDIS miniport)
    CONNECTION_ORIENTED = True

    def DriverEntry(self, DriverObject: DRIVER_OBJECT, RegistryPath: str) -> NDIS_STATUS:
        self.driver_object = DriverObject
        chars = build_characteristics(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, self)
        status, handle = self.ndis.NdisMRegisterMiniportDriver(
            DriverObject, RegistryPath, self, chars
        )
        self.driver_handle = handle
        return status

    def MiniportSetOptions(
        self, NdisDriverHandle: DriverHandle, DriverContext: object
    ) -> NDIS_STATUS:
        structs: list[object] = []
        if self.CONNECTION_ORIENTED or _defines(
            self, *HANDLER_METHODS[NDIS_MINIPORT_CO_CHARACTERISTICS].values()
        ):
            structs.append(build_characteristics(NDIS_MINIPORT_CO_CHARACTERISTICS, self))
        if _defines(self, "ProtocolCmOpenAf"):
            structs.append(build_characteristics(NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS, self))
        return self._set_optional(NdisDriverHandle, *structs)

    def MiniportDriverUnload(self, DriverObject: DRIVER_OBJECT) -> None:
        """Undo DriverEntry: deregister (nc-ndis-miniport_unload)."""
        if self.driver_handle is not None:
            self.ndis.NdisMDeregisterMiniportDriver(self.driver_handle)
            self.driver_handle = None


class ProtocolDriver(_Driver):
    """A protocol (CoNDIS client and/or stand-alone call manager) built from its methods."""

    def DriverEntry(self, DriverObject: DRIVER_OBJECT, RegistryPath: str) -> NDIS_STATUS:
        self.driver_object = DriverObject
        chars = build_characteristics(NDIS_PROTOCOL_DRIVER_CHARACTERISTICS, self)
        chars.Name = DriverObject.DriverName
        status, handle = self.ndis.NdisRegisterProtocolDriver(self, chars)
        self.driver_handle = handle
        return status

    def ProtocolSetOptions(
        self, NdisDriverHandle: DriverHandle, DriverContext: object
    ) -> NDIS_STATUS:
        structs: list[object] = []
        if _defines(self, "ProtocolCoAfRegisterNotify"):
            structs.append(build_characteristics(NDIS_PROTOCOL_CO_CHARACTERISTICS, self))
        if _defines(self, "ProtocolClOpenAfCompleteEx"):
            structs.append(build_characteristics(NDIS_CO_CLIENT_OPTIONAL_HANDLERS, self))
        if _defines(self, "ProtocolCmOpenAf"):
            structs.append(build_characteristics(NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS, self))
        return self._set_optional(NdisDriverHandle, *structs)

    def DriverUnload(self, DriverObject: DRIVER_OBJECT) -> None:
        """Undo DriverEntry: deregister, which unbinds every open binding first."""
        if self.driver_handle is not None:
            self.ndis.NdisDeregisterProtocolDriver(self.driver_handle)
            self.driver_handle = None
