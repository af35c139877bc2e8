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
  about the address families registered on the adapter (af.py).
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

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from condis.adapters import Adapter, AdapterMixin
from condis.constants import PASSIVE_LEVEL
from condis.crossing import ddi, handler
from condis.drivers import DriverBlock, DriverKind
from condis.errors import CondisInternalError
from condis.handles import BindContextHandle, BindingHandle, DriverHandle, UnbindContextHandle
from condis.machines import BINDING, BindingInput, BindingState, OpenState
from condis.records import Binding, NdisConfig
from condis.scheduler import TICKS_PER_MS
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
    "BindingInput",
    "BindingMixin",
    "BindingState",
    "NdisConfig",
    "OpenState",
]

#: How long NDIS waits, in simulated time, for a pended unbind when the
#: watchdog is off (Windows's unbind watchdog, NDIS_BUGCHECK_WATCHDOG_PROTOCOL_UNBIND,
#: has no documented timeout; ten minutes is far beyond any driver's need).
DRIVE_LIMIT_MS = 10 * 60 * 1000
#: How many deferred items NDIS runs while waiting before it gives up.
DRIVE_MAX_STEPS = 100_000

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


def _status(value: NDIS_STATUS | None) -> NDIS_STATUS:
    if value is None:
        raise CondisInternalError("a status handler returned no status")
    return value


