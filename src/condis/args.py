"""Checks of the plain Python arguments of the DDIs (not handles: resolve.py).

A DDI given a value of the wrong Python type, or a value no driver could
mean (None where a structure is required, a negative size), gets a
TypeError or ValueError whose message names the DDI and the parameter by its
WDK name. These are Python's contract, not NDIS rules, so they are not
violations; they are raised before the DDI records anything.
"""

from __future__ import annotations

from condis.status import NDIS_STATUS
from condis.structs import (
    CO_ADDRESS_FAMILY,
    CO_CALL_PARAMETERS,
    NDIS_OBJECT_HEADER,
    NDIS_OID_REQUEST,
    NET_BUFFER,
    NET_BUFFER_LIST,
)

__all__ = [
    "buffer",
    "call_parameters",
    "family",
    "flags",
    "header",
    "nbl_chain",
    "oid_request",
    "status",
]


def status(ddi: str, param: str, value: object) -> NDIS_STATUS:
    """A Status argument, as an NDIS_STATUS (a completion's value is judged by
    operations.py, once NDIS knows whose completion it is)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{ddi}: {param} must be an NDIS_STATUS, not {type(value).__name__}")
    try:
        return value if type(value) is NDIS_STATUS else NDIS_STATUS(value)
    except ValueError:
        raise ValueError(
            f"{ddi}: {param} {value:#x} is not an NDIS_STATUS (a 32-bit value)"
        ) from None


def header(ddi: str, param: str, struct: object) -> None:
    """A structure's Header must be an NDIS_OBJECT_HEADER (its Type and Revision are the
    DDI's to judge)."""
    found = getattr(struct, "Header", None)
    if not isinstance(found, NDIS_OBJECT_HEADER):
        raise TypeError(
            f"{ddi}: {param}.Header must be an NDIS_OBJECT_HEADER, not {type(found).__name__}"
        )


def family(ddi: str, value: object) -> CO_ADDRESS_FAMILY:
    if value is None:
        raise ValueError(f"{ddi}: AddressFamily is required (got None)")
    if not isinstance(value, CO_ADDRESS_FAMILY):
        raise TypeError(
            f"{ddi}: AddressFamily must be a CO_ADDRESS_FAMILY, not {type(value).__name__}"
        )
    if isinstance(value.AddressFamily, bool) or not isinstance(value.AddressFamily, int):
        raise TypeError(f"{ddi}: AddressFamily.AddressFamily must be an int (NDIS_AF)")
    return value


def call_parameters(ddi: str, value: object) -> CO_CALL_PARAMETERS:
    if value is None:
        raise ValueError(f"{ddi}: CallParameters is required (got None)")
    if not isinstance(value, CO_CALL_PARAMETERS):
        raise TypeError(
            f"{ddi}: CallParameters must be a CO_CALL_PARAMETERS, not {type(value).__name__}"
        )
    return value


def oid_request(ddi: str, value: object, param: str = "OidRequest") -> NDIS_OID_REQUEST:
    if value is None:
        raise ValueError(f"{ddi}: {param} is required (got None)")
    if not isinstance(value, NDIS_OID_REQUEST):
        raise TypeError(f"{ddi}: {param} must be an NDIS_OID_REQUEST, not {type(value).__name__}")
    return value


def buffer(ddi: str, data: object, size: object) -> None:
    """A Buffer (bytes or None) and its Size (a non-negative int)."""
    if data is not None and not isinstance(data, bytes | bytearray):
        raise TypeError(f"{ddi}: Buffer must be bytes or None, not {type(data).__name__}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(f"{ddi}: Size must be a non-negative int, not {size!r}")


def flags(ddi: str, param: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{ddi}: {param} must be a non-negative int, not {value!r}")
    return value


def nbl_chain(ddi: str, nbls: object) -> list[NET_BUFFER_LIST]:
    """The NBLs linked from `nbls` through Next, in order."""
    if nbls is None:
        raise ValueError(f"{ddi}: NetBufferLists is required (got None)")
    if not isinstance(nbls, NET_BUFFER_LIST):
        raise TypeError(
            f"{ddi}: NetBufferLists must be a NET_BUFFER_LIST, not {type(nbls).__name__}"
        )
    chain: list[NET_BUFFER_LIST] = []
    seen: set[int] = set()
    nbl: object = nbls
    while nbl is not None:
        if nbl.__class__ is not NET_BUFFER_LIST and not isinstance(nbl, NET_BUFFER_LIST):
            raise TypeError(
                f"{ddi}: NetBufferLists[{len(chain)}] (a Next link) must be a NET_BUFFER_LIST "
                f"or None, not {type(nbl).__name__}"
            )
        key = id(nbl)
        if key in seen:
            raise ValueError(
                f"{ddi}: NetBufferLists is a cycle, not a list "
                f"(NetBufferLists[{len(chain)}] repeats)"
            )
        seen.add(key)
        nb = nbl.FirstNetBuffer
        # the common case, one NET_BUFFER of bytes, checked inline
        if nb is not None and not (
            nb.__class__ is NET_BUFFER and nb.Next is None and nb.Data.__class__ is bytes
        ):
            _net_buffers(ddi, f"NetBufferLists[{len(chain)}]", nbl)
        chain.append(nbl)
        nbl = nbl.Next
    return chain


def _net_buffers(ddi: str, where: str, nbl: NET_BUFFER_LIST) -> None:
    """Check an NBL's NET_BUFFER list: each a NET_BUFFER with bytes, no cycle."""
    seen: set[int] = set()
    nb: object = nbl.FirstNetBuffer
    n = 0
    while nb is not None:
        if not isinstance(nb, NET_BUFFER):
            raise TypeError(
                f"{ddi}: {where}.FirstNetBuffer, buffer {n}, must be a NET_BUFFER or None, "
                f"not {type(nb).__name__}"
            )
        if id(nb) in seen:
            raise ValueError(f"{ddi}: {where}'s NET_BUFFERs form a cycle (buffer {n} repeats)")
        if not isinstance(nb.Data, bytes | bytearray | memoryview):
            raise TypeError(
                f"{ddi}: {where}, buffer {n}: Data must be bytes, not {type(nb.Data).__name__}"
            )
        seen.add(id(nb))
        nb = nb.Next
        n += 1
