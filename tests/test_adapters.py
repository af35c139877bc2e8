"""Adapters: MiniportInitializeEx, NdisMSetMiniportAttributes and MiniportHaltEx (adapters.py).

Pages: nf-ndis-ndismsetminiportattributes, nc-ndis-miniport_initialize,
nc-ndis-miniport_halt, guide/adapter-states-of-a-miniport-driver. Driver
registration is in test_registration.py, bindings in test_bindings.py.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import pytest

from condis import (
    NDIS_HALT_ACTION,
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_STATUS,
    NDIS_STATUS_BAD_VERSION,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    Ndis,
)
from condis.adapters import AdapterState
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from util import find, in_order, mcm_host, names, records

SUCCESS = NDIS_STATUS_SUCCESS


class ContextMcm(SampleMcm):
    """The sample MCM, recording the contexts NDIS hands back to it."""

    def __init__(self, ndis: Ndis, *, fail_init: bool = False) -> None:
        super().__init__(ndis)
        self.fail_init = fail_init
        self.seen: list[tuple[str, object]] = []

    def MiniportInitializeEx(self, NdisMiniportHandle: Any, Context: object, Params: Any) -> int:
        status = super().MiniportInitializeEx(NdisMiniportHandle, Context, Params)
        return NDIS_STATUS_FAILURE if self.fail_init else status

    def ProtocolCmOpenAf(
        self, CallMgrBindingContext: Any, AddressFamily: Any, NdisAfHandle: Any
    ) -> Any:
        self.seen.append(("ProtocolCmOpenAf", CallMgrBindingContext))
        return super().ProtocolCmOpenAf(CallMgrBindingContext, AddressFamily, NdisAfHandle)

    def MiniportHaltEx(self, MiniportAdapterContext: Any, HaltAction: NDIS_HALT_ACTION) -> None:
        self.seen.append(("MiniportHaltEx", (MiniportAdapterContext, HaltAction)))
        super().MiniportHaltEx(MiniportAdapterContext, HaltAction)


class BadAttributes(SampleCoMiniport):
    """The sample CoNDIS miniport giving one attributes structure a Header.Revision of 2."""

    def __init__(self, ndis: Ndis, broken: type) -> None:
        super().__init__(ndis)
        self.broken = broken
        self.statuses: list[NDIS_STATUS] = []

    def MiniportInitializeEx(self, NdisMiniportHandle: Any, Context: object, Params: Any) -> int:
        for attrs in (
            NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES(MiniportAdapterContext=self),
            NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES(MediaType=Params.MediaType),
        ):
            if isinstance(attrs, self.broken):
                attrs.Header.Revision = 2
            self.statuses.append(self.ndis.NdisMSetMiniportAttributes(NdisMiniportHandle, attrs))
        return self.statuses[0] if self.statuses[0] != SUCCESS else self.statuses[1]


class TestAdapterStart:
    """MiniportInitializeEx, NdisMSetMiniportAttributes, then binding every protocol."""

    def test_initialize_then_bind_in_load_order(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleCoMiniport(ndis), "mp")
        for name in ("p1", "p2", "p3"):
            ndis.load_driver(SampleClient(ndis), name)
        start = len(ndis.trace)
        adapter = ndis.add_adapter("mp", "a0")
        assert (adapter.state, adapter.is_up, ndis.adapters) == (
            AdapterState.RUNNING,
            True,
            (adapter,),
        )
        init = find(ndis, "MiniportInitializeEx", "return", after=start - 1)
        binds = [r for r in records(ndis, "ProtocolBindAdapterEx", "call") if r.seq > init.seq]
        assert [r.driver for r in binds] == ["p1", "p2", "p3"]
        assert {(r.depth, r.irql) for r in binds} == {(0, PASSIVE_LEVEL)}
        assert [b.label for b in adapter.bindings] == ["p1->a0", "p2->a0", "p3->a0"]
        assert [b.label for b in ndis.bindings] == ["p1->a0", "p2->a0", "p3->a0"]

    def test_protocol_loaded_later_binds_when_driver_entry_returned(self) -> None:
        ndis, _, _ = mcm_host(client=False)
        ndis.load_driver(SampleClient(ndis), "cl")
        entry = records(ndis, "DriverEntry", "return")[-1]
        bind = find(ndis, "ProtocolBindAdapterEx")
        assert (entry.driver, bind.driver) == ("cl", "cl") and bind.seq > entry.seq
        assert ndis.binding("cl", "mcm0").state.value == "running"

    def test_failed_initialize(self) -> None:
        ndis = Ndis()
        ndis.load_driver(ContextMcm(ndis, fail_init=True), "mcm")
        ndis.load_driver(SampleClient(ndis), "cl")
        adapter = ndis.add_adapter("mcm", "mcm0")
        ndis.run()
        registered = records(ndis, "NdisMCmRegisterAddressFamilyEx", "return")
        assert [r.status for r in registered] == [SUCCESS, SUCCESS]
        assert records(ndis, "MiniportInitializeEx", "return")[0].status == NDIS_STATUS_FAILURE
        assert (adapter.state, ndis.adapters, ndis.registrations) == (AdapterState.HALTED, (), ())
        assert (ndis.bindings, adapter.bindings) == ((), [])
        for handler in ("ProtocolBindAdapterEx", "ProtocolCoAfRegisterNotify", "MiniportHaltEx"):
            assert handler not in names(ndis)
        assert adapter.handle.label not in ndis.snapshot()["handles"]
        with pytest.raises(
            ValueError, match=r"^halt_adapter: adapter mcm0 is halted, not running$"
        ):
            ndis.halt_adapter("mcm0")

    def test_context_reaches_halt_and_cm_open_af(self) -> None:
        ndis = Ndis()
        mcm = ContextMcm(ndis)
        ndis.load_driver(mcm, "mcm")
        ndis.load_driver(SampleClient(ndis), "cl")
        adapter = ndis.add_adapter("mcm", "mcm0")
        ndis.run()
        (context,) = mcm.adapters.values()
        assert adapter.context is context
        ndis.halt_adapter("mcm0", NDIS_HALT_ACTION.NdisHaltDeviceSurpriseRemoved)
        assert mcm.seen[:2] == [("ProtocolCmOpenAf", context)] * 2
        assert mcm.seen[2] == (
            "MiniportHaltEx",
            (context, NDIS_HALT_ACTION.NdisHaltDeviceSurpriseRemoved),
        )
        assert context.halted

    @pytest.mark.parametrize(
        "broken",
        [NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES, NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES],
    )
    def test_bad_version(self, broken: type) -> None:
        ndis = Ndis()
        mp = BadAttributes(ndis, broken)
        ndis.load_driver(mp, "mp")
        adapter = ndis.add_adapter("mp", "a0")
        if broken is NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES:
            assert (mp.statuses[0], adapter.context) == (NDIS_STATUS_BAD_VERSION, None)
        else:
            assert mp.statuses == [SUCCESS, NDIS_STATUS_BAD_VERSION]
            assert (adapter.context, adapter.general) == (mp, None)
        assert records(ndis, "MiniportInitializeEx", "return")[0].status == NDIS_STATUS_BAD_VERSION
        assert adapter.state is AdapterState.HALTED

    def test_set_attributes_argument_errors(self) -> None:
        ndis, _, _ = mcm_host()
        handle = ndis.adapter("mcm0").handle
        before, length = ndis.snapshot(), len(ndis.trace)
        with pytest.raises(
            TypeError,
            match=r"^NdisMSetMiniportAttributes: MiniportAttributes must be "
            r"NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES or "
            r"NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, not dict$",
        ):
            ndis.NdisMSetMiniportAttributes(handle, {})
        assert (ndis.snapshot(), len(ndis.trace)) == (before, length)


class TestHalt:
    """halt_adapter: the order adapters.py documents, and the host operations' errors."""

    def test_mcm_halts_before_its_protocols_unbind(self) -> None:
        ndis, _, _ = mcm_host()
        start = len(ndis.trace)
        ndis.halt_adapter("mcm0")
        halt_call, halt_ret, _ = in_order(
            ndis,
            ("call", "MiniportHaltEx"),
            ("return", "MiniportHaltEx"),
            ("call", "ProtocolUnbindAdapterEx"),
        )
        assert halt_call.seq >= start
        notify = records(ndis, "NdisMCmNotifyCloseAddressFamily", "call")
        assert len(notify) == 2 and all(halt_call.seq < r.seq < halt_ret.seq for r in notify)
        assert (ndis.adapters, ndis.bindings, ndis.address_families) == ((), (), ())
        assert ndis.adapter("mcm0").state is AdapterState.HALTED

    def test_plain_miniport_unbinds_call_managers_then_clients_then_halts(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleCoMiniport(ndis), "mp")
        cl = SampleClient(ndis)
        ndis.load_driver(cl, "cl")  # loaded, hence bound, before the call manager
        ndis.load_driver(SampleCallManager(ndis), "cm")
        ndis.add_adapter("mp", "atm0")
        ndis.run()
        assert [r.driver for r in records(ndis, "ProtocolBindAdapterEx", "call")] == ["cl", "cm"]
        assert cl.afs("open")
        start = len(ndis.trace)
        ndis.halt_adapter("atm0")
        unbinds = [r for r in records(ndis, "ProtocolUnbindAdapterEx") if r.seq >= start]
        assert [(r.phase.value, r.driver) for r in unbinds] == [
            ("call", "cm"),
            ("return", "cm"),
            ("call", "cl"),
            ("return", "cl"),
        ]
        halt = find(ndis, "MiniportHaltEx", after=start - 1)
        assert halt.seq > unbinds[-1].seq
        assert (ndis.adapters, ndis.bindings, ndis.verifier.violations) == ((), (), [])

    def test_host_operation_argument_errors(self) -> None:
        ndis, _, _ = mcm_host()
        before, length = ndis.snapshot(), len(ndis.trace)
        add, halt = ndis.add_adapter, ndis.halt_adapter
        cases: list[tuple[type[Exception], str, partial[object]]] = [
            (
                TypeError,
                "driver must be a loaded driver (its DriverBlock or its name), not int",
                partial(add, 42),
            ),
            (
                ValueError,
                "sampleclient did not register as a miniport driver",
                partial(add, "sampleclient"),
            ),
            (
                TypeError,
                "medium must be an NDIS_MEDIUM, not int",
                partial(add, "samplemcm", medium=8),
            ),
            (ValueError, "adapter 'mcm0' is already up", partial(add, "samplemcm", "mcm0")),
            (TypeError, "adapter must be an Adapter or a name, not int", partial(halt, 42)),
            (TypeError, "HaltAction must be an NDIS_HALT_ACTION", partial(halt, "mcm0", 3)),
        ]
        for exc, message, call in cases:
            with pytest.raises(exc, match=f"^{call.func.__name__}: {re.escape(message)}$"):
                call()
        with pytest.raises(KeyError, match="no driver named 'nosuch' is loaded"):
            add("nosuch")
        with pytest.raises(KeyError, match="no adapter named 'nosuch'"):
            halt("nosuch")
        assert (ndis.snapshot(), len(ndis.trace), ndis.crashed) == (before, length, None)
