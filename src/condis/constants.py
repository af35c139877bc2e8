"""Numeric constants of connection-oriented NDIS other than NDIS_STATUS codes.

The model speaks the WDK's vocabulary, so the names here are the header names and the numbers
are the header numbers: IRQL levels, address-family codes, call and media parameter flags, NDIS 6
object-header types and revisions, the NDIS_MEDIUM and NDIS_HALT_ACTION enumerations, and the bug
check codes with which NDIS and Driver Verifier stop a misbehaving driver. Status codes live in
:mod:`condis.status`.

Where the values come from. Unless a comment says otherwise, every value is a row of the project's
fact table ``shared/spec/constants.md``, which cites the public header each was read from:

* section 1, IRQL levels: reactos/reactos sdk/include/xdk/amd64/ke.h (amd64 numbering);
* section 3, address families: reactos/reactos sdk/include/ddk/ndis.h;
* section 4, flags: reactos/reactos sdk/include/ddk/ndis.h, and for ERRED_PACKET_INDICATION,
  CO_SEND_FLAG_SET_DISCARD_ELIBILITY and NDIS_ATTRIBUTE_DO_NOT_BIND_TO_ALL_CO the public WDK copy
  pedbsktbll/dynamic_libs inc/ddk/ndis.h;
* section 6, object types and revisions: pedbsktbll/dynamic_libs inc/api/ntddndis.h and
  inc/ddk/ndis.h;
* section 8, bug checks: reactos/reactos sdk/include/reactos/mc/bugcodes.mc and the debugger
  reference pages of MicrosoftDocs/windows-driver-docs (copies in ``shared/spec/rules/``).

NDIS_MEDIUM and NDIS_HALT_ACTION are not in the fact table; their values were read from public
copies of the WDK headers, cited beside each class. They are C enumerations without explicit
initialisers, so each value is its position in the declaration.

Choices made:

* The enumerations print as their bare WDK names: ``str(KIRQL.DISPATCH_LEVEL)`` is
  ``"DISPATCH_LEVEL"`` (Python 3.11's IntEnum would print ``"2"``), which keeps traces and error
  messages in the documentation's terms. They still compare and order as ints, so
  ``irql <= KIRQL.DISPATCH_LEVEL`` reads as in the DDI pages.
* HIGH_LEVEL is the amd64 value, 15; on x86 it is 31. LOW_LEVEL (also 0) is not given a second
  enum name, so that level 0 always prints as PASSIVE_LEVEL.
* CO_ADDRESS_FAMILY_PROXY is a flag OR-ed into an address family, not a family of its own, so
  :data:`AF_NAMES` leaves it out and :func:`af_name` renders it as a ``|CO_ADDRESS_FAMILY_PROXY``
  suffix.
* NDIS_MEDIUM stops at NdisMediumIP: the NdisMediumMax sentinel is not a medium, and its value
  moves between header versions, so it is not a member.
* Driver Verifier's NDIS rule codes (bug check 0xC4, Parameter 1) are a name-to-code mapping,
  :data:`NDIS_DV_RULE_CODES`. constants.md section 8 gives the WLAN rules only as the range
  0x00093004 to 0x0009400C; their individual codes come from the copy of the 0xC4 reference page
  in ``shared/spec/rules/bug-check-0xc4--driver-verifier-detected-violation.md``.
* Parameter 1 values of BUGCODE_NDIS_DRIVER (0x7C) are plain ``NDIS_BUGCHECK_*`` ints; 0x07 has
  no documented name and gets none. BUGCODE_NDIS_DRIVER_LIVE_DUMP (0x15E) adds two names of its
  own, NDIS_BUGCHECK_MINIPORT_FATAL_ERROR (0x01) and NDIS_BUGCHECK_STUCK_NBL (0x30), and shares
  NDIS_BUGCHECK_WATCHDOG (0x25); a Parameter 1 value is therefore only meaningful together with
  its bug check code.
"""

