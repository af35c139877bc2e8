"""Names for VCs: TAPI call IDs and WMI instance names.

(nf-ndis-ndiscogettapicallid.md, nf-ndis-ndisclgetprotocolvccontextfromtapicallid.md,
nf-ndis-ndiscoassigninstancename.md)

A client hands a TAPI application a string naming a VC (NdisCoGetTapiCallId,
returned in a TAPI VAR_STRING) and later turns such a string back into its
own VC context (NdisClGetProtocolVcContextFromTapiCallId). A client or call
manager can also give a VC an instance name under which WMI can see it
(NdisCoAssignInstanceName).

Choices the pages leave open, and what condis does:

* The TAPI call ID is the UTF-16LE string "VC:<n>", n the VC's number on this
  host, in a VAR_STRING of format STRINGFORMAT_UNICODE (3) after the
  structure's 24-byte header, with a terminating NUL; ulNeededSize counts
  header, string and NUL.
* NdisCoGetTapiCallId returns NDIS_STATUS_INVALID_DATA for a VC handle that is
  no longer valid, as its page says, instead of reporting a stale handle.
* An instance name is the base name followed by " #<k>", k counting the VCs
  named on the adapter from 1; a VC named before keeps its name.
* These three DDIs' pages give their IRQL as DISPATCH_LEVEL exactly, and
  condis checks it as written (Irql_Connection_Function /
  Irql_Protocol_Driver_Function).
"""

from __future__ import annotations

from typing import Protocol

from condis.core import Core, Engine
from condis.crossing import ddi
from condis.handles import VcHandle
from condis.records import DriverBlock, Vc
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_BUFFER_TOO_SHORT,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import STRINGFORMAT_UNICODE, VAR_STRING

__all__ = ["STRINGFORMAT_UNICODE", "VAR_STRING", "VcNameEngine", "VcSource"]

_VAR_STRING_HEADER = 24  # six ULONGs


class VcSource(Protocol):
    """Where the live VCs are listed (vc.py's engine)."""

    @property
    def vcs(self) -> tuple[Vc, ...]: ...


