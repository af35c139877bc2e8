"""Protocol bindings: ProtocolBindAdapterEx, NdisOpenAdapterEx, and unbinding.

Theory of operation (guide/binding-states-of-a-protocol-driver.md,
guide/protocol-binding-states-and-operations.md and the bind/unbind pages):

* When an adapter comes up, or a protocol loads while adapters are up, NDIS
  calls the protocol's ProtocolBindAdapterEx at PASSIVE_LEVEL with a
  BindContext. Inside it the protocol calls NdisOpenAdapterEx, which issues
  the NdisBindingHandle; the open completes at once or, if NDIS pends it,
  through ProtocolOpenAdapterCompleteEx. ProtocolBindAdapterEx then returns
  a status, or NDIS_STATUS_PENDING and later NdisCompleteBindAdapterEx.
* When the bind has completed successfully, NDIS tells the CoNDIS protocol
  about the address families registered on the adapter (af_registration.py,
  reached through `BindingEvents`, which lifecycle.BindingLife implements).
* To unbind, NDIS calls ProtocolUnbindAdapterEx with an UnbindContext. The
  protocol closes its AFs, calls NdisCloseAdapterEx (the binding handle is
  invalid from that call on; the close completes at once or through
  ProtocolCloseAdapterCompleteEx), and returns a status, or PENDING and later
  NdisCompleteUnbindAdapterEx.

Choices the pages leave open:

* Whether NDIS pends NdisOpenAdapterEx and NdisCloseAdapterEx is NDIS's own
  business; condis pends them when `Ndis.config.open_adapter_pends` /
  `close_adapter_pends` say so, and completes them from an NDIS work item.
* NDIS's pause and restart of a binding (ProtocolNetPnPEvent) are outside the
  CoNDIS pages; a binding whose bind completed is running.
* NDIS binds every loaded protocol to every adapter, in load order; a
  protocol declines an adapter by failing ProtocolBindAdapterEx.
* A host operation that must wait for a pended bind or unbind (adapter
  removal) runs the scheduler until it completes; if nothing left can
  complete it, NDIS would hang there, which is reported under
  CoNdisPendingOnTeardown.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Final, Protocol

import condis.args as args
from condis.constants import PASSIVE_LEVEL
from condis.core import Core, Engine
from condis.crossing import ddi, handler
from condis.handles import BindContextHandle, BindingHandle, DriverHandle, UnbindContextHandle
from condis.machines import (
    BINDING,
    BINDING_OPEN,
    BindingInput,
    BindingState,
    OpenInput,
    OpenState,
)
from condis.ops import OPERATIONS
from condis.records import Adapter, Binding, DriverBlock, NdisConfig
from condis.status import (
    NDIS_STATUS,
    NDIS_STATUS_ADAPTER_NOT_FOUND,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_UNSUPPORTED_MEDIA,
)
from condis.structs import (
    NDIS_BIND_PARAMETERS,
    NDIS_OPEN_PARAMETERS,
)

__all__ = [
    "BINDING_TRANSITIONS",
    "Binding",
    "BindingEngine",
    "BindingEvents",
    "BindingInput",
    "BindingState",
    "NdisConfig",
    "OpenState",
]

handler(
    "ProtocolBindAdapterEx",
    "ProtocolUnbindAdapterEx",
    "ProtocolOpenAdapterCompleteEx",
    "ProtocolCloseAdapterCompleteEx",
)


#: The legal rows of the binding machine, as (state, input) -> next state.
BINDING_TRANSITIONS: Final[Mapping[tuple[BindingState, BindingInput], BindingState]] = (
    BINDING.targets()
)


class BindingEvents(Protocol):
    """What the rest of the host hears of a binding (lifecycle.py)."""

    def binding_bound(self, binding: Binding) -> None:
        """A bind completed with NDIS_STATUS_SUCCESS (called at PASSIVE_LEVEL)."""

    def binding_closing(self, binding: Binding, ddi: str) -> None:
        """The protocol called NdisCloseAdapterEx, which has changed nothing yet."""


class BindingEngine(Engine):
    """Bindings: bind and unbind, NdisOpenAdapterEx, NdisCloseAdapterEx."""

    __slots__ = ("_bindings", "_events", "config")

    def __init__(self, core: Core, events: BindingEvents) -> None:
        super().__init__(core)
        self._events = events
        self.config = NdisConfig()
        self._bindings: list[Binding] = []

    def invariants(self) -> Iterator[str]:
        for binding in self._bindings:
            listed = binding in binding.adapter.bindings
            if binding.state is BindingState.UNBOUND and listed:
                yield f"binding {binding.label} is unbound but still listed on its adapter"
            if binding.state is BindingState.RUNNING and not listed:
                yield f"binding {binding.label} is running but not listed on its adapter"

    @property
    def bindings(self) -> tuple[Binding, ...]:
        """Every binding not yet unbound, in bind order."""
        return tuple(b for b in self._bindings if b.state is not BindingState.UNBOUND)

    @property
    def history(self) -> tuple[Binding, ...]:
        """Every binding ever made, unbound or not, in bind order."""
        return tuple(self._bindings)

    def binding(self, protocol: str, adapter: str) -> Binding:
        """The live binding of protocol `protocol` to adapter `adapter`."""
        for b in self.bindings:
            if b.protocol.name == protocol and b.adapter.name == adapter:
                return b
        raise KeyError(f"no binding of {protocol!r} to {adapter!r}")

    def unbind_all(self, adapter: Adapter) -> None:
        """Unbind every running binding of `adapter`: stand-alone call managers first, so
        that a call manager's unbind can ask its clients to close their AFs, then clients,
        then other protocols (adapters.py says why)."""

        def order(b: Binding) -> int:
            return 0 if b.is_call_manager else 1 if b.is_client else 2

        for binding in sorted(
            (b for b in adapter.bindings if b.state is BindingState.RUNNING), key=order
        ):
            self.unbind(binding)

    # --- bind ----------------------------------------------------------------------------

    def bind(self, protocol: DriverBlock, adapter: Adapter) -> Binding:
        """NDIS binds `protocol` to `adapter`: ProtocolBindAdapterEx with a BindContext."""
        assert protocol.protocol_chars is not None
        ctx = self.k.handles.issue(BindContextHandle, None)
        op = self.ops.start(OPERATIONS["bind"], ctx)
        binding = Binding(protocol=protocol, adapter=adapter, bind_context=ctx, bind_op=op)
        self.k.handles.attach(ctx, binding)
        self._bindings.append(binding)
        adapter.bindings.append(binding)
        params = NDIS_BIND_PARAMETERS(
            AdapterName=adapter.name,
            MediaType=adapter.medium,
            ConnectionOriented=adapter.driver.is_co_miniport,
        )
        status, _, delivers = self.ops.run(
            op,
            protocol,
            protocol.protocol_chars.BindAdapterHandlerEx,
            protocol.context,
            ctx,
            params,
            handle=ctx,
            irql=PASSIVE_LEVEL,
        )
        if delivers:
            self._bind_finished(binding, status)
        return binding

    def _bind_finished(self, binding: Binding, status: NDIS_STATUS) -> None:
        where = (
            "NdisCompleteBindAdapterEx"
            if binding.bind_op.state.name == "DONE_ASYNC"
            else ("ProtocolBindAdapterEx")
        )
        self.k.handles.close(binding.bind_context)
        if status == NDIS_STATUS_SUCCESS:
            if binding.open_state is not OpenState.OPEN:
                self.k.violation(
                    "NdisBindIncomplete",
                    ddi=where,
                    driver=binding.protocol,
                    handle=binding.bind_context,
                    detail=f"bind of {binding.label} completed with NDIS_STATUS_SUCCESS while "
                    f"the adapter open is {binding.open_state.value}",
                )
                status = NDIS_STATUS_FAILURE
            else:
                binding.move(BindingInput.BIND_COMPLETE)
                self.k.call_passive(
                    "NDIS announces address families", lambda: self._events.binding_bound(binding)
                )
                return
        if binding.open_state in (OpenState.OPEN, OpenState.OPEN_PENDING):
            self.k.violation(
                "NdisBindIncomplete",
                ddi=where,
                driver=binding.protocol,
                handle=binding.handle,
                detail=f"bind of {binding.label} failed ({status}) but left the adapter open",
            )
            if binding.handle is not None:
                self.k.handles.close(binding.handle)
        binding.move(BindingInput.BIND_FAILED)
        self._forget_binding(binding)

    def _forget_binding(self, binding: Binding) -> None:
        if binding in binding.adapter.bindings:
            binding.adapter.bindings.remove(binding)

    @ddi("NdisCompleteBindAdapterEx")
    def NdisCompleteBindAdapterEx(self, BindAdapterContext: BindContextHandle, Status: int) -> None:
        """Complete a bind that ProtocolBindAdapterEx pended (nf-ndis-ndiscompletebindadapterex)."""
        name = "NdisCompleteBindAdapterEx"
        status = args.status(name, "Status", Status)
        binding = self.resolve.handle(
            name, "BindAdapterContext", BindAdapterContext, BindContextHandle
        )
        if not isinstance(binding, Binding):
            return None
        with self.k.begin(name, binding.protocol, handle=BindAdapterContext) as call:
            if self.ops.complete(
                binding.bind_op, name, binding.protocol, BindAdapterContext, status
            ):
                self._bind_finished(binding, status)
            return call.void()

    # --- open / close -----------------------------------------------------------------------

    @ddi("NdisOpenAdapterEx")
    def NdisOpenAdapterEx(
        self,
        NdisProtocolHandle: DriverHandle,
        ProtocolBindingContext: object,
        OpenParameters: NDIS_OPEN_PARAMETERS,
        BindContext: BindContextHandle,
    ) -> tuple[NDIS_STATUS, BindingHandle | None]:
        """Open the adapter of a bind in progress (nf-ndis-ndisopenadapterex).

        Returns (status, NdisBindingHandle). SUCCESS; PENDING (the handle is
        valid once ProtocolOpenAdapterCompleteEx reports success);
        RESOURCES; ADAPTER_NOT_FOUND when OpenParameters.AdapterName is not
        the adapter being bound; UNSUPPORTED_MEDIA when MediumArray lacks the
        adapter's medium; FAILURE outside ProtocolBindAdapterEx's bind or when
        that bind already opened the adapter.
        """
        name = "NdisOpenAdapterEx"
        if not isinstance(OpenParameters, NDIS_OPEN_PARAMETERS):
            raise TypeError(
                f"{name}: OpenParameters must be an NDIS_OPEN_PARAMETERS, "
                f"not {type(OpenParameters).__name__}"
            )
        protocol = self.resolve.handle(name, "NdisProtocolHandle", NdisProtocolHandle, DriverHandle)
        binding = self.resolve.handle(name, "BindContext", BindContext, BindContextHandle)
        if not isinstance(protocol, DriverBlock) or not isinstance(binding, Binding):
            return NDIS_STATUS_FAILURE, None
        with self.k.begin(name, protocol, handle=BindContext) as call:
            if binding.protocol is not protocol:
                self.k.violation(
                    "NdisHandleForeign",
                    refused=True,
                    ddi=name,
                    driver=protocol,
                    handle=BindContext,
                    detail=f"BindContext belongs to {binding.protocol.name}'s bind",
                )
                return call.status(NDIS_STATUS_FAILURE), None
            if (
                not binding.bind_op.outstanding
                or BINDING_OPEN.guard(binding.open_state, OpenInput.OPEN).refused
            ):
                return call.status(NDIS_STATUS_FAILURE), None
            if OpenParameters.AdapterName != binding.adapter.name:
                return call.status(NDIS_STATUS_ADAPTER_NOT_FOUND), None
            if binding.adapter.medium not in OpenParameters.MediumArray:
                return call.status(NDIS_STATUS_UNSUPPORTED_MEDIA), None
            if self.k.allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            handle = self.k.handles.issue(BindingHandle, binding)
            binding.handle = handle
            binding.context = ProtocolBindingContext
            binding.open_parameters = OpenParameters
            OpenParameters.SelectedMediumIndex = OpenParameters.MediumArray.index(
                binding.adapter.medium
            )
            call.handle = handle
            if not self.config.open_adapter_pends:
                binding.move_open(OpenInput.OPEN)
                return call.status(NDIS_STATUS_SUCCESS, result=handle), handle
            binding.move_open(OpenInput.OPEN_PENDED)
            self.k.defer("NDIS completes NdisOpenAdapterEx", lambda: self._open_completes(binding))
            return call.status(NDIS_STATUS_PENDING, result=handle), handle

    def _open_completes(self, binding: Binding) -> None:
        assert binding.protocol.protocol_chars is not None
        binding.move_open(OpenInput.OPEN_COMPLETED)
        self.k.call_void(
            binding.protocol,
            "ProtocolOpenAdapterCompleteEx",
            binding.protocol.protocol_chars.OpenAdapterCompleteHandlerEx,
            binding.context,
            NDIS_STATUS_SUCCESS,
            handle=binding.handle,
            irql=PASSIVE_LEVEL,
        )

    @ddi("NdisCloseAdapterEx")
    def NdisCloseAdapterEx(self, NdisBindingHandle: BindingHandle) -> NDIS_STATUS:
        """Close a binding (nf-ndis-ndiscloseadapterex): SUCCESS or PENDING.

        The handle is invalid from this call on. Every AF the binding opened
        (as a client) or made available (as a call manager) must be closed by
        now, and none of their operations pending.
        """
        name = "NdisCloseAdapterEx"
        binding = self.resolve.binding(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE
        with self.k.begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            self._events.binding_closing(binding, name)
            self.k.handles.close(NdisBindingHandle)
            if not self.config.close_adapter_pends:
                binding.move_open(OpenInput.CLOSE)
                return call.status(NDIS_STATUS_SUCCESS)
            binding.move_open(OpenInput.CLOSE_PENDED)
            self.k.defer(
                "NDIS completes NdisCloseAdapterEx", lambda: self._close_completes(binding)
            )
            return call.status(NDIS_STATUS_PENDING)

    def _close_completes(self, binding: Binding) -> None:
        assert binding.protocol.protocol_chars is not None
        binding.move_open(OpenInput.CLOSE_COMPLETED)
        self.k.call_void(
            binding.protocol,
            "ProtocolCloseAdapterCompleteEx",
            binding.protocol.protocol_chars.CloseAdapterCompleteHandlerEx,
            binding.context,
            handle=binding.handle,
            irql=PASSIVE_LEVEL,
        )

    # --- unbind -------------------------------------------------------------------------------

    def unbind(self, binding: Binding) -> None:
        """NDIS unbinds `binding`: ProtocolUnbindAdapterEx; a pended unbind is waited for."""
        assert binding.protocol.protocol_chars is not None
        binding.move(BindingInput.UNBIND)
        ctx = self.k.handles.issue(UnbindContextHandle, binding)
        op = self.ops.start(OPERATIONS["unbind"], ctx)
        binding.unbind_context, binding.unbind_op = ctx, op

        def check(status: NDIS_STATUS) -> NDIS_STATUS:
            if status in (NDIS_STATUS_SUCCESS, NDIS_STATUS_PENDING):
                return status
            self.k.violation(
                "CoNdisHandlerStatus",
                ddi="ProtocolUnbindAdapterEx",
                driver=binding.protocol,
                handle=ctx,
                detail=f"returned {status}; a protocol cannot fail an unbind",
            )
            return NDIS_STATUS_SUCCESS

        _, _, delivers = self.ops.run(
            op,
            binding.protocol,
            binding.protocol.protocol_chars.UnbindAdapterHandlerEx,
            ctx,
            binding.context,
            handle=ctx,
            check=check,
            irql=PASSIVE_LEVEL,
        )
        if delivers:
            self._unbind_finished(binding, "ProtocolUnbindAdapterEx")
            return
        if (
            not self.k.frames
            and not self.k.drive(lambda: not op.outstanding)
            and self.k.watchdog_ms is None  # else NdisWatchdog has reported the hang
        ):
            self.k.violation(
                "CoNdisPendingOnTeardown",
                ddi="ProtocolUnbindAdapterEx",
                driver=binding.protocol,
                handle=ctx,
                detail=f"the pended unbind of {binding.label} can no longer complete; "
                "NDIS would wait for it forever",
            )

    def _unbind_finished(self, binding: Binding, where: str) -> None:
        if binding.open_state is not OpenState.CLOSED:
            self.k.violation(
                "CoNdisUnbindIncomplete",
                ddi=where,
                driver=binding.protocol,
                handle=binding.unbind_context,
                detail=f"unbind of {binding.label} completed while the adapter close is "
                f"{binding.open_state.value}",
            )
        assert binding.unbind_context is not None
        self.k.handles.close(binding.unbind_context)
        binding.move(BindingInput.UNBIND_COMPLETE)
        self._forget_binding(binding)

    @ddi("NdisCompleteUnbindAdapterEx")
    def NdisCompleteUnbindAdapterEx(self, UnbindContext: UnbindContextHandle) -> None:
        """Complete an unbind that ProtocolUnbindAdapterEx pended."""
        name = "NdisCompleteUnbindAdapterEx"
        binding = self.resolve.handle(name, "UnbindContext", UnbindContext, UnbindContextHandle)
        if not isinstance(binding, Binding) or binding.unbind_op is None:
            return None
        with self.k.begin(name, binding.protocol, handle=UnbindContext) as call:
            if self.ops.complete(binding.unbind_op, name, binding.protocol, UnbindContext):
                self._unbind_finished(binding, name)
            return call.void()