from __future__ import annotations

import enum
import operator
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, SupportsIndex

__all__ = [
    "AF_NAMES",
    "APC_LEVEL",
    "BROADCAST_VC",
    "BUGCHECK_NAMES",
    "BUGCODE_NDIS_DRIVER",
    "BUGCODE_NDIS_DRIVER_LIVE_DUMP",
    "CALL_PARAMETERS_CHANGED",
    "CLOCK_NETWORK_DERIVED",
    "CLOCK_PRECISION",
    "CO_ADDRESS_FAMILY_1394",
    "CO_ADDRESS_FAMILY_INFINIBAND",
    "CO_ADDRESS_FAMILY_IRDA",
    "CO_ADDRESS_FAMILY_L2TP",
    "CO_ADDRESS_FAMILY_PPP",
    "CO_ADDRESS_FAMILY_PROXY",
    "CO_ADDRESS_FAMILY_PSCHED",
    "CO_ADDRESS_FAMILY_Q2931",
    "CO_ADDRESS_FAMILY_TAPI",
    "CO_ADDRESS_FAMILY_TAPI_PROXY",
    "CO_SEND_FLAG_SET_DISCARD_ELIBILITY",
    "DISPATCH_LEVEL",
    "DRIVER_VERIFIER_DETECTED_VIOLATION",
    "ERRED_PACKET_INDICATION",
    "HIGH_LEVEL",
    "INDICATE_END_OF_TX",
    "INDICATE_ERRED_PACKETS",
    "KIRQL",
    "MULTIPOINT_VC",
    "NDIS_ATTRIBUTE_DO_NOT_BIND_TO_ALL_CO",
    "NDIS_ATTRIBUTE_NOT_CO_NDIS",
    "NDIS_BUGCHECK_ALLOCATE_SHARED_MEM_HIGH_IRQL",
    "NDIS_BUGCHECK_DRIVER_UNLOAD_UNEXPECTED",
    "NDIS_BUGCHECK_FREE_INVALID_SHARED_MEM",
    "NDIS_BUGCHECK_HALT_INIT_WITHOUT_CANCEL_TIMER",
    "NDIS_BUGCHECK_HALT_INIT_WITHOUT_INTERRUPT_DEREGISTER",
    "NDIS_BUGCHECK_HALT_WITHOUT_CANCEL_TIMER",
    "NDIS_BUGCHECK_HALT_WITHOUT_INTERRUPT_DEREGISTER",
    "NDIS_BUGCHECK_IFPROVIDER_DEREGISTER_UNEXPECTED",
    "NDIS_BUGCHECK_IF_STACK_TABLE_LOOP",
    "NDIS_BUGCHECK_ILLEGAL_MINIPORT_STATE_TRANSITION",
    "NDIS_BUGCHECK_ILLEGAL_NET_PNP_EVENT",
    "NDIS_BUGCHECK_INIT_FAILED_WITHOUT_CANCEL_TIMER",
    "NDIS_BUGCHECK_INIT_FAILED_WITHOUT_INTERRUPT_DEREGISTER",
    "NDIS_BUGCHECK_INVALID_NDIS5_CALL",
    "NDIS_BUGCHECK_INVALID_OBJECT_HEADER",
    "NDIS_BUGCHECK_INVALID_OID_COMPLETION",
    "NDIS_BUGCHECK_INVALID_OPEN_IN_BIND_CONTEXT",
    "NDIS_BUGCHECK_LEAKED_NBL",
    "NDIS_BUGCHECK_MINIPORT_FAILED_OID_WHICH_MUST_SUCCEED",
    "NDIS_BUGCHECK_MINIPORT_FATAL_ERROR",
    "NDIS_BUGCHECK_NFILTER_RECVD_PACKET_BAD_REF_COUNT",
    "NDIS_BUGCHECK_OID_REQUEST_INVALID_BUFFER",
    "NDIS_BUGCHECK_PD_ERROR",
    "NDIS_BUGCHECK_PM_INIT_FAILED_NO_CANCEL_TIMER",
    "NDIS_BUGCHECK_PM_INIT_FAILED_NO_INT_DEREGISTER",
    "NDIS_BUGCHECK_RECVD_PACKET_IN_USE_BAD_REF_COUNT",
    "NDIS_BUGCHECK_RECVD_PACKET_IN_USE_BAD_STACK_LOCATION",
    "NDIS_BUGCHECK_REFCOUNT_IMBALANCE",
    "NDIS_BUGCHECK_RESET_COMPLETE_UNEXPECTED",
    "NDIS_BUGCHECK_SHARED_MEM_CORRUPTION",
    "NDIS_BUGCHECK_STATUS_INDICATION_INVALID_BUFFER",
    "NDIS_BUGCHECK_STUCK_NBL",
    "NDIS_BUGCHECK_TFILTER_RECVD_PACKET_BAD_REF_COUNT",
    "NDIS_BUGCHECK_UNEXPECTED_FAILURE",
    "NDIS_BUGCHECK_UNLOAD_DRIVER_INVALID_PARAMETER",
    "NDIS_BUGCHECK_WAIT_EVENT_HIGH_IRQL",
    "NDIS_BUGCHECK_WATCHDOG",
    "NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1",
    "NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1",
    "NDIS_DV_RULE_CODES",
    "NDIS_HALT_ACTION",
    "NDIS_INTERNAL_ERROR",
    "NDIS_MEDIUM",
    "NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1",
    "NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1",
    "NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2",
    "NDIS_OBJECT_REVISION_1",
    "NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS",
    "NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS",
    "NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS",
    "NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS",
    "NDIS_OBJECT_TYPE_DEFAULT",
    "NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES",
    "NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES",
    "NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS",
    "NDIS_OBJECT_TYPE_OID_REQUEST",
    "NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS",
    "NDIS_OBJECT_TYPE_STATUS_INDICATION",
    "NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1",
    "NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1",
    "NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2",
    "NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL",
    "NDIS_RECEIVE_FLAGS_RESOURCES",
    "NDIS_RETURN_FLAGS_DISPATCH_LEVEL",
    "NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL",
    "NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK",
    "NDIS_SEND_FLAGS_DISPATCH_LEVEL",
    "PASSIVE_LEVEL",
    "PERMANENT_VC",
    "QUERY_CALL_PARAMETERS",
    "READABLE_LOCAL_CLOCK",
    "RECEIVE_TIME_INDICATION",
    "RECEIVE_TIME_INDICATION_CAPABLE",
    "RECEIVE_VC",
    "RESERVE_RESOURCES_VC",
    "ROUND_DOWN_FLOW",
    "ROUND_UP_FLOW",
    "TIMED_SEND_CAPABLE",
    "TIME_STAMP_CAPABLE",
    "TRANSMIT_VC",
    "USE_TIME_STAMPS",
    "af_name",
]