class VcNameEngine(Engine):
    """The VC naming DDIs."""

    __slots__ = ("_vcs",)

    def __init__(self, core: Core, vcs: VcSource) -> None:
        super().__init__(core)
        self._vcs = vcs

    @staticmethod
    def _tapi_id(vc: Vc) -> str:
        return f"VC:{vc.handle.serial}"

    def _not_its_vc(self, ddi_name: str, vc: Vc, caller: DriverBlock | None) -> bool:
        """A VC is named by its ends: its client and its call manager (its creator, for
        a call manager's own VC). Another driver's call is NdisHandleForeign, refused."""
        ends = {vc.creator} if vc.af is None else {vc.af.client.protocol, vc.af.cm, vc.creator}
        if caller is None or caller in ends:
            return False
        self.k.violation(
            "NdisHandleForeign",
            refused=True,
            ddi=ddi_name,
            driver=caller,
            handle=vc.handle,
            detail=f"{vc.handle.label} belongs to {', '.join(sorted(d.name for d in ends))}, "
            f"not {caller.name}",
        )
        return True

    @ddi("NdisCoGetTapiCallId")
    def NdisCoGetTapiCallId(self, NdisVcHandle: VcHandle, TapiCallId: VAR_STRING) -> NDIS_STATUS:
        """Get a string that names a VC for TAPI applications.

        SUCCESS (TapiCallId filled in), BUFFER_TOO_SHORT (ulNeededSize says how
        big ulTotalSize must be), or INVALID_DATA for a VC handle that is not
        valid.
        """
        name = "NdisCoGetTapiCallId"
        if not isinstance(TapiCallId, VAR_STRING):
            raise TypeError(
                f"{name}: TapiCallId must be a VAR_STRING, not {type(TapiCallId).__name__}"
            )
        if not isinstance(NdisVcHandle, VcHandle):
            raise TypeError(f"{name}: NdisVcHandle must be an NdisVcHandle issued by NDIS")
        vc = self.k.handles.lookup(NdisVcHandle) if self.k.handles.is_live(NdisVcHandle) else None
        caller = self.k.current_driver or (vc.creator if isinstance(vc, Vc) else None)
        with self.k.begin(name, caller, handle=NdisVcHandle) as c:
            if not isinstance(vc, Vc) or self._not_its_vc(name, vc, caller):
                return c.status(NDIS_STATUS_INVALID_DATA)
            text = (self._tapi_id(vc) + "\0").encode("utf-16-le")
            needed = _VAR_STRING_HEADER + len(text)
            TapiCallId.ulNeededSize = needed
            if TapiCallId.ulTotalSize < needed:
                TapiCallId.ulUsedSize = _VAR_STRING_HEADER
                return c.status(NDIS_STATUS_BUFFER_TOO_SHORT)
            TapiCallId.ulUsedSize = needed
            TapiCallId.ulStringFormat = STRINGFORMAT_UNICODE
            TapiCallId.ulStringSize = len(text)
            TapiCallId.ulStringOffset = _VAR_STRING_HEADER
            TapiCallId.String = text
            return c.status(NDIS_STATUS_SUCCESS)

    @ddi("NdisClGetProtocolVcContextFromTapiCallId")
    def NdisClGetProtocolVcContextFromTapiCallId(
        self, TapiCallId: str
    ) -> tuple[NDIS_STATUS, object]:
        """Turn a TAPI call ID string back into the client's VC context.

        Returns (SUCCESS, ProtocolVcContext) or (FAILURE, None).
        """
        name = "NdisClGetProtocolVcContextFromTapiCallId"
        if not isinstance(TapiCallId, str):
            raise TypeError(
                f"{name}: TapiCallId must be a str (a UNICODE_STRING), not "
                f"{type(TapiCallId).__name__}"
            )
        wanted = TapiCallId.rstrip("\0")
        vc = next(
            (v for v in self._vcs.vcs if self._tapi_id(v) == wanted and v.af is not None), None
        )
        caller: DriverBlock | None = self.k.current_driver
        if caller is None and vc is not None and vc.af is not None:
            caller = vc.af.client.protocol
        with self.k.begin(name, caller) as c:
            if (
                vc is None
                or vc.af is None
                or (caller is not None and caller is not vc.af.client.protocol)
            ):
                return c.status(NDIS_STATUS_FAILURE), None
            return c.status(NDIS_STATUS_SUCCESS, result=vc.client_context), vc.client_context

    @ddi("NdisCoAssignInstanceName")
    def NdisCoAssignInstanceName(
        self, NdisVcHandle: VcHandle, BaseInstanceName: str
    ) -> tuple[NDIS_STATUS, str | None]:
        """Give a VC a WMI instance name (nf-ndis-ndiscoassigninstancename).

        Returns (status, VcInstanceName): SUCCESS with the (possibly earlier)
        name, RESOURCES when NDIS cannot allocate, FAILURE when an MCM calls
        it or the base name is empty. The page says an MCM "cannot use
        NdisCoAssignInstanceName to name its VCs" (it registers its own GUIDs
        instead); a client names its VCs on an MCM's adapter like any other.
        """
        name = "NdisCoAssignInstanceName"
        if not isinstance(BaseInstanceName, str):
            raise TypeError(
                f"{name}: BaseInstanceName must be a str (an NDIS_STRING), not "
                f"{type(BaseInstanceName).__name__}"
            )
        vc = self.resolve.vc(name, NdisVcHandle)
        if vc is None:
            return NDIS_STATUS_FAILURE, None
        caller = self.k.current_driver or vc.creator
        with self.k.begin(name, caller, handle=vc.handle) as c:
            if self._not_its_vc(name, vc, caller):
                return c.status(NDIS_STATUS_FAILURE), None
            if caller.is_mcm or not BaseInstanceName:
                return c.status(NDIS_STATUS_FAILURE), None
            existing = vc.instance_name
            if existing is not None:
                return c.status(NDIS_STATUS_SUCCESS, result=existing), existing
            if self.k.allocation_fails(name):
                return c.status(NDIS_STATUS_RESOURCES), None
            vc.adapter.vc_names += 1
            instance = f"{BaseInstanceName} #{vc.adapter.vc_names}"
            vc.instance_name = instance
            return c.status(NDIS_STATUS_SUCCESS, result=instance), instance
