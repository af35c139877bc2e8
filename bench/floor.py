"""The CPython floor: the least NDIS that runs the sample drivers, for the ratios.

`Floor` plays NDIS for SampleMcm and SampleClient as plainly as Python
allows: integer handles in one dict, slotted records, a deque of work
items, and nothing else. No checks, no IRQL, no trace, no verifier. It
implements only the DDIs the benchmark scenarios cross, each calling the
same handler with the same arguments condis does, so a scenario makes the
same crossings on both (bench/scenarios.py asserts it, from `log`, which is
kept only when the floor is built with ``record=True``).

It is a measuring stick, not a model: it trusts every driver.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from condis.status import NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS
from condis.structs import (
    DRIVER_OBJECT,
    NDIS_BIND_PARAMETERS,
    NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_MINIPORT_CO_CHARACTERISTICS,
    NDIS_MINIPORT_INIT_PARAMETERS,
    NDIS_PROTOCOL_CO_CHARACTERISTICS,
)

__all__ = ["Floor"]

SUCCESS = NDIS_STATUS_SUCCESS


def _split(result: Any) -> tuple[Any, Any]:
    """A handler's (status, out-parameter), or (status, None)."""
    if type(result) is tuple:
        return result[0], result[1]
    return result, None


class Driver:
    __slots__ = ("call_manager", "chars", "client", "co", "code", "context", "name", "protocol")

    def __init__(self, name: str, code: Any) -> None:
        self.name = name
        self.code = code
        self.chars: Any = None
        self.co: Any = None
        self.client: Any = None
        self.call_manager: Any = None
        self.context: Any = None
        self.protocol = False


class Adapter:
    __slots__ = ("bindings", "context", "driver", "handle", "name", "registrations")

    def __init__(self, driver: Driver, handle: int, name: str) -> None:
        self.driver = driver
        self.handle = handle
        self.name = name
        self.context: Any = None
        self.registrations: list[Any] = []
        self.bindings: list[Binding] = []


class Binding:
    __slots__ = ("adapter", "context", "handle", "protocol")

    def __init__(self, protocol: Driver, adapter: Adapter) -> None:
        self.protocol = protocol
        self.adapter = adapter
        self.context: Any = None
        self.handle = 0


class Af:
    __slots__ = ("binding", "client_context", "cm", "cm_context", "handle")

    def __init__(self, handle: int, binding: Binding, cm: Driver, context: Any) -> None:
        self.handle = handle
        self.binding = binding
        self.cm = cm
        self.client_context = context
        self.cm_context: Any = None


class SapRecord:
    __slots__ = ("af", "client_context", "cm_context", "handle", "sap")

    def __init__(self, handle: int, af: Af, sap: Any, context: Any) -> None:
        self.handle = handle
        self.af = af
        self.sap = sap
        self.client_context = context
        self.cm_context: Any = None


class Vc:
    __slots__ = ("adapter", "af", "client_context", "cm_context", "handle", "mine")

    def __init__(self, handle: int, af: Af, mine: bool, context: Any) -> None:
        self.handle = handle
        self.af = af
        self.adapter = af.binding.adapter
        #: created by the client (True) or by the MCM (False)
        self.mine = mine
        self.client_context: Any = context if mine else None
        self.cm_context: Any = None if mine else context


