"""Address families: registration, open, close, and call-manager-initiated close.

Theory of operation (guide/registering-and-opening-an-address-family.md,
guide/closing-an-address-family*.md, guide/closing-a-condis-call-manager-or-mcm.md
and the DDI pages named below).

Two kinds of object live here.

An `AfRegistration` is a call manager's offer of one AF type on one NIC: an
MCM makes it with NdisMCmRegisterAddressFamilyEx from MiniportInitializeEx,
a stand-alone call manager with NdisCmRegisterAddressFamilyEx on a binding.
Only one call manager may offer a given AF type on a NIC; an MCM's offer
displaces a stand-alone call manager's offer of the same type. NDIS announces
each offer to each bound CoNDIS protocol once, with ProtocolCoAfRegisterNotify
at PASSIVE_LEVEL: after MiniportInitializeEx has returned and the protocol's
bind has completed, after the call manager's own bind has completed, or,
when the offer is made later, from NDIS work queued by the DDI (it runs
when the scheduler next runs).

An `AddressFamily` is one client's open of one offer, named by the
NdisAfHandle that NDIS issues in NdisClOpenAddressFamilyEx and passes to
ProtocolCmOpenAf. Its life is the table `AF_TRANSITIONS`; each pendable step
also follows the completion contract in ops.py:

    open     NdisClOpenAddressFamilyEx -> ProtocolCmOpenAf
             [PENDING -> Ndis(M)CmOpenAddressFamilyComplete -> ProtocolClOpenAfCompleteEx]
    close    NdisClCloseAddressFamily -> ProtocolCmCloseAf
             [PENDING -> Ndis(M)CmCloseAddressFamilyComplete -> ProtocolClCloseAfComplete]
    notify   Ndis(M)CmNotifyCloseAddressFamily -> ProtocolClNotifyCloseAf
             [PENDING -> NdisClNotifyCloseAddressFamilyComplete -> ProtocolCmNotifyCloseAfComplete]

The handle is valid for the two sides at different times, and this module
tracks both: for the client from the successful end of the open until it
calls NdisClCloseAddressFamily (and, while a notification it pended is
outstanding, for NdisClNotifyCloseAddressFamilyComplete); for the call
manager from ProtocolCmOpenAf until the close completes (when
Ndis(M)CmCloseAddressFamilyComplete returns, or ProtocolCmCloseAf returns
NDIS_STATUS_SUCCESS) or a failed open completes.

Choices the pages leave open, and what condis does:

* NDIS matches an open to an offer by AddressFamily.AddressFamily alone; the
  versions are the call manager's to judge in ProtocolCmOpenAf.
* ProtocolCoAfRegisterNotify goes to every bound CoNDIS protocol except the
  call manager that made the offer; a call manager's ProtocolCoAfRegisterNotify
  "simply returns control", as its page says.
* ProtocolCmCloseAf returning NDIS_STATUS_NOT_ACCEPTED refuses the close: the
  AF stays open and its handle valid for the client, and
  NdisClCloseAddressFamily returns NDIS_STATUS_NOT_ACCEPTED.
* Ndis(M)CmCloseAddressFamilyComplete's Status "is set to
  NDIS_STATUS_SUCCESS"; another status is a CoNdisCompleteStatus violation
  and, in collect mode, refuses the close as above.
* Ndis(M)CmNotifyCloseAddressFamily on an AF that is not open, or that
  already has a notification outstanding, returns NDIS_STATUS_FAILURE.
* A client's ProtocolClNotifyCloseAf (or its completion) reporting
  NDIS_STATUS_SUCCESS while the AF is still open, without the client having
  called NdisClCloseAddressFamily, is a violation (CoNdisNotifyCloseNotClosed).
* A displaced offer takes no new opens; AFs already open on it stay open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any, Final

from condis.adapters import Adapter, AdapterState
from condis.bindings import Binding, BindingMixin, BindingState, OpenState
from condis.constants import PASSIVE_LEVEL
from condis.drivers import DriverBlock
from condis.errors import CondisInternalError
from condis.handles import AdapterHandle, AfHandle, BindingHandle
from condis.ops import Operation, OpInput
from condis.runtime import Returns, ddi, handler
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_ADDRESS_FAMILY, NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS

__all__ = [
    "AF_TRANSITIONS",
    "AfInput",
    "AfMixin",
    "AfRegistration",
    "AfState",
    "OpenAddressFamily",
]

handler(
    "ProtocolCoAfRegisterNotify",
    "ProtocolCmOpenAf",
    "ProtocolClOpenAfCompleteEx",
    "ProtocolCmCloseAf",
    "ProtocolClCloseAfComplete",
    "ProtocolClNotifyCloseAf",
    "ProtocolCmNotifyCloseAfComplete",
)


class AfState(Enum):
    OPENING = "opening"
    OPEN = "open"
    CLOSING = "closing"
    CLOSED = "closed"


class AfInput(Enum):
    OPEN_SUCCEEDED = "open completed with NDIS_STATUS_SUCCESS"
    OPEN_FAILED = "open completed with a failure"
    CLOSE = "NdisClCloseAddressFamily"
    CLOSE_SUCCEEDED = "close completed"
    CLOSE_REFUSED = "close refused"


@dataclass(frozen=True, slots=True)
class AfTransition:
    target: AfState
    #: the WDK page that documents the row
    page: str


_S, _I = AfState, AfInput
AF_TRANSITIONS: Final[Mapping[tuple[AfState, AfInput], AfTransition]] = MappingProxyType(
    {
        (_S.OPENING, _I.OPEN_SUCCEEDED): AfTransition(
            _S.OPEN, "ddi/nf-ndis-ndiscmopenaddressfamilycomplete.md"
        ),
        (_S.OPENING, _I.OPEN_FAILED): AfTransition(
            _S.CLOSED, "ddi/nc-ndis-protocol_cl_open_af_complete_ex.md"
        ),
        (_S.OPEN, _I.CLOSE): AfTransition(_S.CLOSING, "ddi/nf-ndis-ndisclcloseaddressfamily.md"),
        (_S.CLOSING, _I.CLOSE_SUCCEEDED): AfTransition(
            _S.CLOSED, "ddi/nf-ndis-ndiscmcloseaddressfamilycomplete.md"
        ),
        (_S.CLOSING, _I.CLOSE_REFUSED): AfTransition(
            _S.OPEN, "ddi/nc-ndis-protocol_cm_close_af.md"
        ),
    }
)
del _S, _I


@dataclass(eq=False, slots=True)
class AfRegistration:
    """A call manager's offer of one AF type on one adapter."""

    family: CO_ADDRESS_FAMILY
    adapter: Adapter
    cm: DriverBlock
    #: the stand-alone call manager's binding; None for an MCM
    binding: Binding | None
    announced: bool = False
    withdrawn: bool = False
    displaced: bool = False
    notified: list[Binding] = field(default_factory=list)
    afs: list[OpenAddressFamily] = field(default_factory=list)

    @property
    def is_mcm(self) -> bool:
        return self.binding is None

    @property
    def cm_handlers(self) -> NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS:
        handlers = self.cm.call_manager if self.binding is None else self.binding.cm_handlers
        if handlers is None:
            raise CondisInternalError(f"{self.cm.name} has no call-manager handlers")
        return handlers

    @property
    def cm_binding_context(self) -> object:
        """CallMgrBindingContext: the MCM's adapter context or the CM's binding context."""
        return self.adapter.context if self.binding is None else self.binding.context

    @property
    def live(self) -> bool:
        return not self.withdrawn

    def spelling(self, stem: str) -> str:
        """The DDI name this call manager must use: NdisMCm... for an MCM."""
        return ("NdisMCm" if self.is_mcm else "NdisCm") + stem