class Key(enum.Enum):
    """An Enum that hashes by identity, in C.

    `Enum.__hash__` is Python code (it hashes the member's name); the state
    and input enums are dict keys on every crossing (the machines' rows,
    the operation contract), so they hash as the singletons they are. Dicts
    keep insertion order, so nothing iterates in hash order.
    """

    __hash__ = object.__hash__


class _NamedIntEnum(enum.IntEnum):
    """An IntEnum whose ``str()`` is the bare member name, as the WDK spells it."""

    def __str__(self) -> str:
        return self.name


# ---------------------------------------------------------------------------------------------
# Section 1: IRQL levels (amd64)
# ---------------------------------------------------------------------------------------------


class KIRQL(_NamedIntEnum):
    """Interrupt request levels a DDI may be called at (amd64 numbering)."""

    PASSIVE_LEVEL = 0x0
    APC_LEVEL = 0x1
    DISPATCH_LEVEL = 0x2
    HIGH_LEVEL = 0xF


PASSIVE_LEVEL: Final = KIRQL.PASSIVE_LEVEL
APC_LEVEL: Final = KIRQL.APC_LEVEL
DISPATCH_LEVEL: Final = KIRQL.DISPATCH_LEVEL
HIGH_LEVEL: Final = KIRQL.HIGH_LEVEL

