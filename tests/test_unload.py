"""Unloading drivers: the unload routines, the deregistration DDIs, leaks at unload (unload.py).

Pages (WDK, outside spec/INDEX.md): nf-ndis-ndisderegisterprotocoldriver,
nf-ndis-ndismderegisterminiportdriver, nc-ndis-miniport_unload; in spec/,
nf-ndis-ndismregisterminiportdriver (where to deregister) and the 0xC4 bug
check page (Parameter 1 0x62).
"""

from __future__ import annotations

from typing import Any

import pytest

from condis import (
    DISPATCH_LEVEL,
    DRIVER_OBJECT,
    NDIS_STATUS_SUCCESS,
    NDIS_TIMER_CHARACTERISTICS,
    BugCheck,
    Mode,
    Ndis,
)
from condis.samples import SampleClient
from util import C4, cm_host, expect_bugcheck, mcm_host


def calls(ndis: Ndis, *wanted: str) -> list[tuple[str, str, str | None]]:
    """(phase, name, driver) of every record of the `wanted` names, in order."""
    return [(r.phase.value, r.name, r.driver) for r in ndis.trace if r.name in wanted]


class TimerClient(SampleClient):
    """Allocates a timer object with its driver handle in DriverEntry; frees it in
    DriverUnload unless told to forget."""

    def __init__(self, ndis: Ndis, *, forget: bool = False) -> None:
        super().__init__(ndis)
        self.forget = forget
        self.timer: Any = None

    def DriverEntry(self, DriverObject: DRIVER_OBJECT, RegistryPath: str) -> Any:
        status = super().DriverEntry(DriverObject, RegistryPath)
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *args: None)
        _, self.timer = self.ndis.NdisAllocateTimerObject(self.driver_handle, chars)
        return status

    def DriverUnload(self, DriverObject: DRIVER_OBJECT) -> None:
        if not self.forget:
            self.ndis.NdisFreeTimerObject(self.timer)
        super().DriverUnload(DriverObject)


class SilentClient(SampleClient):
    """Its DriverUnload forgets NdisDeregisterProtocolDriver."""

    def DriverUnload(self, DriverObject: DRIVER_OBJECT) -> None:
        return None


class EagerClient(SampleClient):
    """Deregisters from ProtocolUnbindAdapterEx (allowed in NDIS 5, not in NDIS 6)."""

    def ProtocolUnbindAdapterEx(self, UnbindContext: Any, ProtocolBindingContext: Any) -> Any:
        status = super().ProtocolUnbindAdapterEx(UnbindContext, ProtocolBindingContext)
        self.ndis.NdisDeregisterProtocolDriver(self.driver_handle)
        return status


