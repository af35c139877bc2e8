"""WDK structures that drivers fill in and NDIS reads, with their WDK names.

These are mutable dataclasses, as the C structures are caller-owned memory:
a driver builds one, passes it, and may keep it. Field names are the WDK
member names (spec/ddi/ns-*.md and constants.md sections 5 and 6). Handler
members hold Python callables with the WDK handler's parameters, in the
WDK order.

`Header` (NDIS_OBJECT_HEADER) is carried for fidelity, prefilled with the
Type and Revision the WDK page prescribes. condis identifies a structure by
its Python class, so it does not depend on `Header`; it does reject a
Header.Type that names a different structure (NdisSetOptionalHandlers
returns NDIS_STATUS_FAILURE, the catch-all of its return table; the
registration DDIs NDIS_STATUS_BAD_CHARACTERISTICS), since on Windows that
is how a wrong structure is caught.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from condis.constants import (
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1,
    NDIS_MEDIUM,
    NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1,
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
    NDIS_OBJECT_REVISION_1,
    NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
    NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS,
    NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS,
    NDIS_OBJECT_TYPE_DEFAULT,
    NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
    NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1,
    NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
)
from condis.handles import NDIS_HANDLE
from condis.status import NDIS_STATUS, NDIS_STATUS_SUCCESS

__all__ = [
    "CO_ADDRESS_FAMILY",
    "CO_CALL_MANAGER_PARAMETERS",
    "CO_CALL_PARAMETERS",
    "CO_MEDIA_PARAMETERS",
    "CO_SAP",
    "CO_SPECIFIC_PARAMETERS",
    "DRIVER_OBJECT",
    "FLOWSPEC",
    "NDIS_BIND_PARAMETERS",
    "NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS",
    "NDIS_CO_CLIENT_OPTIONAL_HANDLERS",
    "NDIS_EVENT",
    "NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES",
    "NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES",
    "NDIS_MINIPORT_CO_CHARACTERISTICS",
    "NDIS_MINIPORT_DRIVER_CHARACTERISTICS",
    "NDIS_MINIPORT_INIT_PARAMETERS",
    "NDIS_OBJECT_HEADER",
    "NDIS_OID_REQUEST",
    "NDIS_OPEN_PARAMETERS",
    "NDIS_PROTOCOL_CO_CHARACTERISTICS",
    "NDIS_PROTOCOL_DRIVER_CHARACTERISTICS",
    "NDIS_REQUEST_TYPE",
    "NDIS_STATUS_INDICATION",
    "NDIS_TIMER_CHARACTERISTICS",
    "NET_BUFFER",
    "NET_BUFFER_LIST",
    "OPTIONAL_HANDLER_TYPES",
    "STRINGFORMAT_UNICODE",
    "VAR_STRING",
    "Handler",
]

#: A driver entry point. Its parameters are the WDK handler's, in order.
Handler = Callable[..., Any]


@dataclass(slots=True)
class NDIS_OBJECT_HEADER:
    Type: int = NDIS_OBJECT_TYPE_DEFAULT
    Revision: int = NDIS_OBJECT_REVISION_1
    Size: int = 0


def _header(type_: int, revision: int) -> Any:
    return field(default_factory=lambda: NDIS_OBJECT_HEADER(Type=type_, Revision=revision))


@dataclass(slots=True)
class DRIVER_OBJECT:
    """The driver object the host hands to DriverEntry (opaque to the driver)."""

    DriverName: str


@dataclass(slots=True)
class CO_ADDRESS_FAMILY:
    """Identifies an address family: its type (CO_ADDRESS_FAMILY_*) and version."""

    AddressFamily: int
    MajorVersion: int = 0
    MinorVersion: int = 0


@dataclass(slots=True)
class CO_SAP:
    """A service access point: its medium-specific type and bytes (constants.md section 5).

    `SapLength` is kept equal to ``len(Sap)`` when left at its default.
    """

    SapType: int
    Sap: bytes = b""
    SapLength: int = -1

    def __post_init__(self) -> None:
        if self.SapLength == -1:
            self.SapLength = len(self.Sap)


@dataclass(slots=True)
class FLOWSPEC:
    """One direction's QoS (qos.h, constants.md section 5)."""

    TokenRate: int = 0
    TokenBucketSize: int = 0
    PeakBandwidth: int = 0
    Latency: int = 0
    DelayVariation: int = 0
    ServiceType: int = 0
    MaxSduSize: int = 0
    MinimumPolicedSize: int = 0