# ---------------------------------------------------------------------------------------------
# Section 3: address families (NDIS_AF, the AddressFamily member of CO_ADDRESS_FAMILY)
# ---------------------------------------------------------------------------------------------

CO_ADDRESS_FAMILY_Q2931: Final = 0x1  # ATM UNI signalling
CO_ADDRESS_FAMILY_PSCHED: Final = 0x2  # packet scheduler
CO_ADDRESS_FAMILY_L2TP: Final = 0x3
CO_ADDRESS_FAMILY_IRDA: Final = 0x4
CO_ADDRESS_FAMILY_1394: Final = 0x5
CO_ADDRESS_FAMILY_PPP: Final = 0x6
CO_ADDRESS_FAMILY_INFINIBAND: Final = 0x7
CO_ADDRESS_FAMILY_TAPI: Final = 0x800  # registered by NDPROXY
CO_ADDRESS_FAMILY_TAPI_PROXY: Final = 0x801  # registered by a TAPI-capable CoNDIS WAN MCM
CO_ADDRESS_FAMILY_PROXY: Final = 0x80000000  # flag bit OR-ed into an address family

AF_NAMES: Final[Mapping[int, str]] = MappingProxyType(
    {
        CO_ADDRESS_FAMILY_Q2931: "CO_ADDRESS_FAMILY_Q2931",
        CO_ADDRESS_FAMILY_PSCHED: "CO_ADDRESS_FAMILY_PSCHED",
        CO_ADDRESS_FAMILY_L2TP: "CO_ADDRESS_FAMILY_L2TP",
        CO_ADDRESS_FAMILY_IRDA: "CO_ADDRESS_FAMILY_IRDA",
        CO_ADDRESS_FAMILY_1394: "CO_ADDRESS_FAMILY_1394",
        CO_ADDRESS_FAMILY_PPP: "CO_ADDRESS_FAMILY_PPP",
        CO_ADDRESS_FAMILY_INFINIBAND: "CO_ADDRESS_FAMILY_INFINIBAND",
        CO_ADDRESS_FAMILY_TAPI: "CO_ADDRESS_FAMILY_TAPI",
        CO_ADDRESS_FAMILY_TAPI_PROXY: "CO_ADDRESS_FAMILY_TAPI_PROXY",
    }
)
"""Read-only map from address-family value to name; the PROXY flag is not a family."""


def af_name(value: SupportsIndex) -> str:
    """Name an NDIS_AF value, e.g. ``"CO_ADDRESS_FAMILY_TAPI|CO_ADDRESS_FAMILY_PROXY"``.

    A known family gets its name, followed by ``|CO_ADDRESS_FAMILY_PROXY`` when the proxy bit is
    set. Any other value (including the proxy bit on an unknown family) is rendered as
    ``0x%08X``. NDIS_AF is a ULONG: a value outside 0 to 0xFFFFFFFF raises ``ValueError``.
    """
    number = operator.index(value)
    if not 0 <= number <= 0xFFFFFFFF:
        raise ValueError(f"NDIS_AF value {number:#x} is outside the ULONG range")
    family = number & ~CO_ADDRESS_FAMILY_PROXY
    name = AF_NAMES.get(family)
    if name is None:
        return f"0x{number:08X}"
    if number & CO_ADDRESS_FAMILY_PROXY:
        return f"{name}|CO_ADDRESS_FAMILY_PROXY"
    return name