class TestProtocol:
    def test_deregistering_unbinds_within_the_call(self) -> None:
        ndis, _, client = cm_host()
        assert client is not None
        handle = client.driver_handle
        ndis.unload_driver("sampleclient")
        assert calls(
            ndis, "DriverUnload", "NdisDeregisterProtocolDriver", "ProtocolUnbindAdapterEx"
        ) == [
            ("call", "DriverUnload", "sampleclient"),
            ("call", "NdisDeregisterProtocolDriver", "sampleclient"),
            ("call", "ProtocolUnbindAdapterEx", "sampleclient"),
            ("return", "ProtocolUnbindAdapterEx", "sampleclient"),
            ("return", "NdisDeregisterProtocolDriver", "sampleclient"),
            ("return", "DriverUnload", "sampleclient"),
        ]
        assert [d.name for d in ndis.drivers] == ["samplecominiport", "samplecallmanager"]
        assert client.bindings == []
        assert [b.protocol.name for b in ndis.bindings] == ["samplecallmanager"]
        assert (ndis.address_families, ndis.verifier.violations) == ((), [])
        assert [leak for leak in ndis.leaks() if leak.driver == "sampleclient"] == []
        # the old handle is stale; the name may be loaded again
        with ndis.driver_context(ndis.driver("samplecallmanager")), pytest.raises(BugCheck) as e:
            ndis.NdisDeregisterProtocolDriver(handle)
        assert (e.value.rule, e.value.ddi) == ("NdisHandleStale", "NdisDeregisterProtocolDriver")
        again = SampleClient(ndis)
        assert ndis.load_driver(again, "sampleclient") == NDIS_STATUS_SUCCESS
        ndis.run()
        assert [af.state for af in again.afs()] == ["open"]

    def test_a_pended_unbind_is_waited_for(self) -> None:
        ndis, _, _ = cm_host()
        ndis.config.close_adapter_pends = True
        ndis.unload_driver("sampleclient")
        order = calls(ndis, "NdisDeregisterProtocolDriver", "ProtocolCloseAdapterCompleteEx")
        assert order == [
            ("call", "NdisDeregisterProtocolDriver", "sampleclient"),
            ("call", "ProtocolCloseAdapterCompleteEx", "sampleclient"),
            ("return", "ProtocolCloseAdapterCompleteEx", "sampleclient"),
            ("return", "NdisDeregisterProtocolDriver", "sampleclient"),
        ]
        assert ndis.verifier.violations == []

    def test_a_driver_without_an_unload_routine_stays(self) -> None:
        ndis = Ndis()
        ndis.load_driver(lambda DriverObject, RegistryPath: NDIS_STATUS_SUCCESS, "bare")
        before = ndis.snapshot()
        with pytest.raises(
            ValueError, match=r"^unload_driver: bare has no unload routine \(DriverUnload\)$"
        ):
            ndis.unload_driver("bare")
        assert ndis.snapshot() == before

    def test_unload_all_leaves_a_driver_without_an_unload_routine(self) -> None:
        ndis, _, _ = cm_host()
        ndis.load_driver(lambda DriverObject, RegistryPath: NDIS_STATUS_SUCCESS, "bare")
        ndis.shutdown()
        ndis.unload_all()
        assert [d.name for d in ndis.drivers] == ["bare"]
        unloads = [
            r.driver for r in ndis.trace if r.name.endswith("Unload") and r.phase.value == "call"
        ]
        assert unloads == ["sampleclient", "samplecallmanager", "samplecominiport"]
        assert (ndis.verifier.violations, ndis.leaks()) == ([], [])

    def test_unknown_driver_and_driver_code(self) -> None:
        ndis, _, _ = cm_host()
        with pytest.raises(KeyError, match="no driver named 'nobody' is loaded"):
            ndis.unload_driver("nobody")
        with (
            ndis.driver_context(ndis.driver("sampleclient")),
            pytest.raises(ValueError, match=r"^unload_driver: the host unloads drivers"),
        ):
            ndis.unload_driver("sampleclient")


class TestMiniport:
    @pytest.mark.parametrize("host", [cm_host, mcm_host])
    def test_adapters_are_halted_before_miniport_driver_unload(self, host: Any) -> None:
        ndis, _, _ = host()
        miniport = ndis.drivers[0].name
        ndis.unload_driver(miniport)
        order = calls(
            ndis,
            "ProtocolUnbindAdapterEx",
            "MiniportHaltEx",
            "MiniportDriverUnload",
            "NdisMDeregisterMiniportDriver",
        )
        started = [n for p, n, _ in order if p == "call"]
        # every unbind and the halt come first (in the order halt_adapter documents)
        assert started[-2:] == ["MiniportDriverUnload", "NdisMDeregisterMiniportDriver"]
        assert {"MiniportHaltEx", "ProtocolUnbindAdapterEx"} == set(started[:-2])
        assert (ndis.adapters, ndis.bindings, ndis.verifier.violations) == ((), (), [])
        assert miniport not in [d.name for d in ndis.drivers]


class TestLeaksAtUnload:
    def test_a_clean_unload_reports_nothing(self) -> None:
        ndis, _, _ = cm_host(client=False)
        ndis.load_driver(TimerClient(ndis), "timers")
        ndis.unload_driver("timers")
        assert ndis.verifier.violations == []
        assert [leak for leak in ndis.leaks() if leak.driver == "timers"] == []

    def test_strict_a_timer_left_allocated(self) -> None:
        ndis, _, _ = cm_host(client=False)
        client = TimerClient(ndis, forget=True)
        ndis.load_driver(client, "timers")
        with pytest.raises(BugCheck) as e:
            ndis.unload_driver("timers")
        bc = e.value
        assert (bc.code, bc.parameters[0], bc.rule, bc.ddi, bc.driver) == (
            C4,
            0x62,
            "NdisDriverUnloadLeak",
            "DriverUnload",
            "timers",
        )
        assert client.timer.label in bc.detail and "NdisAllocateTimerObject" in bc.detail

    def test_collect_each_leak_once_and_a_missing_deregistration(self) -> None:
        ndis, _, _ = cm_host(client=False)
        ndis.verifier.mode = Mode.COLLECT
        ndis.load_driver(SilentClient(ndis), "silent")
        ndis.unload_driver("silent")
        found = [(v.rule, v.ddi, v.driver, v.detail) for v in ndis.verifier.violations]
        assert found[-1] == (
            "NdisDriverUnloadLeak",
            "DriverUnload",
            "silent",
            "unloading without calling NdisDeregisterProtocolDriver",
        )
        # its bindings were never unbound: everything they hold is reported, each once
        leaked = [d for rule, _, _, d in found[:-1]]
        assert leaked and all(rule == "NdisDriverUnloadLeak" for rule, *_ in found)
        assert len(leaked) == len(set(leaked))
        assert "silent" not in [d.name for d in ndis.drivers]
        assert ndis.check_invariants() == []