@dataclass(slots=True)
class CO_SPECIFIC_PARAMETERS:
    """Medium- or call-manager-specific parameters: a type and its bytes.

    `Length` is kept equal to ``len(Parameters)`` when left at its default.
    """

    ParamType: int = 0
    Parameters: bytes = b""
    Length: int = -1

    def __post_init__(self) -> None:
        if self.Length == -1:
            self.Length = len(self.Parameters)


@dataclass(slots=True)
class CO_CALL_MANAGER_PARAMETERS:
    Transmit: FLOWSPEC = field(default_factory=FLOWSPEC)
    Receive: FLOWSPEC = field(default_factory=FLOWSPEC)
    CallMgrSpecific: CO_SPECIFIC_PARAMETERS = field(default_factory=CO_SPECIFIC_PARAMETERS)


@dataclass(slots=True)
class CO_MEDIA_PARAMETERS:
    Flags: int = 0
    ReceivePriority: int = 0
    ReceiveSizeHint: int = 0
    MediaSpecific: CO_SPECIFIC_PARAMETERS = field(default_factory=CO_SPECIFIC_PARAMETERS)


@dataclass(slots=True)
class CO_CALL_PARAMETERS:
    """Call parameters: flags (PERMANENT_VC, MULTIPOINT_VC...), QoS and media parameters."""

    Flags: int = 0
    CallMgrParameters: CO_CALL_MANAGER_PARAMETERS | None = None
    MediaParameters: CO_MEDIA_PARAMETERS | None = None


# --- driver registration -------------------------------------------------------------------------


@dataclass(slots=True)
class NDIS_MINIPORT_DRIVER_CHARACTERISTICS:
    Header: NDIS_OBJECT_HEADER = _header(
        NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS,
        NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1,
    )
    MajorNdisVersion: int = 6
    MinorNdisVersion: int = 0
    MajorDriverVersion: int = 1
    MinorDriverVersion: int = 0
    Flags: int = 0
    SetOptionsHandler: Handler | None = None
    InitializeHandlerEx: Handler | None = None
    HaltHandlerEx: Handler | None = None
    UnloadHandler: Handler | None = None
    PauseHandler: Handler | None = None
    RestartHandler: Handler | None = None
    OidRequestHandler: Handler | None = None
    SendNetBufferListsHandler: Handler | None = None
    ReturnNetBufferListsHandler: Handler | None = None
    CancelSendHandler: Handler | None = None
    CheckForHangHandlerEx: Handler | None = None
    ResetHandlerEx: Handler | None = None
    DevicePnPEventNotifyHandler: Handler | None = None
    ShutdownHandlerEx: Handler | None = None
    CancelOidRequestHandler: Handler | None = None
    DirectOidRequestHandler: Handler | None = None
    CancelDirectOidRequestHandler: Handler | None = None
    SynchronousOidRequestHandler: Handler | None = None


@dataclass(slots=True)
class NDIS_PROTOCOL_DRIVER_CHARACTERISTICS:
    Header: NDIS_OBJECT_HEADER = _header(
        NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS,
        NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1,
    )
    MajorNdisVersion: int = 6
    MinorNdisVersion: int = 0
    MajorDriverVersion: int = 1
    MinorDriverVersion: int = 0
    Flags: int = 0
    Name: str = ""
    SetOptionsHandler: Handler | None = None
    BindAdapterHandlerEx: Handler | None = None
    UnbindAdapterHandlerEx: Handler | None = None
    OpenAdapterCompleteHandlerEx: Handler | None = None
    CloseAdapterCompleteHandlerEx: Handler | None = None
    NetPnPEventHandler: Handler | None = None
    UninstallHandler: Handler | None = None
    OidRequestCompleteHandler: Handler | None = None
    StatusHandlerEx: Handler | None = None
    ReceiveNetBufferListsHandler: Handler | None = None
    SendNetBufferListsCompleteHandler: Handler | None = None
    DirectOidRequestCompleteHandler: Handler | None = None


