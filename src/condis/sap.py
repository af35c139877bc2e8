"""Service access points: where a client asks to be offered incoming calls.

Theory of operation (guide/registering-a-sap.md, guide/deregistering-a-sap.md
and the pages of the DDIs below).

A client registers a SAP on an AF it has open:

    NdisClRegisterSap -> ProtocolCmRegisterSap
        [PENDING -> Ndis(M)CmRegisterSapComplete -> ProtocolClRegisterSapComplete]

and deregisters it:

    NdisClDeregisterSap -> ProtocolCmDeregisterSap
        [PENDING -> Ndis(M)CmDeregisterSapComplete] -> ProtocolClDeregisterSapComplete

The NdisSapHandle is valid for the call manager from ProtocolCmRegisterSap on
("a client can receive incoming calls on a SAP even while SAP registration is
still pending") until the deregistration completes or a failed registration
is completed; for the client from the successful end of the registration
until it calls NdisClDeregisterSap.

Choices the pages leave open, and what condis does:

* NdisClDeregisterSap's page documents two returns: NDIS_STATUS_PENDING ("the
  call manager's ProtocolCmDeregisterSap has been called ... NDIS calls
  ProtocolClDeregisterSapComplete when this operation is completed") and
  NDIS_STATUS_FAILURE for a redundant call. condis follows it: when
  ProtocolCmDeregisterSap finishes synchronously, NDIS calls the client's
  ProtocolClDeregisterSapComplete itself, and NdisClDeregisterSap returns
  NDIS_STATUS_PENDING.
* A second NdisClDeregisterSap while the first is still in progress returns
  NDIS_STATUS_FAILURE, as documented; once the SAP is gone its handle is
  stale (NdisHandleStale).
* A call manager failing a deregistration leaves the SAP registered and its
  handle valid for the client.
* A client may not close an AF that still has SAPs: NdisClCloseAddressFamily
  returns NDIS_STATUS_FAILURE (ProtocolClCloseAfComplete's page) after the
  verifier reports CoNdisAfCloseWithChildren.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final

import condis.args as args
from condis.core import Core, Engine
from condis.crossing import Returns, ddi, handler
from condis.handles import AfHandle, SapHandle
from condis.machines import AF, SAP, AfInput, SapInput, SapState
from condis.ops import OPERATIONS, Operation
from condis.records import OpenAddressFamily, RegisteredSap
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
)
from condis.structs import CO_SAP
from condis.verifier.leaks import Leak

__all__ = ["SAP_TRANSITIONS", "RegisteredSap", "SapEngine", "SapInput", "SapState"]

handler(
    "ProtocolCmRegisterSap",
    "ProtocolClRegisterSapComplete",
    "ProtocolCmDeregisterSap",
    "ProtocolClDeregisterSapComplete",
)


#: The legal rows of the SAP machine, as (state, input) -> next state.
SAP_TRANSITIONS: Final[Mapping[tuple[SapState, SapInput], SapState]] = SAP.targets()


class SapEngine(Engine):
    """The SAP DDIs and every SAP registered."""

    __slots__ = ("_saps",)

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self._saps: dict[RegisteredSap, None] = {}

    def leaks(self) -> Iterator[Leak]:
        for sap in self.saps:
            owner = sap.af.client.protocol.name
            yield Leak("SAP", sap.handle.label, owner, f"still {sap.state.value}").at(
                sap.handle.born
            )

    def invariants(self) -> Iterator[str]:
        for sap in self._saps:
            if self.k.handles.is_live(sap.handle) and not self.k.handles.is_live(sap.af.handle):
                yield f"{sap.handle.label} is live on {sap.af.handle.label}, which is closed"
            if sap.client_valid and sap.state is not SapState.REGISTERED:
                yield f"{sap.handle.label}: valid for the client while {sap.state.value}"

    @property
    def saps(self) -> tuple[RegisteredSap, ...]:
        """Every SAP whose handle is still valid for either side, oldest first."""
        return tuple(self._saps)

    @staticmethod
    def operations_on(af: OpenAddressFamily) -> Iterator[Operation]:
        """The registrations and deregistrations of `af`'s SAPs."""
        for sap in af.saps:
            yield from (o for o in (sap.register_op, sap.deregister_op) if o is not None)

    def _release_sap(self, sap: RegisteredSap) -> None:
        if sap.client_valid or sap.cm_valid:
            return
        if self.k.handles.is_live(sap.handle):
            self.k.handles.close(sap.handle)
        self._saps.pop(sap, None)  # a released SAP leaves every table

    # --- register ---------------------------------------------------------------------------

    @ddi("NdisClRegisterSap")
    def NdisClRegisterSap(
        self, NdisAfHandle: AfHandle, ProtocolSapContext: object, Sap: CO_SAP
    ) -> tuple[NDIS_STATUS, SapHandle | None]:
        """A client registers a SAP on an open AF (nf-ndis-ndisclregistersap).

        Returns (status, NdisSapHandle): the call manager's status from
        ProtocolCmRegisterSap (SUCCESS, PENDING, INVALID_DATA, RESOURCES or
        another failure), or NDIS's FAILURE when the AF is not open and
        RESOURCES when NDIS cannot allocate.
        """
        name = "NdisClRegisterSap"
        if Sap is None:
            raise ValueError(f"{name}: Sap is required (got None)")
        if not isinstance(Sap, CO_SAP):
            raise TypeError(f"{name}: Sap must be a CO_SAP, not {type(Sap).__name__}")
        af = self.resolve.af_for_client(name, NdisAfHandle)
        if af is None:
            return NDIS_STATUS_FAILURE, None
        with self.k.begin(name, af.client.protocol, handle=af.handle) as call:
            row = AF.guard(af.state, AfInput.REGISTER_SAP)
            if row.refused:
                return call.status(row.refusal), None
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            reg = af.registration
            handle = self.k.handles.issue(SapHandle, None)
            op = self.ops.start(OPERATIONS["register-sap"], handle, mcm=reg.is_mcm)
            sap = RegisteredSap(
                handle=handle, af=af, sap=Sap, client_context=ProtocolSapContext, register_op=op
            )
            self.k.handles.attach(handle, sap)
            self._saps[sap] = None
            af.saps[sap] = None
            call.handle, call.op = handle, op.id
            status, context, delivers = self.ops.run(
                op,
                reg.cm,
                reg.cm_handlers.CmRegisterSapHandler,
                af.cm_context,
                Sap,
                handle,
                handle=handle,
                returns=Returns.STATUS_OUT,
            )
            if not delivers:
                return call.status(status, result=handle), handle
            self._registered(sap, status, context)
            if status == NDIS_STATUS_SUCCESS:
                return call.status(status, result=handle), handle
            return call.status(status), None

    def _registered(self, sap: RegisteredSap, status: NDIS_STATUS, context: object) -> None:
        if status == NDIS_STATUS_SUCCESS:
            sap.move(SapInput.REGISTER_SUCCEEDED)
            sap.cm_context = context
            sap.client_valid = True
        else:
            sap.move(SapInput.REGISTER_FAILED)
            sap.cm_valid = False
            self._release_sap(sap)

    def _register_sap_complete(
        self, spelling: str, Status: object, NdisSapHandle: object, CallMgrSapContext: object
    ) -> None:
        status = args.status(spelling, "Status", Status)
        sap = self.resolve.sap_for_cm(spelling, NdisSapHandle)
        if sap is None:
            return None
        cm = sap.af.cm
        with self.k.begin(spelling, cm, handle=sap.handle, op=sap.register_op.id) as call:
            if not self.ops.complete(sap.register_op, spelling, cm, sap.handle, status):
                return call.void()
            succeeded = status == NDIS_STATUS_SUCCESS
            if succeeded:
                sap.move(SapInput.REGISTER_SUCCEEDED)
                sap.cm_context = CallMgrSapContext
                sap.client_valid = True
            else:
                sap.move(SapInput.REGISTER_FAILED)
            handlers = sap.af.client.client_handlers
            assert handlers is not None
            self.k.call_void(
                sap.af.client.protocol,
                "ProtocolClRegisterSapComplete",
                handlers.ClRegisterSapCompleteHandler,
                status,
                sap.client_context,
                sap.sap,
                sap.handle if succeeded else None,
                handle=sap.handle,
                op=sap.register_op.id,
            )
            if not succeeded:
                sap.cm_valid = False
                self._release_sap(sap)
            return call.void()

    @ddi("NdisCmRegisterSapComplete")
    def NdisCmRegisterSapComplete(
        self, Status: NDIS_STATUS, NdisSapHandle: SapHandle, CallMgrSapContext: object
    ) -> None:
        """A stand-alone call manager completes a pended SAP registration."""
        self._register_sap_complete(
            "NdisCmRegisterSapComplete", Status, NdisSapHandle, CallMgrSapContext
        )

    @ddi("NdisMCmRegisterSapComplete")
    def NdisMCmRegisterSapComplete(
        self, Status: NDIS_STATUS, NdisSapHandle: SapHandle, CallMgrSapContext: object
    ) -> None:
        """An MCM completes a pended SAP registration (macro for NdisCmRegisterSapComplete)."""
        self._register_sap_complete(
            "NdisMCmRegisterSapComplete", Status, NdisSapHandle, CallMgrSapContext
        )

    # --- deregister -----------------------------------------------------------------------------

    @ddi("NdisClDeregisterSap")
    def NdisClDeregisterSap(self, NdisSapHandle: SapHandle) -> NDIS_STATUS:
        """A client deregisters a SAP (nf-ndis-ndisclderegistersap).

        Returns NDIS_STATUS_PENDING (ProtocolClDeregisterSapComplete follows or
        has already run; see the module docstring) or NDIS_STATUS_FAILURE for a
        redundant call while a deregistration is in progress.
        """
        name = "NdisClDeregisterSap"
        sap = self.resolve.sap(name, NdisSapHandle)
        if sap is None:
            return NDIS_STATUS_FAILURE
        client = sap.af.client.protocol
        row = SAP.guard(sap.state, SapInput.DEREGISTER)
        if row.refused and row.rule is not None:
            # the handle is not (or no longer) the client's to use: refused before the call
            return self.k.refuse(
                row,
                ddi=name,
                driver=self.k.current_driver or client,
                handle=sap.handle,
                detail=f"NdisSapHandle {sap.handle.label} is not valid for the client",
            )
        cm = sap.af.cm
        with self.k.begin(name, client, handle=sap.handle) as call:
            if row.refused:  # a redundant call while the first is in progress
                return call.status(row.refusal)
            sap.client_valid = False
            sap.move(SapInput.DEREGISTER)
            reg = sap.af.registration
            op = sap.deregister_op = self.ops.start(
                OPERATIONS["deregister-sap"], sap.handle, mcm=reg.is_mcm
            )
            call.op = op.id
            status, _, delivers = self.ops.run(
                op, cm, reg.cm_handlers.CmDeregisterSapHandler, sap.cm_context, handle=sap.handle
            )
            if delivers:
                self._deregistered(sap, status)
            return call.status(NDIS_STATUS_PENDING)

    def _deregistered(self, sap: RegisteredSap, status: NDIS_STATUS) -> None:
        """The deregistration finished: update the SAP and tell the client."""
        if status == NDIS_STATUS_SUCCESS:
            sap.move(SapInput.DEREGISTER_SUCCEEDED)
        else:
            sap.move(SapInput.DEREGISTER_FAILED)
            sap.client_valid = True
        handlers = sap.af.client.client_handlers
        assert handlers is not None
        self.k.call_void(
            sap.af.client.protocol,
            "ProtocolClDeregisterSapComplete",
            handlers.ClDeregisterSapCompleteHandler,
            status,
            sap.client_context,
            handle=sap.handle,
            op=None if sap.deregister_op is None else sap.deregister_op.id,
        )
        if status == NDIS_STATUS_SUCCESS:
            sap.cm_valid = False
        self._release_sap(sap)

    def _deregister_sap_complete(
        self, spelling: str, Status: object, NdisSapHandle: object
    ) -> None:
        status = args.status(spelling, "Status", Status)
        sap = self.resolve.sap_for_cm(spelling, NdisSapHandle)
        if sap is None:
            return None
        cm = sap.af.cm
        op_id = None if sap.deregister_op is None else sap.deregister_op.id
        with self.k.begin(spelling, cm, handle=sap.handle, op=op_id) as call:
            if not self.ops.complete(sap.deregister_op, spelling, cm, sap.handle, status):
                return call.void()
            self._deregistered(sap, status)
            return call.void()

    @ddi("NdisCmDeregisterSapComplete")
    def NdisCmDeregisterSapComplete(self, Status: NDIS_STATUS, NdisSapHandle: SapHandle) -> None:
        """A stand-alone call manager completes a pended deregistration; the handle is then
        invalid for it."""
        self._deregister_sap_complete("NdisCmDeregisterSapComplete", Status, NdisSapHandle)

    @ddi("NdisMCmDeregisterSapComplete")
    def NdisMCmDeregisterSapComplete(self, Status: NDIS_STATUS, NdisSapHandle: SapHandle) -> None:
        """An MCM completes a pended deregistration (macro for NdisCmDeregisterSapComplete)."""
        self._deregister_sap_complete("NdisMCmDeregisterSapComplete", Status, NdisSapHandle)