# ---------------------------------------------------------------------------------------------
# Section 4: flags
# ---------------------------------------------------------------------------------------------

# CO_CALL_PARAMETERS.Flags
PERMANENT_VC: Final = 0x00000001
CALL_PARAMETERS_CHANGED: Final = 0x00000002
QUERY_CALL_PARAMETERS: Final = 0x00000004
BROADCAST_VC: Final = 0x00000008
MULTIPOINT_VC: Final = 0x00000010

# CO_MEDIA_PARAMETERS.Flags
RECEIVE_TIME_INDICATION: Final = 0x00000001
USE_TIME_STAMPS: Final = 0x00000002
TRANSMIT_VC: Final = 0x00000004
RECEIVE_VC: Final = 0x00000008
INDICATE_ERRED_PACKETS: Final = 0x00000010
INDICATE_END_OF_TX: Final = 0x00000020
RESERVE_RESOURCES_VC: Final = 0x00000040
ROUND_DOWN_FLOW: Final = 0x00000080
ROUND_UP_FLOW: Final = 0x00000100

# Other connection-oriented flags
ERRED_PACKET_INDICATION: Final = 0x00000001  # receive indicated with an error
CO_SEND_FLAG_SET_DISCARD_ELIBILITY: Final = 0x00000001  # ATM CLP bit; spelling as in the header
# Timing capability flags (connection-oriented timing features)
READABLE_LOCAL_CLOCK: Final = 0x00000001
CLOCK_NETWORK_DERIVED: Final = 0x00000002
CLOCK_PRECISION: Final = 0x00000004
RECEIVE_TIME_INDICATION_CAPABLE: Final = 0x00000008
TIMED_SEND_CAPABLE: Final = 0x00000010
TIME_STAMP_CAPABLE: Final = 0x00000020
# NDIS 5 NdisMSetAttributesEx attribute flags
NDIS_ATTRIBUTE_NOT_CO_NDIS: Final = 0x00000100
NDIS_ATTRIBUTE_DO_NOT_BIND_TO_ALL_CO: Final = 0x00000400

# ---------------------------------------------------------------------------------------------
# Section 6: NDIS_OBJECT_HEADER types and revisions of the NDIS 6 (CoNDIS) structures
# ---------------------------------------------------------------------------------------------

NDIS_OBJECT_TYPE_DEFAULT: Final = 0x80
NDIS_OBJECT_TYPE_MINIPORT_DRIVER_CHARACTERISTICS: Final = 0x8A
NDIS_OBJECT_TYPE_CO_PROTOCOL_CHARACTERISTICS: Final = 0x90
NDIS_OBJECT_TYPE_CO_MINIPORT_CHARACTERISTICS: Final = 0x91
NDIS_OBJECT_TYPE_PROTOCOL_DRIVER_CHARACTERISTICS: Final = 0x95
NDIS_OBJECT_TYPE_OID_REQUEST: Final = 0x96
NDIS_OBJECT_TYPE_STATUS_INDICATION: Final = 0x98
NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES: Final = 0x9E
NDIS_OBJECT_TYPE_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES: Final = 0x9F
NDIS_OBJECT_TYPE_CO_CALL_MANAGER_OPTIONAL_HANDLERS: Final = 0xA5
NDIS_OBJECT_TYPE_CO_CLIENT_OPTIONAL_HANDLERS: Final = 0xA6

NDIS_OBJECT_REVISION_1: Final = 0x1
NDIS_PROTOCOL_CO_CHARACTERISTICS_REVISION_1: Final = 0x1
NDIS_MINIPORT_CO_CHARACTERISTICS_REVISION_1: Final = 0x1
NDIS_CO_CLIENT_OPTIONAL_HANDLERS_REVISION_1: Final = 0x1
NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS_REVISION_1: Final = 0x1
NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_1: Final = 0x1  # NDIS 6.0
NDIS_MINIPORT_DRIVER_CHARACTERISTICS_REVISION_2: Final = 0x2  # NDIS 6.1
NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_1: Final = 0x1  # NDIS 6.0
NDIS_PROTOCOL_DRIVER_CHARACTERISTICS_REVISION_2: Final = 0x2  # NDIS 6.1