# --- CoNDIS optional handlers (NdisSetOptionalHandlers) ------------------------------------------


@dataclass(slots=True)
class NDIS_MINIPORT_CO_CHARACTERISTICS:
    Header: NDIS_OBJECT_HEADER = _header(
        NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS, NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1
    )
    Flags: int = 0
    CoCreateVcHandler: Handler | None = None
    CoDeleteVcHandler: Handler | None = None
    CoActivateVcHandler: Handler | None = None
    CoDeactivateVcHandler: Handler | None = None
    CoSendNetBufferListsHandler: Handler | None = None
    CoOidRequestHandler: Handler | None = None


@dataclass(slots=True)
class NDIS_PROTOCOL_CO_CHARACTERISTICS:
    Header: NDIS_OBJECT_HEADER = _header(
        NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS, NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1
    )
    Flags: int = 0
    CoStatusHandlerEx: Handler | None = None
    CoAfRegisterNotifyHandler: Handler | None = None
    CoReceiveNetBufferListsHandler: Handler | None = None
    CoSendNetBufferListsCompleteHandler: Handler | None = None


@dataclass(slots=True)
class NDIS_CO_CLIENT_OPTIONAL_HANDLERS:
    Header: NDIS_OBJECT_HEADER = _header(
        NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS, NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1
    )
    Reserved: int = 0
    ClCreateVcHandler: Handler | None = None
    ClDeleteVcHandler: Handler | None = None
    ClOidRequestHandler: Handler | None = None
    ClOidRequestCompleteHandler: Handler | None = None
    ClOpenAfCompleteHandlerEx: Handler | None = None
    ClCloseAfCompleteHandler: Handler | None = None
    ClRegisterSapCompleteHandler: Handler | None = None
    ClDeregisterSapCompleteHandler: Handler | None = None
    ClMakeCallCompleteHandler: Handler | None = None
    ClModifyCallQoSCompleteHandler: Handler | None = None
    ClCloseCallCompleteHandler: Handler | None = None
    ClAddPartyCompleteHandler: Handler | None = None
    ClDropPartyCompleteHandler: Handler | None = None
    ClIncomingCallHandler: Handler | None = None
    ClIncomingCallQoSChangeHandler: Handler | None = None
    ClIncomingCloseCallHandler: Handler | None = None
    ClIncomingDropPartyHandler: Handler | None = None
    ClCallConnectedHandler: Handler | None = None
    ClNotifyCloseAfHandler: Handler | None = None


@dataclass(slots=True)
class NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS:
    Header: NDIS_OBJECT_HEADER = _header(
        NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
        NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1,
    )
    Reserved: int = 0
    CmCreateVcHandler: Handler | None = None
    CmDeleteVcHandler: Handler | None = None
    CmOpenAfHandler: Handler | None = None
    CmCloseAfHandler: Handler | None = None
    CmRegisterSapHandler: Handler | None = None
    CmDeregisterSapHandler: Handler | None = None
    CmMakeCallHandler: Handler | None = None
    CmCloseCallHandler: Handler | None = None
    CmIncomingCallCompleteHandler: Handler | None = None
    CmAddPartyHandler: Handler | None = None
    CmDropPartyHandler: Handler | None = None
    CmActivateVcCompleteHandler: Handler | None = None
    CmDeactivateVcCompleteHandler: Handler | None = None
    CmModifyCallQoSHandler: Handler | None = None
    CmOidRequestHandler: Handler | None = None
    CmOidRequestCompleteHandler: Handler | None = None
    CmNotifyCloseAfCompleteHandler: Handler | None = None


#: The optional-handler structures NdisSetOptionalHandlers accepts, by the
#: Header.Type each must carry.
OPTIONAL_HANDLER_TYPES: dict[type[Any], int] = {
    NDIS_MINIPORT_CO_CHARACTERISTICS: NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS: NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS: NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS: NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
}