class Floor:
    """The sample drivers' NDIS, and nothing more (module docstring)."""

    def __init__(self, *, record: bool = False) -> None:
        self.objects: dict[int, Any] = {}
        self.serial = 0
        self.work: deque[Callable[[], None]] = deque()
        self.drivers: dict[str, Driver] = {}
        self.loading: Driver | None = None
        self.log: list[str] | None = [] if record else None

    def _new(self, obj: Any) -> int:
        self.serial += 1
        self.objects[self.serial] = obj
        return self.serial

    def _cross(self, name: str) -> None:
        if self.log is not None:
            self.log.append(name)

    # --- the host --------------------------------------------------------------------------

    def load_driver(self, driver: Any, name: str) -> Any:
        block = self.drivers[name] = Driver(name, driver)
        self.loading = block
        self._cross("DriverEntry")
        status = driver.DriverEntry(DRIVER_OBJECT(DriverName=name), f"\\Services\\{name}")
        self.loading = None
        return status

    def add_adapter(self, driver_name: str, name: str) -> Adapter:
        block = self.drivers[driver_name]
        adapter = Adapter(block, 0, name)
        adapter.handle = self._new(adapter)
        params = NDIS_MINIPORT_INIT_PARAMETERS(AdapterName=name)
        self._cross("MiniportInitializeEx")
        block.chars.InitializeHandlerEx(adapter.handle, block.context, params)
        for protocol in self.drivers.values():
            if protocol.protocol:
                self._bind(protocol, adapter)
        return adapter

    def _bind(self, protocol: Driver, adapter: Adapter) -> None:
        binding = Binding(protocol, adapter)
        context = self._new(binding)
        adapter.bindings.append(binding)
        params = NDIS_BIND_PARAMETERS(
            AdapterName=adapter.name, MediaType=0, ConnectionOriented=True
        )
        self._cross("ProtocolBindAdapterEx")
        protocol.chars.BindAdapterHandlerEx(protocol.context, context, params)
        for family in adapter.registrations:
            if protocol.co is not None:
                self._cross("ProtocolCoAfRegisterNotify")
                protocol.co.CoAfRegisterNotifyHandler(binding.context, family)

    def run(self) -> int:
        ran = 0
        work = self.work
        while work:
            work.popleft()()
            ran += 1
        return ran

    # --- registration ----------------------------------------------------------------------

    def NdisMRegisterMiniportDriver(
        self, DriverObject: Any, RegistryPath: Any, Context: Any, Chars: Any
    ) -> tuple[Any, int]:
        self._cross("NdisMRegisterMiniportDriver")
        block = self.loading
        assert block is not None
        block.chars, block.context = Chars, Context
        handle = self._new(block)
        if Chars.SetOptionsHandler is not None:
            self._cross("MiniportSetOptions")
            Chars.SetOptionsHandler(handle, Context)
        return SUCCESS, handle

    def NdisRegisterProtocolDriver(self, Context: Any, Chars: Any) -> tuple[Any, int]:
        self._cross("NdisRegisterProtocolDriver")
        block = self.loading
        assert block is not None
        block.chars, block.context, block.protocol = Chars, Context, True
        handle = self._new(block)
        if Chars.SetOptionsHandler is not None:
            self._cross("ProtocolSetOptions")
            Chars.SetOptionsHandler(handle, Context)
        return SUCCESS, handle

    def NdisSetOptionalHandlers(self, NdisHandle: int, Handlers: Any) -> Any:
        self._cross("NdisSetOptionalHandlers")
        block = self.objects[NdisHandle]
        if isinstance(
            Handlers, NDIS_MINIPORT_CO_CHARACTERISTICS | NDIS_PROTOCOL_CO_CHARACTERISTICS
        ):
            block.co = Handlers
        elif isinstance(Handlers, NDIS_CO_CLIENT_OPTIONAL_HANDLERS):
            block.client = Handlers
        elif isinstance(Handlers, NDIS_CO_CALL_MANAGER_OPTIONAL_HANDLERS):
            block.call_manager = Handlers
        return SUCCESS

    def NdisMSetMiniportAttributes(self, Handle: int, Attributes: Any) -> Any:
        self._cross("NdisMSetMiniportAttributes")
        if isinstance(Attributes, NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES):
            self.objects[Handle].context = Attributes.MiniportAdapterContext
        return SUCCESS

    def NdisMCmRegisterAddressFamilyEx(self, Handle: int, AddressFamily: Any) -> Any:
        self._cross("NdisMCmRegisterAddressFamilyEx")
        self.objects[Handle].registrations.append(AddressFamily)
        return SUCCESS

    def NdisOpenAdapterEx(
        self, ProtocolHandle: int, Context: Any, Parameters: Any, BindContext: int
    ) -> tuple[Any, int]:
        self._cross("NdisOpenAdapterEx")
        binding = self.objects[BindContext]
        binding.context = Context
        binding.handle = self._new(binding)
        return SUCCESS, binding.handle

    def NdisAllocateTimerObject(self, Handle: int, Chars: Any) -> tuple[Any, int]:
        self._cross("NdisAllocateTimerObject")
        return SUCCESS, self._new(Chars)

    # --- deferred work ---------------------------------------------------------------------

    def NdisAllocateIoWorkItem(self, Handle: int) -> int:
        self._cross("NdisAllocateIoWorkItem")
        return self._new(Handle)

    def NdisQueueIoWorkItem(self, Handle: int, Routine: Any, Context: Any = None) -> None:
        self._cross("NdisQueueIoWorkItem")

        def run() -> None:
            self._cross("NdisIoWorkItemRoutine")
            Routine(Context, Handle)

        self.work.append(run)

    def NdisFreeIoWorkItem(self, Handle: int) -> None:
        self._cross("NdisFreeIoWorkItem")
        del self.objects[Handle]

    # --- address families and SAPs ---------------------------------------------------------

    def NdisClOpenAddressFamilyEx(
        self, BindingHandle: int, AddressFamily: Any, Context: Any
    ) -> tuple[Any, int | None]:
        self._cross("NdisClOpenAddressFamilyEx")
        binding = self.objects[BindingHandle]
        cm = binding.adapter.driver
        af = Af(0, binding, cm, Context)
        af.handle = handle = self._new(af)
        self._cross("ProtocolCmOpenAf")
        status, context = _split(
            cm.call_manager.CmOpenAfHandler(binding.adapter.context, AddressFamily, handle)
        )
        if status == SUCCESS:
            af.cm_context = context
        elif status != NDIS_STATUS_PENDING:
            del self.objects[handle]
            return status, None
        return status, handle

    def NdisMCmOpenAddressFamilyComplete(self, Status: Any, AfHandle: int, Context: Any) -> None:
        self._cross("NdisMCmOpenAddressFamilyComplete")
        af = self.objects[AfHandle]
        af.cm_context = Context
        self._cross("ProtocolClOpenAfCompleteEx")
        af.binding.protocol.client.ClOpenAfCompleteHandlerEx(
            af.client_context, AfHandle if Status == SUCCESS else None, Status
        )

    def NdisClCloseAddressFamily(self, AfHandle: int) -> Any:
        self._cross("NdisClCloseAddressFamily")
        af = self.objects[AfHandle]
        self._cross("ProtocolCmCloseAf")
        status = af.cm.call_manager.CmCloseAfHandler(af.cm_context)
        if status == SUCCESS:
            del self.objects[AfHandle]
        return status

    def NdisMCmCloseAddressFamilyComplete(self, Status: Any, AfHandle: int) -> None:
        self._cross("NdisMCmCloseAddressFamilyComplete")
        af = self.objects.pop(AfHandle)
        self._cross("ProtocolClCloseAfComplete")
        af.binding.protocol.client.ClCloseAfCompleteHandler(Status, af.client_context)

    def NdisClRegisterSap(self, AfHandle: int, Context: Any, Sap: Any) -> tuple[Any, int]:
        self._cross("NdisClRegisterSap")
        af = self.objects[AfHandle]
        sap = SapRecord(0, af, Sap, Context)
        sap.handle = handle = self._new(sap)
        self._cross("ProtocolCmRegisterSap")
        status, context = _split(
            af.cm.call_manager.CmRegisterSapHandler(af.cm_context, Sap, handle)
        )
        sap.cm_context = context
        return status, handle

    def NdisMCmRegisterSapComplete(self, Status: Any, SapHandle: int, Context: Any) -> None:
        self._cross("NdisMCmRegisterSapComplete")
        sap = self.objects[SapHandle]
        sap.cm_context = Context
        self._cross("ProtocolClRegisterSapComplete")
        sap.af.binding.protocol.client.ClRegisterSapCompleteHandler(
            Status, sap.client_context, sap.sap, SapHandle
        )

    # --- VCs -------------------------------------------------------------------------------

    def NdisCoCreateVc(
        self, BindingHandle: int, AfHandle: int, Context: Any
    ) -> tuple[Any, int | None]:
        self._cross("NdisCoCreateVc")
        af = self.objects[AfHandle]
        vc = Vc(0, af, True, Context)
        vc.handle = handle = self._new(vc)
        self._cross("ProtocolCoCreateVc")
        status, context = _split(af.cm.call_manager.CmCreateVcHandler(af.cm_context, handle))
        vc.cm_context = context
        return status, handle

    def NdisMCmCreateVc(self, AdapterHandle: int, AfHandle: int, Context: Any) -> tuple[Any, int]:
        self._cross("NdisMCmCreateVc")
        af = self.objects[AfHandle]
        vc = Vc(0, af, False, Context)
        vc.handle = handle = self._new(vc)
        self._cross("ProtocolCoCreateVc")
        status, context = _split(
            af.binding.protocol.client.ClCreateVcHandler(af.client_context, handle)
        )
        vc.client_context = context
        return status, handle

    def NdisMCmActivateVc(self, VcHandle: int, CallParameters: Any) -> Any:
        self._cross("NdisMCmActivateVc")
        return SUCCESS

    def NdisMCmDeactivateVc(self, VcHandle: int) -> Any:
        self._cross("NdisMCmDeactivateVc")
        return SUCCESS

    def NdisCoDeleteVc(self, VcHandle: int) -> Any:
        self._cross("NdisCoDeleteVc")
        vc = self.objects[VcHandle]
        self._cross("ProtocolCoDeleteVc")
        status = vc.af.cm.call_manager.CmDeleteVcHandler(vc.cm_context)
        del self.objects[VcHandle]
        return status

    def NdisMCmDeleteVc(self, VcHandle: int) -> Any:
        self._cross("NdisMCmDeleteVc")
        vc = self.objects[VcHandle]
        self._cross("ProtocolCoDeleteVc")
        status = vc.af.binding.protocol.client.ClDeleteVcHandler(vc.client_context)
        del self.objects[VcHandle]
        return status

    # --- calls -----------------------------------------------------------------------------

    def NdisClMakeCall(
        self, VcHandle: int, CallParameters: Any, PartyContext: Any = None
    ) -> tuple[Any, None]:
        self._cross("NdisClMakeCall")
        vc = self.objects[VcHandle]
        self._cross("ProtocolCmMakeCall")
        status, _ = _split(
            vc.af.cm.call_manager.CmMakeCallHandler(vc.cm_context, CallParameters, None)
        )
        return status, None

    def NdisMCmMakeCallComplete(
        self, Status: Any, VcHandle: int, PartyHandle: Any, Context: Any, CallParameters: Any
    ) -> None:
        self._cross("NdisMCmMakeCallComplete")
        vc = self.objects[VcHandle]
        self._cross("ProtocolClMakeCallComplete")
        vc.af.binding.protocol.client.ClMakeCallCompleteHandler(
            Status, vc.client_context, None, CallParameters
        )

    def NdisMCmDispatchIncomingCall(
        self, SapHandle: int, VcHandle: int, CallParameters: Any
    ) -> Any:
        self._cross("NdisMCmDispatchIncomingCall")
        sap, vc = self.objects[SapHandle], self.objects[VcHandle]
        self._cross("ProtocolClIncomingCall")
        return vc.af.binding.protocol.client.ClIncomingCallHandler(
            sap.client_context, vc.client_context, CallParameters
        )

    def NdisMCmDispatchCallConnected(self, VcHandle: int) -> None:
        self._cross("NdisMCmDispatchCallConnected")
        vc = self.objects[VcHandle]
        self._cross("ProtocolClCallConnected")
        vc.af.binding.protocol.client.ClCallConnectedHandler(vc.client_context)

    def NdisClCloseCall(
        self, VcHandle: int, PartyHandle: Any = None, Buffer: Any = None, Size: int = 0
    ) -> Any:
        self._cross("NdisClCloseCall")
        vc = self.objects[VcHandle]
        self._cross("ProtocolCmCloseCall")
        return vc.af.cm.call_manager.CmCloseCallHandler(vc.cm_context, None, Buffer, Size)

    def NdisMCmCloseCallComplete(self, Status: Any, VcHandle: int, PartyHandle: Any) -> None:
        self._cross("NdisMCmCloseCallComplete")
        vc = self.objects[VcHandle]
        self._cross("ProtocolClCloseCallComplete")
        vc.af.binding.protocol.client.ClCloseCallCompleteHandler(Status, vc.client_context, None)

    def NdisMCmDispatchIncomingCloseCall(
        self, CloseStatus: Any, VcHandle: int, Buffer: Any, Size: int
    ) -> None:
        self._cross("NdisMCmDispatchIncomingCloseCall")
        vc = self.objects[VcHandle]
        self._cross("ProtocolClIncomingCloseCall")
        vc.af.binding.protocol.client.ClIncomingCloseCallHandler(
            CloseStatus, vc.client_context, Buffer, Size
        )

    # --- data ------------------------------------------------------------------------------

    def NdisCoSendNetBufferLists(self, VcHandle: int, NetBufferLists: Any, Flags: int = 0) -> None:
        self._cross("NdisCoSendNetBufferLists")
        vc = self.objects[VcHandle]
        self._cross("MiniportCoSendNetBufferLists")
        vc.adapter.driver.co.CoSendNetBufferListsHandler(vc.cm_context, NetBufferLists, Flags)

    def NdisMCoSendNetBufferListsComplete(
        self, VcHandle: int, NetBufferLists: Any, Flags: int = 0
    ) -> None:
        self._cross("NdisMCoSendNetBufferListsComplete")
        vc = self.objects[VcHandle]
        self._cross("ProtocolCoSendNetBufferListsComplete")
        vc.af.binding.protocol.co.CoSendNetBufferListsCompleteHandler(
            vc.client_context, NetBufferLists, Flags
        )

    def NdisMCoIndicateReceiveNetBufferLists(
        self, VcHandle: int, NetBufferLists: Any, Number: int, Flags: int = 0
    ) -> None:
        self._cross("NdisMCoIndicateReceiveNetBufferLists")
        vc = self.objects[VcHandle]
        binding = vc.af.binding
        self._cross("ProtocolCoReceiveNetBufferLists")
        binding.protocol.co.CoReceiveNetBufferListsHandler(
            binding.context, vc.client_context, NetBufferLists, Number, Flags
        )

    def NdisReturnNetBufferLists(
        self, BindingHandle: int, NetBufferLists: Any, Flags: int = 0
    ) -> None:
        self._cross("NdisReturnNetBufferLists")
        adapter = self.objects[BindingHandle].adapter
        self._cross("MiniportReturnNetBufferLists")
        adapter.driver.chars.ReturnNetBufferListsHandler(adapter.context, NetBufferLists, Flags)