@dataclass(eq=False, slots=True)
class OpenAddressFamily:
    """One client's open of one AF offer (NdisAfHandle)."""

    handle: AfHandle
    registration: AfRegistration
    client: Binding
    family: CO_ADDRESS_FAMILY
    client_context: object
    open_op: Operation
    state: AfState = AfState.OPENING
    cm_context: object = None
    client_valid: bool = False
    cm_valid: bool = True
    close_op: Operation | None = None
    notify_op: Operation | None = None

    def move(self, event: AfInput) -> None:
        row = AF_TRANSITIONS.get((self.state, event))
        if row is None:
            raise CondisInternalError(f"AF {self.handle.label}: {event.value} in {self.state}")
        self.state = row.target

    @property
    def cm(self) -> DriverBlock:
        return self.registration.cm

    @property
    def notifying(self) -> bool:
        return self.notify_op is not None and self.notify_op.outstanding


class AfMixin(BindingMixin):
    """The address-family DDIs and the NDIS side of their handlers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._registrations: list[AfRegistration] = []
        self._afs: list[OpenAddressFamily] = []

    @property
    def registrations(self) -> tuple[AfRegistration, ...]:
        """Every AF offer that is live, in registration order."""
        return tuple(r for r in self._registrations if r.live)

    @property
    def address_families(self) -> tuple[OpenAddressFamily, ...]:
        """Every AF whose handle is still valid for either side."""
        return tuple(a for a in self._afs if self.handles.is_live(a.handle))

    # --- announcing offers ---------------------------------------------------------------

    def _announce(self, reg: AfRegistration) -> None:
        """Tell every bound CoNDIS protocol on the adapter about `reg`."""
        if reg.withdrawn:
            return
        reg.announced = True
        for binding in list(reg.adapter.bindings):
            self._notify_offer(binding, reg)

    def _notify_offer(self, binding: Binding, reg: AfRegistration) -> None:
        if (
            reg.withdrawn
            or binding is reg.binding
            or binding in reg.notified
            or binding.state is not BindingState.RUNNING
        ):
            return
        co = binding.co_handlers
        if co is None or co.CoAfRegisterNotifyHandler is None:
            return
        reg.notified.append(binding)
        self._call_void(
            binding.protocol,
            "ProtocolCoAfRegisterNotify",
            co.CoAfRegisterNotifyHandler,
            binding.context,
            reg.family,
            handle=binding.handle,
            irql=PASSIVE_LEVEL,
        )

    def _adapter_started(self, adapter: Adapter) -> None:
        for reg in adapter.registrations:
            reg.announced = True  # clients hear of it as each bind completes
        super()._adapter_started(adapter)

    def _binding_bound(self, binding: Binding) -> None:
        super()._binding_bound(binding)
        for reg in list(binding.adapter.registrations):
            if reg.announced and reg.binding is not binding:
                self._notify_offer(binding, reg)
        for reg in list(binding.registrations):
            if not reg.announced:
                self._announce(reg)

    # --- teardown ---------------------------------------------------------------------------

    def _af_children(self, af: OpenAddressFamily) -> list[str]:
        """Hook: labels of what still lives on the AF (SAPs, VCs: sap.py, vc.py)."""
        return []

    def _af_operations(self, af: OpenAddressFamily) -> list[Operation]:
        """Hook: every operation on the AF or on what lives on it."""
        return [op for op in (af.open_op, af.close_op, af.notify_op) if op is not None]

    def _check_teardown(
        self,
        afs: list[OpenAddressFamily],
        where: str,
        driver: DriverBlock,
        *,
        refused: bool = False,
    ) -> None:
        for af in afs:
            for op in self._af_operations(af):
                if op is not None and op.outstanding:
                    self._violation(
                        "CoNdisPendingOnTeardown",
                        ddi=where,
                        driver=driver,
                        handle=af.handle,
                        detail=f"{op.kind} operation #{op.id} ({op.handler}) is still "
                        f"{op.state.value}",
                        refused=refused,
                    )
            if af.state is not AfState.CLOSED:
                self._violation(
                    "CoNdisAfOpenOnTeardown",
                    ddi=where,
                    driver=driver,
                    handle=af.handle,
                    detail=f"AF {af.handle.label} of {af.client.protocol.name} is still "
                    f"{af.state.value}",
                    refused=refused,
                )

    def _withdraw(self, reg: AfRegistration) -> None:
        reg.withdrawn = True
        if reg in reg.adapter.registrations:
            reg.adapter.registrations.remove(reg)

    def _binding_closing(self, binding: Binding, ddi_name: str) -> None:
        super()._binding_closing(binding, ddi_name)
        # Checked when NdisCloseAdapterEx is called, before it changes anything.
        live = [af for af in binding.afs if self.handles.is_live(af.handle)]
        self._check_teardown(live, ddi_name, binding.protocol, refused=True)
        for reg in binding.registrations:
            self._check_teardown(
                [af for af in reg.afs if self.handles.is_live(af.handle)],
                ddi_name,
                binding.protocol,
                refused=True,
            )
        for reg in binding.registrations:
            self._withdraw(reg)

    def _adapter_halted(self, adapter: Adapter) -> None:
        super()._adapter_halted(adapter)
        for reg in list(adapter.registrations):
            if reg.is_mcm:
                self._check_teardown(
                    [af for af in reg.afs if self.handles.is_live(af.handle)],
                    "MiniportHaltEx",
                    reg.cm,
                )
            self._withdraw(reg)

    def _adapter_init_failed(self, adapter: Adapter) -> None:
        super()._adapter_init_failed(adapter)
        for reg in list(adapter.registrations):
            self._withdraw(reg)

    def _release(self, af: OpenAddressFamily) -> None:
        """Close the handle once neither side may use it."""
        if af.client_valid or af.cm_valid or af.notifying:
            return
        if self.handles.is_live(af.handle):
            self.handles.close(af.handle)
        if af in af.client.afs:
            af.client.afs.remove(af)
        if af in af.registration.afs:
            af.registration.afs.remove(af)

    # --- handle checks ------------------------------------------------------------------------

    def _af_for_client(self, ddi_name: str, handle: object) -> OpenAddressFamily | None:
        af = self._resolve(ddi_name, "NdisAfHandle", handle, AfHandle)
        if not isinstance(af, OpenAddressFamily):
            return None
        if not af.client_valid:
            rule = "NdisHandleNotYetValid" if af.state is AfState.OPENING else "NdisHandleStale"
            why = (
                "is not valid for the client until its open completes"
                if af.state is AfState.OPENING
                else "became invalid for the client when it called NdisClCloseAddressFamily"
            )
            self._violation(
                rule,
                refused=True,
                ddi=ddi_name,
                driver=self.current_driver or af.client.protocol,
                handle=af.handle,
                detail=f"NdisAfHandle {af.handle.label} {why}",
            )
            return None
        return af

    def _af_for_cm(self, ddi_name: str, handle: object) -> OpenAddressFamily | None:
        af = self._resolve(ddi_name, "NdisAfHandle", handle, AfHandle)
        if not isinstance(af, OpenAddressFamily):
            return None
        if not af.cm_valid:
            self._violation(
                "NdisHandleStale",
                refused=True,
                ddi=ddi_name,
                driver=self.current_driver or af.cm,
                handle=af.handle,
                detail=f"NdisAfHandle {af.handle.label} is no longer valid for the call manager",
            )
            return None
        return af

    @staticmethod
    def _family_arg(ddi_name: str, value: object) -> CO_ADDRESS_FAMILY:
        if value is None:
            raise ValueError(f"{ddi_name}: AddressFamily is required (got None)")
        if not isinstance(value, CO_ADDRESS_FAMILY):
            raise TypeError(
                f"{ddi_name}: AddressFamily must be a CO_ADDRESS_FAMILY, not {type(value).__name__}"
            )
        if isinstance(value.AddressFamily, bool) or not isinstance(value.AddressFamily, int):
            raise TypeError(f"{ddi_name}: AddressFamily.AddressFamily must be an int (NDIS_AF)")
        return value

    # --- registration -------------------------------------------------------------------------

    @ddi("NdisMCmRegisterAddressFamilyEx")
    def NdisMCmRegisterAddressFamilyEx(
        self, MiniportAdapterHandle: AdapterHandle, AddressFamily: CO_ADDRESS_FAMILY
    ) -> NDIS_STATUS:
        """An MCM offers an AF on its adapter (nf-ndis-ndismcmregisteraddressfamilyex).

        Returns SUCCESS; FAILURE when the caller did not register as a CoNDIS
        miniport with call-manager handlers, when the adapter already has an
        MCM offer of this AF type, or when the adapter is halting; RESOURCES
        when NDIS cannot allocate its tracking state.
        """
        name = "NdisMCmRegisterAddressFamilyEx"
        family = self._family_arg(name, AddressFamily)
        adapter = self._adapter_for(name, MiniportAdapterHandle)
        if adapter is None:
            return NDIS_STATUS_FAILURE
        with self._begin(name, adapter.driver, handle=MiniportAdapterHandle) as call:
            if not adapter.driver.is_mcm:
                return call.status(NDIS_STATUS_FAILURE)
            if adapter.state not in (AdapterState.INITIALIZING, AdapterState.RUNNING):
                return call.status(NDIS_STATUS_FAILURE)
            for reg in adapter.registrations:
                if reg.is_mcm and reg.family.AddressFamily == family.AddressFamily:
                    return call.status(NDIS_STATUS_FAILURE)
            if self._allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES)
            for reg in list(adapter.registrations):
                if reg.family.AddressFamily == family.AddressFamily:
                    reg.displaced = True
                    self._withdraw(reg)
            reg = AfRegistration(family=family, adapter=adapter, cm=adapter.driver, binding=None)
            self._registrations.append(reg)
            adapter.registrations.append(reg)
            if adapter.state is AdapterState.RUNNING:
                self._defer("NDIS announces an address family", lambda: self._announce(reg))
            return call.status(NDIS_STATUS_SUCCESS)

    @ddi("NdisCmRegisterAddressFamilyEx")
    def NdisCmRegisterAddressFamilyEx(
        self, NdisBindingHandle: BindingHandle, AddressFamily: CO_ADDRESS_FAMILY
    ) -> NDIS_STATUS:
        """A stand-alone call manager offers an AF on a binding.

        (nf-ndis-ndiscmregisteraddressfamilyex) Returns SUCCESS; FAILURE when
        the caller is not a CoNDIS call manager, the adapter's miniport is not
        a CoNDIS miniport, another call manager (or an MCM) already offers this
        AF type on the adapter, or the binding is closing; RESOURCES when NDIS
        cannot allocate.
        """
        name = "NdisCmRegisterAddressFamilyEx"
        family = self._family_arg(name, AddressFamily)
        binding = self._binding_for(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE
        with self._begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            if not binding.is_call_manager or binding.co_handlers is None:
                return call.status(NDIS_STATUS_FAILURE)
            if not binding.adapter.driver.is_co_miniport:
                return call.status(NDIS_STATUS_FAILURE)
            if binding.state is BindingState.CLOSING or binding.open_state is not OpenState.OPEN:
                return call.status(NDIS_STATUS_FAILURE)
            for reg in binding.adapter.registrations:
                if reg.family.AddressFamily == family.AddressFamily:
                    return call.status(NDIS_STATUS_FAILURE)
            if self._allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES)
            reg = AfRegistration(
                family=family, adapter=binding.adapter, cm=binding.protocol, binding=binding
            )
            self._registrations.append(reg)
            binding.adapter.registrations.append(reg)
            binding.registrations.append(reg)
            if binding.state is BindingState.RUNNING:
                self._defer("NDIS announces an address family", lambda: self._announce(reg))
            return call.status(NDIS_STATUS_SUCCESS)

    # --- open ---------------------------------------------------------------------------------

    @ddi("NdisClOpenAddressFamilyEx")
    def NdisClOpenAddressFamilyEx(
        self,
        NdisBindingHandle: BindingHandle,
        AddressFamily: CO_ADDRESS_FAMILY,
        ClientAfContext: object,
    ) -> tuple[NDIS_STATUS, AfHandle | None]:
        """A client opens an AF offered on its adapter (nf-ndis-ndisclopenaddressfamilyex).

        Returns (status, NdisAfHandle). NDIS calls the call manager's
        ProtocolCmOpenAf; its status comes back here: SUCCESS (the handle is
        valid), PENDING (the handle is valid once ProtocolClOpenAfCompleteEx
        reports success), or its failure (no handle). NDIS itself returns
        FAILURE when no live offer of that AF type is on the adapter or the
        client's or the call manager's binding is closing, and RESOURCES when
        it cannot allocate.
        """
        name = "NdisClOpenAddressFamilyEx"
        family = self._family_arg(name, AddressFamily)
        binding = self._binding_for(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE, None
        with self._begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            if not binding.is_client or binding.state is BindingState.CLOSING:
                return call.status(NDIS_STATUS_FAILURE), None
            reg = next(
                (
                    r
                    for r in binding.adapter.registrations
                    if r.family.AddressFamily == family.AddressFamily and r.live
                ),
                None,
            )
            if reg is None or (
                reg.binding is not None and reg.binding.state is not BindingState.RUNNING
            ):
                return call.status(NDIS_STATUS_FAILURE), None
            if self._allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            handle = self.handles.issue(AfHandle, None)
            op = self._new_op(
                "open-af", "ProtocolCmOpenAf", (reg.spelling("OpenAddressFamilyComplete"),), handle
            )
            af = OpenAddressFamily(
                handle=handle,
                registration=reg,
                client=binding,
                family=family,
                client_context=ClientAfContext,
                open_op=op,
            )
            self.handles.attach(handle, af)
            self._afs.append(af)
            binding.afs.append(af)
            reg.afs.append(af)
            call.handle = handle
            status, context = self._invoke(
                reg.cm,
                "ProtocolCmOpenAf",
                reg.cm_handlers.CmOpenAfHandler,
                reg.cm_binding_context,
                family,
                handle,
                handle=handle,
                op=op.id,
                returns=Returns.STATUS_OUT,
            )
            assert status is not None
            pended = status == NDIS_STATUS_PENDING
            row = self._step_op(
                op,
                OpInput.RETURNED_PENDING if pended else OpInput.RETURNED,
                "ProtocolCmOpenAf",
                reg.cm,
                handle,
            )
            if pended or not row.delivers:
                return call.status(status, result=handle), handle
            self._open_finished(af, status, context)
            if status == NDIS_STATUS_SUCCESS:
                return call.status(status, result=handle), handle
            return call.status(status), None

    def _open_finished(self, af: OpenAddressFamily, status: NDIS_STATUS, context: object) -> None:
        if status == NDIS_STATUS_SUCCESS:
            af.move(AfInput.OPEN_SUCCEEDED)
            af.cm_context = context
            af.client_valid = True
        else:
            af.move(AfInput.OPEN_FAILED)
            af.cm_valid = False
            self._release(af)

    def _open_af_complete(
        self, spelling: str, Status: object, NdisAfHandle: object, CallMgrAfContext: object
    ) -> None:
        status = self._status_arg(spelling, "Status", Status)
        af = self._af_for_cm(spelling, NdisAfHandle)
        if af is None:
            return None
        with self._begin(spelling, af.cm, handle=af.handle, op=af.open_op.id) as call:
            if not self._complete_op(af.open_op, spelling, af.cm, af.handle):
                return call.void()
            succeeded = status == NDIS_STATUS_SUCCESS
            if succeeded:
                af.move(AfInput.OPEN_SUCCEEDED)
                af.cm_context = CallMgrAfContext
                af.client_valid = True
            else:
                af.move(AfInput.OPEN_FAILED)
            client = af.client
            handlers = client.client_handlers
            assert handlers is not None
            self._call_passive(
                "NDIS calls ProtocolClOpenAfCompleteEx",
                lambda: self._call_void(
                    client.protocol,
                    "ProtocolClOpenAfCompleteEx",
                    handlers.ClOpenAfCompleteHandlerEx,
                    af.client_context,
                    af.handle if succeeded else None,
                    status,
                    handle=af.handle,
                    op=af.open_op.id,
                    irql=PASSIVE_LEVEL,
                ),
            )
            if not succeeded:
                af.cm_valid = False
                self._release(af)
            return call.void()

    @ddi("NdisCmOpenAddressFamilyComplete")
    def NdisCmOpenAddressFamilyComplete(
        self, Status: NDIS_STATUS, NdisAfHandle: AfHandle, CallMgrAfContext: object
    ) -> None:
        """A stand-alone call manager completes a pended open.

        (nf-ndis-ndiscmopenaddressfamilycomplete) NDIS calls the client's
        ProtocolClOpenAfCompleteEx, at PASSIVE_LEVEL: from a work item of its
        own when this is called at DISPATCH_LEVEL.
        """
        self._open_af_complete(
            "NdisCmOpenAddressFamilyComplete", Status, NdisAfHandle, CallMgrAfContext
        )

    @ddi("NdisMCmOpenAddressFamilyComplete")
    def NdisMCmOpenAddressFamilyComplete(
        self, Status: NDIS_STATUS, NdisAfHandle: AfHandle, CallMgrAfContext: object
    ) -> None:
        """An MCM completes a pended open: the ndis.h macro for NdisCmOpenAddressFamilyComplete."""
        self._open_af_complete(
            "NdisMCmOpenAddressFamilyComplete", Status, NdisAfHandle, CallMgrAfContext
        )

    # --- client-initiated close ------------------------------------------------------------

    @ddi("NdisClCloseAddressFamily")
    def NdisClCloseAddressFamily(self, NdisAfHandle: AfHandle) -> NDIS_STATUS:
        """A client closes an AF (nf-ndis-ndisclcloseaddressfamily).

        The handle is invalid for the client from this call on. NDIS calls the
        call manager's ProtocolCmCloseAf and returns its status: SUCCESS,
        PENDING (ProtocolClCloseAfComplete follows), or NOT_ACCEPTED (the AF
        stays open).
        """
        name = "NdisClCloseAddressFamily"
        af = self._af_for_client(name, NdisAfHandle)
        if af is None:
            return NDIS_STATUS_FAILURE
        with self._begin(name, af.client.protocol, handle=af.handle) as call:
            if af.state is not AfState.OPEN:
                return call.status(NDIS_STATUS_FAILURE)
            children = self._af_children(af)
            if children:
                self._violation(
                    "CoNdisAfCloseWithChildren",
                    refused=True,
                    ddi=name,
                    driver=af.client.protocol,
                    handle=af.handle,
                    detail=f"{af.handle.label} still has {', '.join(children)}",
                )
                return call.status(NDIS_STATUS_FAILURE)
            reg = af.registration
            af.client_valid = False
            af.move(AfInput.CLOSE)
            op = self._new_op(
                "close-af",
                "ProtocolCmCloseAf",
                (reg.spelling("CloseAddressFamilyComplete"),),
                af.handle,
            )
            af.close_op = op
            call.op = op.id
            status = self._call_status(
                reg.cm,
                "ProtocolCmCloseAf",
                reg.cm_handlers.CmCloseAfHandler,
                af.cm_context,
                handle=af.handle,
                op=op.id,
            )
            if status not in (NDIS_STATUS_SUCCESS, NDIS_STATUS_PENDING, NDIS_STATUS_NOT_ACCEPTED):
                self._violation(
                    "CoNdisHandlerStatus",
                    ddi="ProtocolCmCloseAf",
                    driver=reg.cm,
                    handle=af.handle,
                    detail=f"returned {status}; ProtocolCmCloseAf returns NDIS_STATUS_SUCCESS, "
                    "NDIS_STATUS_PENDING or NDIS_STATUS_NOT_ACCEPTED",
                )
                status = NDIS_STATUS_NOT_ACCEPTED
            pended = status == NDIS_STATUS_PENDING
            row = self._step_op(
                op,
                OpInput.RETURNED_PENDING if pended else OpInput.RETURNED,
                "ProtocolCmCloseAf",
                reg.cm,
                af.handle,
            )
            if row.delivers:
                self._close_finished(af, status)
            return call.status(status)

    def _close_finished(self, af: OpenAddressFamily, status: NDIS_STATUS) -> None:
        if status == NDIS_STATUS_SUCCESS:
            af.move(AfInput.CLOSE_SUCCEEDED)
            af.cm_valid = False
            self._release(af)
        else:
            af.move(AfInput.CLOSE_REFUSED)
            af.client_valid = True

    def _close_af_complete(self, spelling: str, Status: object, NdisAfHandle: object) -> None:
        status = self._status_arg(spelling, "Status", Status)
        af = self._af_for_cm(spelling, NdisAfHandle)
        if af is None:
            return None
        op_id = None if af.close_op is None else af.close_op.id
        with self._begin(spelling, af.cm, handle=af.handle, op=op_id) as call:
            # Report a bad Status before the operation is consumed, so that a strict
            # host is left as it was.
            op = af.close_op
            if status != NDIS_STATUS_SUCCESS and op is not None and op.outstanding:
                self._violation(
                    "CoNdisCompleteStatus",
                    refused=True,
                    ddi=spelling,
                    driver=af.cm,
                    handle=af.handle,
                    detail=f"Status is {status}; the call manager sets it to NDIS_STATUS_SUCCESS",
                )
            if not self._complete_op(af.close_op, spelling, af.cm, af.handle):
                return call.void()
            if status != NDIS_STATUS_SUCCESS:
                self._close_finished(af, status)
                return call.void()
            af.move(AfInput.CLOSE_SUCCEEDED)
            handlers = af.client.client_handlers
            assert handlers is not None
            self._call_void(
                af.client.protocol,
                "ProtocolClCloseAfComplete",
                handlers.ClCloseAfCompleteHandler,
                status,
                af.client_context,
                handle=af.handle,
                op=op_id,
            )
            af.cm_valid = False
            self._release(af)
            return call.void()

    @ddi("NdisCmCloseAddressFamilyComplete")
    def NdisCmCloseAddressFamilyComplete(self, Status: NDIS_STATUS, NdisAfHandle: AfHandle) -> None:
        """A stand-alone call manager completes a pended close.

        (nf-ndis-ndiscmcloseaddressfamilycomplete) NDIS calls the client's
        ProtocolClCloseAfComplete; the handle is invalid for the call manager
        from this call on.
        """
        self._close_af_complete("NdisCmCloseAddressFamilyComplete", Status, NdisAfHandle)

    @ddi("NdisMCmCloseAddressFamilyComplete")
    def NdisMCmCloseAddressFamilyComplete(
        self, Status: NDIS_STATUS, NdisAfHandle: AfHandle
    ) -> None:
        """An MCM completes a pended close: the ndis.h macro for NdisCmCloseAddressFamilyComplete.

        When it returns, the handle is invalid for the MCM (seed page).
        """
        self._close_af_complete("NdisMCmCloseAddressFamilyComplete", Status, NdisAfHandle)

    # --- call-manager-initiated close ------------------------------------------------------

    def _notify_close(self, spelling: str, NdisAfHandle: object) -> NDIS_STATUS:
        af = self._af_for_cm(spelling, NdisAfHandle)
        if af is None:
            return NDIS_STATUS_FAILURE
        reg = af.registration
        with self._begin(spelling, af.cm, handle=af.handle) as call:
            expected = reg.spelling("NotifyCloseAddressFamily")
            if spelling != expected:
                self._violation(
                    "CoNdisMcmSpelling",
                    refused=True,
                    ddi=spelling,
                    driver=af.cm,
                    handle=af.handle,
                    detail=f"{af.cm.name} is "
                    f"{'an MCM' if reg.is_mcm else 'a stand-alone call manager'} "
                    f"and must call {expected}",
                )
            if af.state is not AfState.OPEN or af.notifying:
                return call.status(NDIS_STATUS_FAILURE)
            op = self._new_op(
                "notify-close-af",
                "ProtocolClNotifyCloseAf",
                ("NdisClNotifyCloseAddressFamilyComplete",),
                af.handle,
            )
            af.notify_op = op
            call.op = op.id
            handlers = af.client.client_handlers
            assert handlers is not None
            status = self._call_status(
                af.client.protocol,
                "ProtocolClNotifyCloseAf",
                handlers.ClNotifyCloseAfHandler,
                af.client_context,
                handle=af.handle,
                op=op.id,
            )
            pended = status == NDIS_STATUS_PENDING
            row = self._step_op(
                op,
                OpInput.RETURNED_PENDING if pended else OpInput.RETURNED,
                "ProtocolClNotifyCloseAf",
                af.client.protocol,
                af.handle,
            )
            if row.delivers:
                self._check_notify_result(af, status, "ProtocolClNotifyCloseAf")
                self._release(af)
            return call.status(status)

    def _check_notify_result(self, af: OpenAddressFamily, status: NDIS_STATUS, where: str) -> None:
        if status == NDIS_STATUS_SUCCESS and af.state is AfState.OPEN:
            self._violation(
                "CoNdisNotifyCloseNotClosed",
                ddi=where,
                driver=af.client.protocol,
                handle=af.handle,
                detail=f"reported NDIS_STATUS_SUCCESS but never called NdisClCloseAddressFamily "
                f"for {af.handle.label}",
            )

    @ddi("NdisCmNotifyCloseAddressFamily")
    def NdisCmNotifyCloseAddressFamily(self, NdisAfHandle: AfHandle) -> NDIS_STATUS:
        """A stand-alone call manager asks the client to close an AF.

        (nf-ndis-ndiscmnotifycloseaddressfamily) NDIS calls the client's
        ProtocolClNotifyCloseAf and returns its status; on PENDING, NDIS calls
        ProtocolCmNotifyCloseAfComplete when the client completes. FAILURE when
        the AF is not open or a notification is already outstanding.
        """
        return self._notify_close("NdisCmNotifyCloseAddressFamily", NdisAfHandle)

    @ddi("NdisMCmNotifyCloseAddressFamily")
    def NdisMCmNotifyCloseAddressFamily(self, NdisAfHandle: AfHandle) -> NDIS_STATUS:
        """An MCM asks the client to close an AF (the ndis.h macro for
        NdisCmNotifyCloseAddressFamily); called from MiniportHaltEx."""
        return self._notify_close("NdisMCmNotifyCloseAddressFamily", NdisAfHandle)

    @ddi("NdisClNotifyCloseAddressFamilyComplete")
    def NdisClNotifyCloseAddressFamilyComplete(
        self, NdisAfHandle: AfHandle, Status: NDIS_STATUS
    ) -> None:
        """The client completes a close notification it pended.

        (nf-ndis-ndisclnotifycloseaddressfamilycomplete) NDIS then calls the
        call manager's ProtocolCmNotifyCloseAfComplete with Status.
        """
        name = "NdisClNotifyCloseAddressFamilyComplete"
        status = self._status_arg(name, "Status", Status)
        af = self._resolve(name, "NdisAfHandle", NdisAfHandle, AfHandle)
        if not isinstance(af, OpenAddressFamily):
            return None
        op_id = None if af.notify_op is None else af.notify_op.id
        with self._begin(name, af.client.protocol, handle=af.handle, op=op_id) as call:
            if not self._complete_op(af.notify_op, name, af.client.protocol, af.handle):
                return call.void()
            self._check_notify_result(af, status, name)
            self._call_void(
                af.cm,
                "ProtocolCmNotifyCloseAfComplete",
                af.registration.cm_handlers.CmNotifyCloseAfCompleteHandler,
                af.cm_context,
                status,
                handle=af.handle,
                op=op_id,
            )
            self._release(af)
            return call.void()