class TimerSettingClient(SampleClient):
    """Sets a timer with its driver handle in DriverEntry and forgets it."""

    def DriverEntry(self, DriverObject: DRIVER_OBJECT, RegistryPath: str) -> Any:
        status = super().DriverEntry(DriverObject, RegistryPath)
        self.fired = 0
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=self.tick)
        _, self.timer = self.ndis.NdisAllocateTimerObject(self.driver_handle, chars)
        self.ndis.NdisSetTimerObject(self.timer, 1000, 0)
        return status

    def tick(self, *args: object) -> None:
        self.fired += 1


def test_a_timer_left_set_never_runs_into_the_unloaded_driver() -> None:
    ndis, _, _ = cm_host(client=False)
    ndis.verifier.mode = Mode.COLLECT
    client = TimerSettingClient(ndis)
    ndis.load_driver(client, "ticking")
    ndis.unload_driver("ticking")
    (v,) = ndis.verifier.violations
    assert (v.rule, v.driver) == ("NdisDriverUnloadLeak", "ticking")
    assert client.timer.label in v.detail
    ndis.run()  # the clock passes the timer's due time
    assert client.fired == 0
    assert [t.handle for t in ndis.timers if t.driver.name == "ticking"] == [client.timer]
    assert ndis.check_invariants() == []


class TestDeregisterContext:
    def test_from_an_entry_point_ndis_called(self) -> None:
        ndis, _, _ = cm_host(client=False)
        ndis.verifier.mode = Mode.COLLECT
        ndis.load_driver(EagerClient(ndis), "eager")
        ndis.run()
        ndis.unbind_adapter(ndis.binding("eager", "atm0"))
        ndis.run()
        (v,) = ndis.verifier.violations
        assert (v.rule, v.ddi, v.driver) == (
            "NdisDeregisterContext",
            "NdisDeregisterProtocolDriver",
            "eager",
        )
        assert "called from ProtocolUnbindAdapterEx" in v.detail
        # refused: still registered, so the unload deregisters it cleanly
        assert "eager" in [d.name for d in ndis.drivers]
        ndis.unload_driver("eager")
        assert len(ndis.verifier.violations) == 1

    def test_from_driver_code_strict_leaves_the_host_as_it_was(self) -> None:
        ndis, _, client = cm_host()
        assert client is not None
        with ndis.driver_context(ndis.driver("sampleclient")):
            expect_bugcheck(
                ndis,
                lambda: ndis.NdisDeregisterProtocolDriver(client.driver_handle),
                "NdisDeregisterContext",
                "NdisDeregisterProtocolDriver",
                "sampleclient",
                client.driver_handle.label,
            )

    def test_irql(self) -> None:
        ndis, _, client = cm_host()
        assert client is not None
        with ndis.driver_context(ndis.driver("sampleclient"), DISPATCH_LEVEL):
            expect_bugcheck(
                ndis,
                lambda: ndis.NdisDeregisterProtocolDriver(client.driver_handle),
                "Irql_Protocol_Driver_Function",
                "NdisDeregisterProtocolDriver",
                "sampleclient",
                client.driver_handle.label,
            )

    def test_the_wrong_kind_of_driver(self) -> None:
        ndis, _, client = cm_host()
        assert client is not None
        with (
            ndis.driver_context(ndis.driver("sampleclient")),
            pytest.raises(
                ValueError,
                match=r"^NdisMDeregisterMiniportDriver: NdisMiniportDriverHandle must be the "
                r"handle of a miniport driver, not of the protocol driver sampleclient$",
            ),
        ):
            ndis.NdisMDeregisterMiniportDriver(client.driver_handle)