class BindingMixin(AdapterMixin):
    """Bindings: bind and unbind, NdisOpenAdapterEx, NdisCloseAdapterEx."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.config = NdisConfig()
        self._bindings: list[Binding] = []

    def _invariants(self) -> Iterator[str]:
        yield from super()._invariants()
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

    def binding(self, protocol: str, adapter: str) -> Binding:
        """The live binding of protocol `protocol` to adapter `adapter`."""
        for b in self.bindings:
            if b.protocol.name == protocol and b.adapter.name == adapter:
                return b
        raise KeyError(f"no binding of {protocol!r} to {adapter!r}")

    # --- hooks from drivers.py and adapters.py ---------------------------------------

    def _driver_loaded(self, block: DriverBlock) -> None:
        super()._driver_loaded(block)
        if block.kind is DriverKind.PROTOCOL:
            for adapter in self.adapters:
                if adapter.is_up:
                    self._bind(block, adapter)

    def _adapter_started(self, adapter: Adapter) -> None:
        super()._adapter_started(adapter)
        for block in self.drivers:
            if block.kind is DriverKind.PROTOCOL and adapter.is_up:
                self._bind(block, adapter)

    def _unbind_all(self, adapter: Adapter) -> None:
        def order(b: Binding) -> int:
            return 0 if b.is_call_manager else 1 if b.is_client else 2

        for binding in sorted(
            (b for b in adapter.bindings if b.state is BindingState.RUNNING), key=order
        ):
            self._unbind(binding)

    def _binding_bound(self, binding: Binding) -> None:
        """Hook: a bind completed successfully (af.py announces AFs)."""

    def _binding_closing(self, binding: Binding, ddi_name: str) -> None:
        """Hook: NdisCloseAdapterEx was called (af.py checks AFs and withdraws them)."""

    def _binding_optional_target(
        self, ddi_name: str, handle: object
    ) -> tuple[DriverBlock, Any] | None:
        binding = self._binding_for(ddi_name, "NdisHandle", handle)
        return None if binding is None else (binding.protocol, binding)

    # --- host side ----------------------------------------------------------------------

    def unbind_adapter(self, binding: Binding) -> None:
        """Have NDIS unbind `binding` (as when a user disables the binding)."""
        self._check_alive()
        if not isinstance(binding, Binding):
            raise TypeError(
                f"unbind_adapter: binding must be a Binding, not {type(binding).__name__}"
            )
        if binding.state is not BindingState.RUNNING:
            raise ValueError(f"unbind_adapter: binding {binding.label} is {binding.state.value}")
        self._unbind(binding)

    def _drive(self, done: Callable[[], bool]) -> bool:
        """Run deferred work until `done()` holds; False when NDIS stops waiting.

        NDIS stops waiting when nothing left can make `done()` hold, when the
        watchdog time passes (DRIVE_LIMIT_MS of simulated time if the watchdog
        is off), or after DRIVE_MAX_STEPS items (work that keeps requeueing
        itself without ever finishing).
        """
        limit_ms = DRIVE_LIMIT_MS if self.watchdog_ms is None else self.watchdog_ms
        until = self.scheduler.now + limit_ms * TICKS_PER_MS
        for _ in range(DRIVE_MAX_STEPS):
            if done():
                return True
            if self.scheduler.step(until=until) is None:
                return False
        return done()

    # --- bind ----------------------------------------------------------------------------

    def _bind(self, protocol: DriverBlock, adapter: Adapter) -> Binding:
        assert protocol.protocol_chars is not None
        ctx = self.handles.issue(BindContextHandle, None)
        op = self._new_op("bind", "ProtocolBindAdapterEx", ("NdisCompleteBindAdapterEx",), ctx)
        binding = Binding(protocol=protocol, adapter=adapter, bind_context=ctx, bind_op=op)
        self.handles.attach(ctx, binding)
        self._bindings.append(binding)
        adapter.bindings.append(binding)
        params = NDIS_BIND_PARAMETERS(
            AdapterName=adapter.name,
            MediaType=adapter.medium,
            ConnectionOriented=adapter.driver.is_co_miniport,
        )
        status = self._call_status(
            protocol,
            "ProtocolBindAdapterEx",
            protocol.protocol_chars.BindAdapterHandlerEx,
            protocol.context,
            ctx,
            params,
            handle=ctx,
            op=op.id,
            irql=PASSIVE_LEVEL,
        )
        if self._returned(op, status, "ProtocolBindAdapterEx", protocol, ctx):
            self._bind_finished(binding, status)
        return binding

    def _bind_finished(self, binding: Binding, status: NDIS_STATUS) -> None:
        where = (
            "NdisCompleteBindAdapterEx"
            if binding.bind_op.state.name == "DONE_ASYNC"
            else ("ProtocolBindAdapterEx")
        )
        self.handles.close(binding.bind_context)
        if status == NDIS_STATUS_SUCCESS:
            if binding.open_state is not OpenState.OPEN:
                self._violation(
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
                self._call_passive(
                    "NDIS announces address families", lambda: self._binding_bound(binding)
                )
                return
        if binding.open_state in (OpenState.OPEN, OpenState.OPEN_PENDING):
            self._violation(
                "NdisBindIncomplete",
                ddi=where,
                driver=binding.protocol,
                handle=binding.handle,
                detail=f"bind of {binding.label} failed ({status}) but left the adapter open",
            )
            if binding.handle is not None:
                self.handles.close(binding.handle)
        binding.move(BindingInput.BIND_FAILED)
        self._forget_binding(binding)

    def _forget_binding(self, binding: Binding) -> None:
        if binding in binding.adapter.bindings:
            binding.adapter.bindings.remove(binding)

    @ddi("NdisCompleteBindAdapterEx")
    def NdisCompleteBindAdapterEx(self, BindAdapterContext: BindContextHandle, Status: int) -> None:
        """Complete a bind that ProtocolBindAdapterEx pended (nf-ndis-ndiscompletebindadapterex)."""
        name = "NdisCompleteBindAdapterEx"
        status = self._status_arg(name, "Status", Status)
        binding = self._resolve(name, "BindAdapterContext", BindAdapterContext, BindContextHandle)
        if not isinstance(binding, Binding):
            return None
        with self._begin(name, binding.protocol, handle=BindAdapterContext) as call:
            if self._complete_op(
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
        protocol = self._resolve(name, "NdisProtocolHandle", NdisProtocolHandle, DriverHandle)
        binding = self._resolve(name, "BindContext", BindContext, BindContextHandle)
        if not isinstance(protocol, DriverBlock) or not isinstance(binding, Binding):
            return NDIS_STATUS_FAILURE, None
        with self._begin(name, protocol, handle=BindContext) as call:
            if binding.protocol is not protocol:
                self._violation(
                    "NdisHandleForeign",
                    refused=True,
                    ddi=name,
                    driver=protocol,
                    handle=BindContext,
                    detail=f"BindContext belongs to {binding.protocol.name}'s bind",
                )
                return call.status(NDIS_STATUS_FAILURE), None
            if not binding.bind_op.outstanding or binding.open_state is not OpenState.NOT_OPENED:
                return call.status(NDIS_STATUS_FAILURE), None
            if OpenParameters.AdapterName != binding.adapter.name:
                return call.status(NDIS_STATUS_ADAPTER_NOT_FOUND), None
            if binding.adapter.medium not in OpenParameters.MediumArray:
                return call.status(NDIS_STATUS_UNSUPPORTED_MEDIA), None
            if self._allocation_fails(name):
                return call.status(NDIS_STATUS_RESOURCES), None
            handle = self.handles.issue(BindingHandle, binding)
            binding.handle = handle
            binding.context = ProtocolBindingContext
            binding.open_parameters = OpenParameters
            OpenParameters.SelectedMediumIndex = OpenParameters.MediumArray.index(
                binding.adapter.medium
            )
            call.handle = handle
            if not self.config.open_adapter_pends:
                binding.open_state = OpenState.OPEN
                return call.status(NDIS_STATUS_SUCCESS, result=handle), handle
            binding.open_state = OpenState.OPEN_PENDING
            self._defer("NDIS completes NdisOpenAdapterEx", lambda: self._open_completes(binding))
            return call.status(NDIS_STATUS_PENDING, result=handle), handle

    def _open_completes(self, binding: Binding) -> None:
        assert binding.protocol.protocol_chars is not None
        binding.open_state = OpenState.OPEN
        self._call_void(
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
        binding = self._binding_for(name, "NdisBindingHandle", NdisBindingHandle)
        if binding is None:
            return NDIS_STATUS_FAILURE
        with self._begin(name, binding.protocol, handle=NdisBindingHandle) as call:
            self._binding_closing(binding, name)
            self.handles.close(NdisBindingHandle)
            if not self.config.close_adapter_pends:
                binding.open_state = OpenState.CLOSED
                return call.status(NDIS_STATUS_SUCCESS)
            binding.open_state = OpenState.CLOSE_PENDING
            self._defer("NDIS completes NdisCloseAdapterEx", lambda: self._close_completes(binding))
            return call.status(NDIS_STATUS_PENDING)

    def _close_completes(self, binding: Binding) -> None:
        assert binding.protocol.protocol_chars is not None
        binding.open_state = OpenState.CLOSED
        self._call_void(
            binding.protocol,
            "ProtocolCloseAdapterCompleteEx",
            binding.protocol.protocol_chars.CloseAdapterCompleteHandlerEx,
            binding.context,
            handle=binding.handle,
            irql=PASSIVE_LEVEL,
        )

    def _binding_for(self, ddi_name: str, param: str, handle: object) -> Binding | None:
        """Resolve an NdisBindingHandle that must be open for its protocol."""
        binding = self._resolve(ddi_name, param, handle, BindingHandle)
        if not isinstance(binding, Binding):
            return None
        if binding.open_state is OpenState.OPEN_PENDING:
            self._violation(
                "NdisHandleNotYetValid",
                refused=True,
                ddi=ddi_name,
                driver=self.current_driver or binding.protocol,
                handle=binding.handle,
                detail=f"{param} is not valid until ProtocolOpenAdapterCompleteEx reports the open",
            )
            return None
        return binding

    # --- unbind -------------------------------------------------------------------------------

    def _unbind(self, binding: Binding) -> None:
        assert binding.protocol.protocol_chars is not None
        binding.move(BindingInput.UNBIND)
        ctx = self.handles.issue(UnbindContextHandle, binding)
        op = self._new_op(
            "unbind", "ProtocolUnbindAdapterEx", ("NdisCompleteUnbindAdapterEx",), ctx
        )
        binding.unbind_context, binding.unbind_op = ctx, op
        status = self._call_status(
            binding.protocol,
            "ProtocolUnbindAdapterEx",
            binding.protocol.protocol_chars.UnbindAdapterHandlerEx,
            ctx,
            binding.context,
            handle=ctx,
            op=op.id,
            irql=PASSIVE_LEVEL,
        )
        if status not in (NDIS_STATUS_SUCCESS, NDIS_STATUS_PENDING):
            self._violation(
                "CoNdisHandlerStatus",
                ddi="ProtocolUnbindAdapterEx",
                driver=binding.protocol,
                handle=ctx,
                detail=f"returned {status}; a protocol cannot fail an unbind",
            )
            status = NDIS_STATUS_SUCCESS
        if self._returned(op, status, "ProtocolUnbindAdapterEx", binding.protocol, ctx):
            self._unbind_finished(binding, "ProtocolUnbindAdapterEx")
            return
        if (
            not self._frames
            and not self._drive(lambda: not op.outstanding)
            and self.watchdog_ms is None  # else NdisWatchdog has reported the hang
        ):
            self._violation(
                "CoNdisPendingOnTeardown",
                ddi="ProtocolUnbindAdapterEx",
                driver=binding.protocol,
                handle=ctx,
                detail=f"the pended unbind of {binding.label} can no longer complete; "
                "NDIS would wait for it forever",
            )

    def _unbind_finished(self, binding: Binding, where: str) -> None:
        if binding.open_state is not OpenState.CLOSED:
            self._violation(
                "CoNdisUnbindIncomplete",
                ddi=where,
                driver=binding.protocol,
                handle=binding.unbind_context,
                detail=f"unbind of {binding.label} completed while the adapter close is "
                f"{binding.open_state.value}",
            )
        assert binding.unbind_context is not None
        self.handles.close(binding.unbind_context)
        binding.move(BindingInput.UNBIND_COMPLETE)
        self._forget_binding(binding)

    @ddi("NdisCompleteUnbindAdapterEx")
    def NdisCompleteUnbindAdapterEx(self, UnbindContext: UnbindContextHandle) -> None:
        """Complete an unbind that ProtocolUnbindAdapterEx pended."""
        name = "NdisCompleteUnbindAdapterEx"
        binding = self._resolve(name, "UnbindContext", UnbindContext, UnbindContextHandle)
        if not isinstance(binding, Binding) or binding.unbind_op is None:
            return None
        with self._begin(name, binding.protocol, handle=UnbindContext) as call:
            if self._complete_op(binding.unbind_op, name, binding.protocol, UnbindContext):
                self._unbind_finished(binding, name)
            return call.void()