# ---------------------------------------------------------------------------------------------
# NDIS_MEDIUM (not in constants.md)
# ---------------------------------------------------------------------------------------------


class NDIS_MEDIUM(_NamedIntEnum):
    """The medium a miniport runs on (OID_GEN_MEDIA_SUPPORTED, OID_GEN_MEDIA_IN_USE).

    Source: the NDIS_MEDIUM enumeration of the WDK ntddndis.h, read from two public copies.
    pedbsktbll/dynamic_libs, inc/api/ntddndis.h (Vista SP1 WDK, commit
    ad9ba98f4267a58d5237184837d429310810902b) declares NdisMedium802_3 through
    NdisMediumLoopback in the order below with no initialisers, so they are 0 to 17 (NdisMediumMax
    follows at 18 in that header). marlersoft/microsoft_windows_sdk_cpp, shared/ntddndis.h (a
    Windows 10 SDK, commit 16b53593a29860fea1706e7a862b2145c0f1b6ee) declares the same sequence and
    then, for Windows 7 and later, NdisMediumWiMAX and NdisMediumIP (18 and 19) before
    NdisMediumMax (20). The sentinel NdisMediumMax is deliberately not a member.
    """

    NdisMedium802_3 = 0
    NdisMedium802_5 = 1
    NdisMediumFddi = 2
    NdisMediumWan = 3
    NdisMediumLocalTalk = 4
    NdisMediumDix = 5  # defined for convenience; not a real medium
    NdisMediumArcnetRaw = 6
    NdisMediumArcnet878_2 = 7
    NdisMediumAtm = 8
    NdisMediumWirelessWan = 9
    NdisMediumIrda = 10
    NdisMediumBpc = 11
    NdisMediumCoWan = 12  # connection-oriented WAN, the medium of CoNDIS WAN miniports
    NdisMedium1394 = 13
    NdisMediumInfiniBand = 14
    NdisMediumTunnel = 15  # NDIS 6 (Vista) and later
    NdisMediumNative802_11 = 16  # NDIS 6 (Vista) and later
    NdisMediumLoopback = 17  # NDIS 6 (Vista) and later
    NdisMediumWiMAX = 18  # Windows 7 and later
    NdisMediumIP = 19  # Windows 7 and later


# ---------------------------------------------------------------------------------------------
# NDIS_HALT_ACTION (not in constants.md)
# ---------------------------------------------------------------------------------------------


class NDIS_HALT_ACTION(_NamedIntEnum):
    """Why NDIS calls MiniportHaltEx (its HaltAction parameter).

    Source: the NDIS_HALT_ACTION enumeration of the WDK ndis.h, read from the public copy
    pedbsktbll/dynamic_libs, inc/ddk/ndis.h (Vista SP1 WDK, NDIS 6.0/6.1, commit
    a1a9880cffd0bf3a3f3431ab1c581c58f3573275), where it is declared just before the
    MINIPORT_HALT_HANDLER type. The seven names are declared in the order below without
    initialisers, so the values 0 to 6 are their positions; all seven are verified there.
    """

    NdisHaltDeviceDisabled = 0
    NdisHaltDeviceInstanceDeInitialized = 1
    NdisHaltDevicePoweredDown = 2
    NdisHaltDeviceSurpriseRemoved = 3
    NdisHaltDeviceFailed = 4
    NdisHaltDeviceInitializationFailed = 5
    NdisHaltDeviceStopped = 6


# ---------------------------------------------------------------------------------------------
# Section 8: bug check codes
# ---------------------------------------------------------------------------------------------

