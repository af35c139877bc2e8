"""Handle resolution: from the handle a driver passes to the record NDIS keeps.

Every DDI that takes a handle resolves it here first (the kernel's module
docstring, step 2). `Resolver.handle` tells apart a live handle of the
right kind, a handle of another kind (NdisHandleWrongKind), a handle this
host closed (NdisHandleStale) and one it never issued (NdisHandleForeign);
each violation is reported as refused, so the DDI changes nothing. The
typed resolvers below add what makes a live handle usable by one side: an
AF handle is valid for the client and for the call manager at different
times (af.py), a SAP's likewise (sap.py), an NdisBindingHandle is not valid
until its adapter open completes, and a call manager's DDI on a VC must be
spelled for the adapter it is on (NdisMCm... on an MCM's).

A handle that is not an NDIS handle at all is Python's error, not a rule:
TypeError, or ValueError for None, naming the DDI and the parameter.
"""

from __future__ import annotations

from typing import TypeVar

from condis.handles import (
    NDIS_HANDLE,
    AdapterHandle,
    AfHandle,
    BindingHandle,
    DriverHandle,
    PartyHandle,
    Resolution,
    SapHandle,
    VcHandle,
)
from condis.kernel import Kernel
from condis.machines import BINDING_OPEN, AfState, OpenInput
from condis.records import (
    Adapter,
    Binding,
    DriverBlock,
    OpenAddressFamily,
    Party,
    RegisteredSap,
    Vc,
)

__all__ = ["Resolver"]

T = TypeVar("T")

_WHAT = {
    Resolution.FOREIGN: ("NdisHandleForeign", "was not issued by this host"),
    Resolution.STALE: ("NdisHandleStale", "is no longer valid (closed)"),
}


def _a(kind: str) -> str:
    """The kind with its article: 'an NdisAfHandle', 'a MiniportAdapterHandle'."""
    return ("an " if kind[0] in "AEIOUN" else "a ") + kind