# --- adapters and bindings -----------------------------------------------------------------------


@dataclass(slots=True)
class NDIS_MINIPORT_INIT_PARAMETERS:
    """What NDIS tells MiniportInitializeEx about the adapter it is starting."""

    Header: NDIS_OBJECT_HEADER = field(default_factory=NDIS_OBJECT_HEADER)
    Flags: int = 0
    #: condis: the adapter's name, as NDIS_BIND_PARAMETERS.AdapterName shows it.
    AdapterName: str = ""
    #: condis: the medium the host configured for this adapter.
    MediaType: NDIS_MEDIUM = NDIS_MEDIUM.NdisMediumAtm
    IfIndex: int = 0


@dataclass(slots=True)
class NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES:
    Header: NDIS_OBJECT_HEADER = _header(
        NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, NDIS_OBJECT_REVISION_1
    )
    MiniportAdapterContext: object = None
    AttributeFlags: int = 0
    CheckForHangTimeInSeconds: int = 0
    InterfaceType: int = 0


@dataclass(slots=True)
class NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES:
    """The subset of general attributes condis models."""

    Header: NDIS_OBJECT_HEADER = _header(
        NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, NDIS_OBJECT_REVISION_1
    )
    MediaType: NDIS_MEDIUM = NDIS_MEDIUM.NdisMediumAtm
    MtuSize: int = 0
    MaxXmitLinkSpeed: int = 0
    MaxRcvLinkSpeed: int = 0


@dataclass(slots=True)
class NDIS_BIND_PARAMETERS:
    """What NDIS tells ProtocolBindAdapterEx about the adapter to bind to."""

    Header: NDIS_OBJECT_HEADER = field(default_factory=NDIS_OBJECT_HEADER)
    AdapterName: str = ""
    MediaType: NDIS_MEDIUM = NDIS_MEDIUM.NdisMediumAtm
    MtuSize: int = 0
    #: condis: True when the adapter's miniport registered CoNDIS handlers.
    ConnectionOriented: bool = True


@dataclass(slots=True)
class NDIS_OPEN_PARAMETERS:
    """The caller's side of NdisOpenAdapterEx; NDIS fills SelectedMediumIndex."""

    Header: NDIS_OBJECT_HEADER = field(default_factory=NDIS_OBJECT_HEADER)
    AdapterName: str = ""
    MediumArray: list[NDIS_MEDIUM] = field(default_factory=list)
    SelectedMediumIndex: int | None = None
    FrameTypeArray: list[int] = field(default_factory=list)


@dataclass(slots=True)
class NDIS_TIMER_CHARACTERISTICS:
    Header: NDIS_OBJECT_HEADER = field(default_factory=NDIS_OBJECT_HEADER)
    AllocationTag: int = 0
    TimerFunction: Handler | None = None
    FunctionContext: object = None


# --- data: NET_BUFFER_LIST chains (ns-nbl-net_buffer_list.md) ------------------------------------


@dataclass(eq=False, slots=True)
class NET_BUFFER:
    """One packet's data (the WDK's NET_BUFFER, holding the bytes themselves)."""

    Data: bytes = b""
    Next: NET_BUFFER | None = None

    @property
    def DataLength(self) -> int:
        return len(self.Data)