NDIS_INTERNAL_ERROR: Final = 0x4F
BUGCODE_NDIS_DRIVER: Final = 0x7C
DRIVER_VERIFIER_DETECTED_VIOLATION: Final = 0xC4
BUGCODE_NDIS_DRIVER_LIVE_DUMP: Final = 0x15E  # a live dump code: the system keeps running

BUGCHECK_NAMES: Final[Mapping[int, str]] = MappingProxyType(
    {
        NDIS_INTERNAL_ERROR: "NDIS_INTERNAL_ERROR",
        BUGCODE_NDIS_DRIVER: "BUGCODE_NDIS_DRIVER",
        DRIVER_VERIFIER_DETECTED_VIOLATION: "DRIVER_VERIFIER_DETECTED_VIOLATION",
        BUGCODE_NDIS_DRIVER_LIVE_DUMP: "BUGCODE_NDIS_DRIVER_LIVE_DUMP",
    }
)
"""Read-only map from the four NDIS-related bug check codes to their names."""

# BUGCODE_NDIS_DRIVER (0x7C), Parameter 1. 0x07 (FDDI receive with a packet descriptor still in
# use) has no documented name.
NDIS_BUGCHECK_ALLOCATE_SHARED_MEM_HIGH_IRQL: Final = 0x01
NDIS_BUGCHECK_SHARED_MEM_CORRUPTION: Final = 0x02
NDIS_BUGCHECK_FREE_INVALID_SHARED_MEM: Final = 0x03
NDIS_BUGCHECK_UNLOAD_DRIVER_INVALID_PARAMETER: Final = 0x04
NDIS_BUGCHECK_RECVD_PACKET_IN_USE_BAD_STACK_LOCATION: Final = 0x05
NDIS_BUGCHECK_RECVD_PACKET_IN_USE_BAD_REF_COUNT: Final = 0x06
NDIS_BUGCHECK_HALT_WITHOUT_INTERRUPT_DEREGISTER: Final = 0x08
NDIS_BUGCHECK_HALT_WITHOUT_CANCEL_TIMER: Final = 0x09
NDIS_BUGCHECK_DRIVER_UNLOAD_UNEXPECTED: Final = 0x0A
NDIS_BUGCHECK_INIT_FAILED_WITHOUT_INTERRUPT_DEREGISTER: Final = 0x0B
NDIS_BUGCHECK_INIT_FAILED_WITHOUT_CANCEL_TIMER: Final = 0x0C
NDIS_BUGCHECK_HALT_INIT_WITHOUT_INTERRUPT_DEREGISTER: Final = 0x0D
NDIS_BUGCHECK_HALT_INIT_WITHOUT_CANCEL_TIMER: Final = 0x0E
NDIS_BUGCHECK_RESET_COMPLETE_UNEXPECTED: Final = 0x0F
NDIS_BUGCHECK_PM_INIT_FAILED_NO_INT_DEREGISTER: Final = 0x10
NDIS_BUGCHECK_PM_INIT_FAILED_NO_CANCEL_TIMER: Final = 0x11
NDIS_BUGCHECK_NFILTER_RECVD_PACKET_BAD_REF_COUNT: Final = 0x12
NDIS_BUGCHECK_TFILTER_RECVD_PACKET_BAD_REF_COUNT: Final = 0x13
NDIS_BUGCHECK_WAIT_EVENT_HIGH_IRQL: Final = 0x14
NDIS_BUGCHECK_INVALID_NDIS5_CALL: Final = 0x15
NDIS_BUGCHECK_INVALID_OPEN_IN_BIND_CONTEXT: Final = 0x16
NDIS_BUGCHECK_IFPROVIDER_DEREGISTER_UNEXPECTED: Final = 0x17
NDIS_BUGCHECK_IF_STACK_TABLE_LOOP: Final = 0x1B
NDIS_BUGCHECK_MINIPORT_FAILED_OID_WHICH_MUST_SUCCEED: Final = 0x1C
NDIS_BUGCHECK_OID_REQUEST_INVALID_BUFFER: Final = 0x1D
NDIS_BUGCHECK_REFCOUNT_IMBALANCE: Final = 0x1E
NDIS_BUGCHECK_ILLEGAL_MINIPORT_STATE_TRANSITION: Final = 0x1F
NDIS_BUGCHECK_STATUS_INDICATION_INVALID_BUFFER: Final = 0x20
NDIS_BUGCHECK_INVALID_OBJECT_HEADER: Final = 0x21
NDIS_BUGCHECK_ILLEGAL_NET_PNP_EVENT: Final = 0x22
NDIS_BUGCHECK_PD_ERROR: Final = 0x23
NDIS_BUGCHECK_UNEXPECTED_FAILURE: Final = 0x24
NDIS_BUGCHECK_WATCHDOG: Final = 0x25  # also a BUGCODE_NDIS_DRIVER_LIVE_DUMP Parameter 1
NDIS_BUGCHECK_INVALID_OID_COMPLETION: Final = 0x26
NDIS_BUGCHECK_LEAKED_NBL: Final = 0x27