class Resolver:
    """Turns the handles drivers pass into NDIS's records, or reports why not."""

    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def handle(
        self, ddi_name: str, param: str, handle: object, kind: type[NDIS_HANDLE]
    ) -> object | None:
        """The object `handle` stands for, or None after reporting a violation.

        Raises TypeError if `handle` is not an NDIS handle at all.
        """
        k = self.k
        if k.crashed is not None:
            k.check_alive()
        if handle.__class__ is kind:  # the common case: one dict read
            obj = k.handles.live_object(handle)
            if obj is not None:
                return obj
        if handle is None:
            raise ValueError(f"{ddi_name}: {param} is required (got None)")
        if not isinstance(handle, NDIS_HANDLE):
            raise TypeError(
                f"{ddi_name}: {param} must be {_a(kind.KIND)} issued by NDIS, "
                f"not {type(handle).__name__}"
            )
        found = k.handles.resolve(handle, kind)
        if found is Resolution.OK:
            return k.handles.lookup(handle)
        if found is Resolution.WRONG_KIND:
            rule_id, what = "NdisHandleWrongKind", f"is not {_a(kind.KIND)}"
        else:
            rule_id, what = _WHAT[found]
        k.violation(
            rule_id,
            refused=True,
            ddi=ddi_name,
            driver=k.current_driver,
            handle=handle,
            detail=f"{param} {handle.label} {what}",
        )
        return None

    def typed(
        self, ddi_name: str, param: str, handle: object, kind: type[NDIS_HANDLE], record: type[T]
    ) -> T | None:
        """`handle` resolved to a record of type `record`, or None."""
        obj = self.handle(ddi_name, param, handle, kind)
        return obj if isinstance(obj, record) else None

    def optional(
        self, ddi_name: str, param: str, handle: object, kind: type[NDIS_HANDLE]
    ) -> tuple[bool, object]:
        """(ok, object) for an optional handle; (True, None) when it is None."""
        if handle is None:
            return True, None
        obj = self.handle(ddi_name, param, handle, kind)
        return obj is not None, obj

    # --- drivers, adapters, bindings -------------------------------------------------------

    def driver(self, ddi_name: str, param: str, handle: object) -> DriverBlock | None:
        return self.typed(ddi_name, param, handle, DriverHandle, DriverBlock)

    def adapter(
        self, ddi_name: str, handle: object, param: str = "MiniportAdapterHandle"
    ) -> Adapter | None:
        return self.typed(ddi_name, param, handle, AdapterHandle, Adapter)

    def binding(self, ddi_name: str, param: str, handle: object) -> Binding | None:
        """An NdisBindingHandle that must be open for its protocol."""
        binding = self.typed(ddi_name, param, handle, BindingHandle, Binding)
        if binding is None:
            return None
        row = BINDING_OPEN.guard(binding.open_state, OpenInput.USE)
        if row.refused:
            self.k.refuse(
                row,
                ddi=ddi_name,
                driver=self.k.current_driver or binding.protocol,
                handle=binding.handle,
                detail=f"{param} is not valid until ProtocolOpenAdapterCompleteEx reports the open",
            )
            return None
        return binding

    def owner_of(
        self, ddi_name: str, handle: object, param: str = "NdisObjectHandle"
    ) -> tuple[DriverBlock, Adapter | None] | None:
        """An NDIS object handle: an adapter handle or a driver handle."""
        if isinstance(handle, AdapterHandle):
            adapter = self.adapter(ddi_name, handle, param)
            return None if adapter is None else (adapter.driver, adapter)
        block = self.driver(ddi_name, param, handle)
        return None if block is None else (block, None)

    # --- address families and SAPs ---------------------------------------------------------

    def af(self, ddi_name: str, handle: object) -> OpenAddressFamily | None:
        return self.typed(ddi_name, "NdisAfHandle", handle, AfHandle, OpenAddressFamily)

    def af_for_client(self, ddi_name: str, handle: object) -> OpenAddressFamily | None:
        af = self.af(ddi_name, handle)
        if af is None:
            return None
        if not af.client_valid:
            opening = af.state is AfState.OPENING
            why = (
                "is not valid for the client until its open completes"
                if opening
                else "became invalid for the client when it called NdisClCloseAddressFamily"
            )
            self.k.violation(
                "NdisHandleNotYetValid" if opening else "NdisHandleStale",
                refused=True,
                ddi=ddi_name,
                driver=self.k.current_driver or af.client.protocol,
                handle=af.handle,
                detail=f"NdisAfHandle {af.handle.label} {why}",
            )
            return None
        return af

    def af_for_cm(self, ddi_name: str, handle: object) -> OpenAddressFamily | None:
        af = self.af(ddi_name, handle)
        if af is None:
            return None
        if not af.cm_valid:
            self.k.violation(
                "NdisHandleStale",
                refused=True,
                ddi=ddi_name,
                driver=self.k.current_driver or af.cm,
                handle=af.handle,
                detail=f"NdisAfHandle {af.handle.label} is no longer valid for the call manager",
            )
            return None
        return af

    def sap(self, ddi_name: str, handle: object) -> RegisteredSap | None:
        return self.typed(ddi_name, "NdisSapHandle", handle, SapHandle, RegisteredSap)

    def sap_for_cm(self, ddi_name: str, handle: object) -> RegisteredSap | None:
        sap = self.sap(ddi_name, handle)
        if sap is None:
            return None
        if not sap.cm_valid:
            self.k.violation(
                "NdisHandleStale",
                refused=True,
                ddi=ddi_name,
                driver=self.k.current_driver or sap.af.cm,
                handle=sap.handle,
                detail=f"NdisSapHandle {sap.handle.label} is no longer valid for the call manager",
            )
            return None
        return sap

    # --- VCs and parties ----------------------------------------------------------------------

    def vc(self, ddi_name: str, handle: object, param: str = "NdisVcHandle") -> Vc | None:
        return self.typed(ddi_name, param, handle, VcHandle, Vc)

    def spelled_for(self, ddi_name: str, vc: Vc) -> bool:
        """Whether `ddi_name` is the spelling of `vc`'s call manager: NdisMCm* on an MCM's
        adapter, NdisCm* elsewhere. A wrong one is CoNdisMcmSpelling, refused."""
        if vc.mcm == ddi_name.startswith("NdisMCm"):
            return True
        expected = "NdisMCm" if vc.mcm else "NdisCm"
        self.k.violation(
            "CoNdisMcmSpelling",
            refused=True,
            ddi=ddi_name,
            driver=self.k.current_driver or vc.cm,
            handle=vc.handle,
            detail=f"{vc.handle.label} is on {vc.adapter.name}; use the {expected} spelling",
        )
        return False

    def vc_for_cm(self, ddi_name: str, handle: object) -> Vc | None:
        """The VC a call manager's DDI names, in the spelling its adapter calls for."""
        vc = self.vc(ddi_name, handle)
        return vc if vc is not None and self.spelled_for(ddi_name, vc) else None

    def client_vc(self, ddi_name: str, handle: object) -> Vc | None:
        """A VC handle used by the client side of its AF."""
        vc = self.vc(ddi_name, handle)
        if vc is None:
            return None
        if vc.af is None:
            self.k.violation(
                "NdisHandleForeign",
                refused=True,
                ddi=ddi_name,
                driver=self.k.current_driver,
                handle=vc.handle,
                detail=f"{vc.handle.label} is a call manager's own VC, not a client's",
            )
            return None
        return vc

    def party(self, ddi_name: str, handle: object) -> Party | None:
        return self.typed(ddi_name, "NdisPartyHandle", handle, PartyHandle, Party)