@dataclass(eq=False, slots=True)
class NET_BUFFER_LIST:
    """A list of NET_BUFFERs; NBLs chain through `Next`.

    The structure is light on purpose: real bytes in each NET_BUFFER, no
    pools, MDLs or offsets to maintain.
    """

    FirstNetBuffer: NET_BUFFER | None = None
    Next: NET_BUFFER_LIST | None = None
    SourceHandle: NDIS_HANDLE | None = None
    Status: NDIS_STATUS = NDIS_STATUS_SUCCESS
    Flags: int = 0
    #: free for the driver that owns the NBL (ProtocolReserved / MiniportReserved)
    Context: object = None

    @classmethod
    def of(cls, *packets: bytes, SourceHandle: NDIS_HANDLE | None = None) -> NET_BUFFER_LIST:
        """An NBL holding one NET_BUFFER per packet."""
        first: NET_BUFFER | None = None
        for data in reversed(packets):
            first = NET_BUFFER(Data=bytes(data), Next=first)
        return cls(FirstNetBuffer=first, SourceHandle=SourceHandle)

    def buffers(self) -> Iterator[NET_BUFFER]:
        nb = self.FirstNetBuffer
        while nb is not None:
            yield nb
            nb = nb.Next

    @property
    def data(self) -> bytes:
        """Every byte of the NBL, buffers in order."""
        return b"".join(nb.Data for nb in self.buffers())

    def chain(self) -> Iterator[NET_BUFFER_LIST]:
        """This NBL and the ones linked after it."""
        nbl: NET_BUFFER_LIST | None = self
        while nbl is not None:
            yield nbl
            nbl = nbl.Next

    @staticmethod
    def link(nbls: list[NET_BUFFER_LIST]) -> NET_BUFFER_LIST | None:
        """Chain `nbls` through Next and return the head."""
        for a, b in itertools.pairwise(nbls):
            a.Next = b
        if nbls:
            nbls[-1].Next = None
        return nbls[0] if nbls else None


# --- OID requests and status indications ---------------------------------------------------------


class NDIS_REQUEST_TYPE(IntEnum):
    """ndis.h's NDIS_REQUEST_TYPE values used by OID requests."""

    NdisRequestQueryInformation = 0
    NdisRequestSetInformation = 1
    NdisRequestQueryStatistics = 2
    NdisRequestMethod = 12


@dataclass(eq=False, slots=True, weakref_slot=True)
class NDIS_OID_REQUEST:
    """An OID request (ns-oidrequest-ndis_oid_request), DATA union flattened.

    The DATA union's members are flattened (Oid, InformationBuffer,
    InformationBufferLength, BytesWritten, BytesRead, BytesNeeded), and
    InformationBuffer holds Python bytes or objects. NDIS identifies a request
    by this object (the WDK's pointer), so it is compared by identity.
    """

    Oid: int
    RequestType: NDIS_REQUEST_TYPE = NDIS_REQUEST_TYPE.NdisRequestQueryInformation
    InformationBuffer: Any = None
    InformationBufferLength: int = 0
    BytesWritten: int = 0
    BytesRead: int = 0
    BytesNeeded: int = 0
    Header: NDIS_OBJECT_HEADER = field(
        default_factory=lambda: NDIS_OBJECT_HEADER(Type=0x96, Revision=1)
    )
    PortNumber: int = 0
    Timeout: int = 0
    RequestId: object = None
    RequestHandle: object = None


@dataclass(eq=False, slots=True)
class NDIS_STATUS_INDICATION:
    """A status indication (the NDIS_STATUS_INDICATION members condis models)."""

    StatusCode: NDIS_STATUS
    SourceHandle: object = None
    StatusBuffer: Any = None
    StatusBufferSize: int = 0
    PortNumber: int = 0
    Flags: int = 0
    DestinationHandle: object = None
    RequestId: object = None
    Header: NDIS_OBJECT_HEADER = field(
        default_factory=lambda: NDIS_OBJECT_HEADER(Type=0x98, Revision=1)
    )


# --- events and TAPI strings ---------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class NDIS_EVENT:
    """An NDIS event (opaque to the driver; NdisInitializeEvent returns one).

    `waiters` counts the driver threads blocked in NdisWaitEvent on it.
    """

    serial: int
    signaled: bool = False
    waiters: int = 0

    @property
    def label(self) -> str:
        return f"NDIS_EVENT#{self.serial}"


#: TAPI string formats (tapi.h)
STRINGFORMAT_UNICODE = 0x00000003


@dataclass(slots=True)
class VAR_STRING:
    """TAPI's VAR_STRING: the caller sets ulTotalSize, NDIS fills in the rest."""

    ulTotalSize: int
    ulNeededSize: int = 0
    ulUsedSize: int = 0
    ulStringFormat: int = 0
    ulStringSize: int = 0
    ulStringOffset: int = 0
    #: the string bytes (what follows the header in C)
    String: bytes = b""