# BUGCODE_NDIS_DRIVER_LIVE_DUMP (0x15E), Parameter 1 values not shared with 0x7C. Note that 0x01
# means NDIS_BUGCHECK_ALLOCATE_SHARED_MEM_HIGH_IRQL under 0x7C.
NDIS_BUGCHECK_MINIPORT_FATAL_ERROR: Final = 0x01
NDIS_BUGCHECK_STUCK_NBL: Final = 0x30

NDIS_DV_RULE_CODES: Final[Mapping[str, int]] = MappingProxyType(
    {
        # NDIS DDI compliance rules
        "NdisOidComplete": 0x00091001,
        "NdisOidDoubleComplete": 0x00091002,
        "NdisOidDoubleRequest": 0x0009100E,
        # NDIS/WIFI verification rules
        "NdisTimedOidComplete": 0x00092003,
        "NdisTimedDataSend": 0x0009200D,
        "NdisTimedDataHang": 0x0009200F,
        "NdisFilterTimedPauseComplete": 0x00092010,
        "NdisFilterTimedDataSend": 0x00092011,
        "NdisFilterTimedDataReceive": 0x00092012,
        # WLAN rules: individual codes from the copy of the 0xC4 page in shared/spec/rules/
        "WlanAssociation": 0x00093004,
        "WlanConnectionRoaming": 0x00093005,
        "WlanDisassociation": 0x00093006,
        "WlanAssert": 0x00093101,
        "WlanTimedAssociation": 0x00094007,
        "WlanTimedConnectionRoaming": 0x00094008,
        "WlanTimedConnectRequest": 0x00094009,
        "WlanTimedLinkQuality": 0x0009400B,
        "WlanTimedScan": 0x0009400C,
    }
)
"""Read-only map from an NDIS Driver Verifier rule to its bug check 0xC4 Parameter 1 code."""

# Send, send-complete, receive and return flags of the data DDIs: ndis.h values (the pages of
# NdisCoSendNetBufferLists, NdisMCoSendNetBufferListsComplete,
# NdisMCoIndicateReceiveNetBufferLists and NdisReturnNetBufferLists name them).
NDIS_SEND_FLAGS_DISPATCH_LEVEL: Final = 0x00000001
NDIS_SEND_FLAGS_CHECK_FOR_LOOPBACK: Final = 0x00000002
NDIS_SEND_COMPLETE_FLAGS_DISPATCH_LEVEL: Final = 0x00000001
NDIS_RECEIVE_FLAGS_DISPATCH_LEVEL: Final = 0x00000001
NDIS_RECEIVE_FLAGS_RESOURCES: Final = 0x00000002
NDIS_RETURN_FLAGS_DISPATCH_LEVEL: Final = 0x00000001
