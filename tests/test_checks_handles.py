"""Handle checks (stale, foreign, wrong kind, not yet valid), bad arguments, collect mode.

Every handle a DDI receives is looked up in the host's handle table (handles.py)
and, for AF and binding handles, checked against the entity's state (af.py,
bindings.py). A bad handle is a bug check naming the rule, the DDI, the driver
and the handle; a bad Python argument is a TypeError or ValueError naming the
DDI and the parameter. Either way the host is left exactly as it was. In
collect mode (Mode.COLLECT) the same checks are recorded instead, and the DDI
returns what the caller would see.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY,
    CO_ADDRESS_FAMILY_PSCHED,
    CO_ADDRESS_FAMILY_Q2931,
    DISPATCH_LEVEL,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_TIMER_CHARACTERISTICS,
    BugCheck,
    Mode,
    Ndis,
    SystemCrashed,
)
from condis.samples import SampleClient, SampleMcm
from util import expect_bugcheck, mcm_host, records

Q2931 = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 3, 1)
PSCHED = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_PSCHED, 3, 1)
TIMER = NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *args: None)


def as_driver(ndis: Ndis, name: str, fn: Callable[..., object], *args: Any) -> Callable[[], object]:
    """A thunk that calls fn(*args) as driver `name`'s code at PASSIVE_LEVEL."""

    def run() -> object:
        with ndis.driver_context(ndis.driver(name)):
            return fn(*args)

    return run


def host(**kwargs: Any) -> SimpleNamespace:
    """The sample MCM ('mcm0', Q.2931 only) and client, with handles the tests use."""
    ndis, _, cl = mcm_host(**{"afs": [CO_ADDRESS_FAMILY_Q2931], **kwargs})
    assert cl is not None
    binding = ndis.binding("sampleclient", "mcm0").handle
    opened = cl.afs("open")
    return SimpleNamespace(
        ndis=ndis,
        cl=cl,
        binding=binding,
        af=opened[0] if opened else None,
        adapter=ndis.adapter("mcm0").handle,
    )


class TestStale:
    """NdisHandleStale: a handle used after it became invalid."""

    def test_closed_af_handle(self) -> None:
        h = host()
        assert h.cl.close_af(h.af) == NDIS_STATUS_SUCCESS
        run = as_driver(h.ndis, "sampleclient", h.ndis.NdisClCloseAddressFamily, h.af.handle)
        bc = expect_bugcheck(
            h.ndis,
            run,
            "NdisHandleStale",
            "NdisClCloseAddressFamily",
            "sampleclient",
            h.af.handle.label,
        )
        assert "no longer valid" in bc.detail

    def test_af_handle_while_the_call_manager_completes_the_close(self) -> None:
        h = host(completion="pended")
        assert h.cl.close_af(h.af) == NDIS_STATUS_PENDING  # valid for the MCM only now
        bc = expect_bugcheck(
            h.ndis,
            partial(h.ndis.NdisClCloseAddressFamily, h.af.handle),
            "NdisHandleStale",
            "NdisClCloseAddressFamily",
            "sampleclient",
            h.af.handle.label,
        )
        assert "NdisClCloseAddressFamily" in bc.detail
        h.ndis.run()
        assert h.cl.afs() == [] and h.ndis.address_families == ()

    def test_af_handle_for_the_mcm_after_the_close(self) -> None:
        h = host()
        h.cl.close_af(h.af)
        run = as_driver(h.ndis, "samplemcm", h.ndis.NdisMCmNotifyCloseAddressFamily, h.af.handle)
        expect_bugcheck(
            h.ndis,
            run,
            "NdisHandleStale",
            "NdisMCmNotifyCloseAddressFamily",
            "samplemcm",
            h.af.handle.label,
        )

    def test_binding_handle_after_close_adapter(self) -> None:
        h = host(afs=())
        run = as_driver(h.ndis, "sampleclient", h.ndis.NdisCloseAdapterEx, h.binding)
        assert run() == NDIS_STATUS_SUCCESS
        open_af = h.ndis.NdisClOpenAddressFamilyEx
        expect_bugcheck(
            h.ndis,
            as_driver(h.ndis, "sampleclient", open_af, h.binding, Q2931, None),
            "NdisHandleStale",
            "NdisClOpenAddressFamilyEx",
            "sampleclient",
            h.binding.label,
        )

    def test_freed_work_item(self) -> None:
        h = host()
        with h.ndis.driver_context(h.ndis.driver("samplemcm")):
            item = h.ndis.NdisAllocateIoWorkItem(h.adapter)
            h.ndis.NdisFreeIoWorkItem(item)
        queue = h.ndis.NdisQueueIoWorkItem
        expect_bugcheck(
            h.ndis,
            as_driver(h.ndis, "samplemcm", queue, item, lambda c, w: None),
            "NdisHandleStale",
            "NdisQueueIoWorkItem",
            "samplemcm",
            item.label,
        )
        assert h.ndis.work_items == ()

    def test_freed_timer(self) -> None:
        h = host()
        with h.ndis.driver_context(h.ndis.driver("samplemcm")):
            _, timer = h.ndis.NdisAllocateTimerObject(h.adapter, TIMER)
            h.ndis.NdisFreeTimerObject(timer)
        expect_bugcheck(
            h.ndis,
            as_driver(h.ndis, "samplemcm", h.ndis.NdisSetTimerObject, timer, -1),
            "NdisHandleStale",
            "NdisSetTimerObject",
            "samplemcm",
            timer.label,
        )
        assert timer.label not in [t.handle.label for t in h.ndis.timers]


class TestForeign:
    """NdisHandleForeign: a handle from another host, or from another driver."""

    def test_handle_from_another_host(self) -> None:
        h, other = host(), host()
        run = as_driver(h.ndis, "sampleclient", h.ndis.NdisClCloseAddressFamily, other.af.handle)
        bc = expect_bugcheck(
            h.ndis,
            run,
            "NdisHandleForeign",
            "NdisClCloseAddressFamily",
            "sampleclient",
            other.af.handle.label,
        )
        assert "not issued by this host" in bc.detail
        assert other.ndis.verifier.violations == []
        assert h.ndis.address_families[0].state.value == "open"

    def test_client_uses_the_mcms_adapter_handle(self) -> None:
        h = host()
        register = h.ndis.NdisMCmRegisterAddressFamilyEx
        bc = expect_bugcheck(
            h.ndis,
            as_driver(h.ndis, "sampleclient", register, h.adapter, PSCHED),
            "NdisHandleForeign",
            "NdisMCmRegisterAddressFamilyEx",
            "sampleclient",
            h.adapter.label,
        )
        assert "belongs to samplemcm" in bc.detail

    def test_client_uses_the_call_manager_side_of_its_af(self) -> None:
        h = host()
        notify = h.ndis.NdisMCmNotifyCloseAddressFamily
        expect_bugcheck(
            h.ndis,
            as_driver(h.ndis, "sampleclient", notify, h.af.handle),
            "NdisHandleForeign",
            "NdisMCmNotifyCloseAddressFamily",
            "sampleclient",
            h.af.handle.label,
        )

    def test_mcm_uses_the_clients_binding_handle(self) -> None:
        h = host(afs=())
        close = h.ndis.NdisCloseAdapterEx
        expect_bugcheck(
            h.ndis,
            as_driver(h.ndis, "samplemcm", close, h.binding),
            "NdisHandleForeign",
            "NdisCloseAdapterEx",
            "samplemcm",
            h.binding.label,
        )


class TestWrongKind:
    """NdisHandleWrongKind: a live handle passed where another kind belongs."""

    @pytest.mark.parametrize(
        ("ddi", "args", "driver", "handle"),
        [
            ("NdisClCloseAddressFamily", ("binding",), "sampleclient", "binding"),
            ("NdisCloseAdapterEx", ("af.handle",), "sampleclient", "af.handle"),
            ("NdisClOpenAddressFamilyEx", ("adapter", Q2931, None), "sampleclient", "adapter"),
            ("NdisMCmNotifyCloseAddressFamily", ("adapter",), "samplemcm", "adapter"),
            ("NdisFreeTimerObject", ("af.handle",), "samplemcm", "af.handle"),
        ],
    )
    def test_wrong_kind(self, ddi: str, args: tuple[Any, ...], driver: str, handle: str) -> None:
        h = host()

        def pick(arg: object) -> object:
            if not isinstance(arg, str):
                return arg
            value: Any = h
            for part in arg.split("."):
                value = getattr(value, part)
            return value

        run = as_driver(h.ndis, driver, getattr(h.ndis, ddi), *map(pick, args))
        bc = expect_bugcheck(h.ndis, run, "NdisHandleWrongKind", ddi, driver, pick(handle).label)
        assert "is not an" in bc.detail


class TestNotYetValid:
    """NdisHandleNotYetValid: a handle whose pended open has not completed."""

    def test_binding_handle_while_the_open_is_pended(self) -> None:
        ndis = Ndis()
        ndis.config.open_adapter_pends = True
        ndis.load_driver(SampleMcm(ndis, address_families=[CO_ADDRESS_FAMILY_Q2931]), "mcm")
        client = SampleClient(ndis)
        ndis.load_driver(client, "cl")
        ndis.add_adapter("mcm", "mcm0")
        binding = ndis.binding("cl", "mcm0")
        assert binding.open_state.value == "open pending" and binding.handle is not None
        open_af = ndis.NdisClOpenAddressFamilyEx
        bc = expect_bugcheck(
            ndis,
            as_driver(ndis, "cl", open_af, binding.handle, Q2931, None),
            "NdisHandleNotYetValid",
            "NdisClOpenAddressFamilyEx",
            "cl",
            binding.handle.label,
        )
        assert "ProtocolOpenAdapterCompleteEx" in bc.detail
        ndis.run()  # the open completes; the binding now works
        assert [af.state for af in client.afs()] == ["open"]

    def test_af_handle_while_the_open_is_pended(self) -> None:
        ndis = Ndis()
        mcm = SampleMcm(ndis, address_families=[CO_ADDRESS_FAMILY_Q2931], completion="pended")
        ndis.load_driver(mcm, "mcm")
        client = SampleClient(ndis)
        ndis.load_driver(client, "cl")
        ndis.add_adapter("mcm", "mcm0")  # the open is pended, its work item not yet run
        (af,) = client.afs("opening")
        assert af.handle is not None
        bc = expect_bugcheck(
            ndis,
            as_driver(ndis, "cl", ndis.NdisClCloseAddressFamily, af.handle),
            "NdisHandleNotYetValid",
            "NdisClCloseAddressFamily",
            "cl",
            af.handle.label,
        )
        assert "until its open completes" in bc.detail
        ndis.run()
        assert af.state == "open"


@pytest.fixture
def env() -> SimpleNamespace:
    h = host()
    with h.ndis.driver_context(h.ndis.driver("samplemcm")):
        h.item = h.ndis.NdisAllocateIoWorkItem(h.adapter)
        _, h.timer = h.ndis.NdisAllocateTimerObject(h.adapter, TIMER)
    h.protocol = h.cl.driver_handle
    return h


#: (DDI, arguments from `env`, exception, message after "<DDI>: ")
BAD_ARGUMENTS: list[tuple[str, Callable[[Any], tuple[Any, ...]], type[Exception], str]] = [
    ("NdisClCloseAddressFamily", lambda e: (None,), ValueError,
     r"NdisAfHandle is required \(got None\)"),
    ("NdisClCloseAddressFamily", lambda e: ("af",), TypeError,
     r"NdisAfHandle must be an NdisAfHandle issued by NDIS, not str"),
    ("NdisCloseAdapterEx", lambda e: (None,), ValueError,
     r"NdisBindingHandle is required \(got None\)"),
    ("NdisCloseAdapterEx", lambda e: (7,), TypeError,
     r"NdisBindingHandle must be an NdisBindingHandle issued by NDIS, not int"),
    ("NdisClOpenAddressFamilyEx", lambda e: (e.binding, 5, None), TypeError,
     r"AddressFamily must be a CO_ADDRESS_FAMILY, not int"),
    ("NdisClOpenAddressFamilyEx", lambda e: (e.binding, None, None), ValueError,
     r"AddressFamily is required \(got None\)"),
    ("NdisMCmRegisterAddressFamilyEx", lambda e: (e.adapter, "Q2931"), TypeError,
     r"AddressFamily must be a CO_ADDRESS_FAMILY, not str"),
    ("NdisOpenAdapterEx", lambda e: (e.protocol, None, "mcm0", None), TypeError,
     r"OpenParameters must be an NDIS_OPEN_PARAMETERS, not str"),
    ("NdisAllocateTimerObject", lambda e: (e.adapter, {}), TypeError,
     r"TimerCharacteristics must be an NDIS_TIMER_CHARACTERISTICS, not dict"),
    ("NdisMSetMiniportAttributes", lambda e: (e.adapter, object()), TypeError,
     r"MiniportAttributes must be NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES or "
     r"NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES, not object"),
    ("NdisSetOptionalHandlers", lambda e: (e.protocol, object()), TypeError,
     r"OptionalHandlers must be one of .*, not object"),
    ("NdisMCmCloseAddressFamilyComplete", lambda e: ("ok", e.af.handle), TypeError,
     r"Status must be an NDIS_STATUS, not str"),
    ("NdisQueueIoWorkItem", lambda e: (e.item, 5), TypeError,
     r"Routine must be callable, not int"),
    ("NdisSetTimerObject", lambda e: (e.timer, "soon"), TypeError,
     r"DueTime must be an int, not str"),
    ("NdisWaitEvent", lambda e: (None, 0), TypeError,
     r"Event must be an NDIS_EVENT from NdisInitializeEvent, not NoneType"),
]  # fmt: skip


class TestBadArguments:
    """Missing or mistyped arguments: an error naming DDI and parameter, nothing recorded."""

    @pytest.mark.parametrize(("ddi", "args", "error", "message"), BAD_ARGUMENTS)
    def test_bad_argument(
        self, env: SimpleNamespace, ddi: str, args: Any, error: type[Exception], message: str
    ) -> None:
        before, length = env.ndis.snapshot(), len(env.ndis.trace)
        with pytest.raises(error, match=rf"^{ddi}: {message}$"):
            as_driver(env.ndis, "samplemcm", getattr(env.ndis, ddi), *args(env))()
        assert env.ndis.snapshot() == before
        assert len(env.ndis.trace) == length  # rejected before NDIS recorded a call
        assert env.ndis.verifier.violations == []


# --- collect mode -----------------------------------------------------------------------------


class RefusingMcm(SampleMcm):
    """An MCM whose ProtocolCmCloseAf fails, which the page does not allow."""

    def ProtocolCmCloseAf(self, CallMgrAfContext: Any) -> int:
        return NDIS_STATUS_FAILURE


def collect_host(mcm: type[SampleMcm] = SampleMcm) -> SimpleNamespace:
    ndis = Ndis(mode=Mode.COLLECT)
    ndis.load_driver(mcm(ndis, address_families=[CO_ADDRESS_FAMILY_Q2931]), "samplemcm")
    client = SampleClient(ndis)
    ndis.load_driver(client, "sampleclient")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    return SimpleNamespace(
        ndis=ndis, cl=client, af=client.afs("open")[0], adapter=ndis.adapter("mcm0").handle
    )


def recorded(ndis: Ndis) -> list[tuple[str, str, str | None, str | None]]:
    return [(v.rule, v.ddi, v.driver, v.handle) for v in ndis.verifier.violations]


class TestCollectMode:
    """Mode.COLLECT records each violation and returns what the caller would see."""

    def test_stale_handle_returns_failure(self) -> None:
        h = collect_host()
        h.cl.close_af(h.af)
        before = h.ndis.snapshot()
        assert h.ndis.NdisClCloseAddressFamily(h.af.handle) == NDIS_STATUS_FAILURE
        assert h.ndis.snapshot() == before
        label = h.af.handle.label
        assert recorded(h.ndis) == [("NdisHandleStale", "NdisClCloseAddressFamily", None, label)]
        assert h.ndis.crashed is None

    def test_wrong_kind_returns_failure_and_the_host_goes_on(self) -> None:
        h = collect_host()
        before = h.ndis.snapshot()
        assert h.ndis.NdisCloseAdapterEx(h.af.handle) == NDIS_STATUS_FAILURE
        assert h.ndis.snapshot() == before
        assert [v.rule for v in h.ndis.verifier.violations] == ["NdisHandleWrongKind"]
        assert h.cl.close_af(h.af) == NDIS_STATUS_SUCCESS  # still usable

    def test_wrong_irql_is_recorded_and_the_call_goes_on(self) -> None:
        h = collect_host()
        binding = h.ndis.binding("sampleclient", "mcm0").handle
        with h.ndis.driver_context(h.ndis.driver("sampleclient"), DISPATCH_LEVEL):
            status, af = h.ndis.NdisClOpenAddressFamilyEx(binding, Q2931, None)
        assert status == NDIS_STATUS_SUCCESS and af is not None
        assert recorded(h.ndis) == [
            ("Irql_Protocol_Driver_Function", "NdisClOpenAddressFamilyEx", "sampleclient",
             binding.label)
        ]  # fmt: skip

    def test_lock_and_work_item_misuse_are_refused(self) -> None:
        h = collect_host()
        runs: list[object] = []
        with h.ndis.driver_context(h.ndis.driver("samplemcm")):
            lock = h.ndis.NdisAllocateSpinLock()
            h.ndis.NdisAcquireSpinLock(lock)
            h.ndis.NdisAcquireSpinLock(lock)  # refused: not acquired twice
            h.ndis.NdisReleaseSpinLock(lock)
            assert h.ndis.current_irql.name == "PASSIVE_LEVEL"
            item = h.ndis.NdisAllocateIoWorkItem(h.adapter)
            h.ndis.NdisQueueIoWorkItem(item, lambda c, w: runs.append(c), 1)
            h.ndis.NdisQueueIoWorkItem(item, lambda c, w: runs.append(c), 2)  # refused
            h.ndis.NdisFreeIoWorkItem(item)  # refused: still queued
        h.ndis.run()
        assert runs == [1]
        assert [v.rule for v in h.ndis.verifier.violations] == [
            "SpinLock", "NdisWorkItemQueued", "NdisWorkItemQueued"
        ]  # fmt: skip
        assert [lk.held for lk in h.ndis.spin_locks] == [False]

    def test_a_deadlocked_wait_stops_the_host_even_in_collect_mode(self) -> None:
        h = collect_host()
        with (
            pytest.raises(BugCheck, match="NdisWaitDeadlock"),
            h.ndis.driver_context(h.ndis.driver("samplemcm")),
        ):
            h.ndis.NdisWaitEvent(h.ndis.NdisInitializeEvent(), 0)
        assert recorded(h.ndis) == [("NdisWaitDeadlock", "NdisWaitEvent", "samplemcm", None)]
        assert h.ndis.crashed is not None
        with pytest.raises(SystemCrashed):
            h.ndis.run()

    def test_handler_status_is_recorded_and_the_close_refused(self) -> None:
        h = collect_host(RefusingMcm)
        assert h.ndis.NdisClCloseAddressFamily(h.af.handle) == NDIS_STATUS_NOT_ACCEPTED
        label = h.af.handle.label
        assert recorded(h.ndis) == [
            ("CoNdisHandlerStatus", "ProtocolCmCloseAf", "samplemcm", label)
        ]
        assert [af.state.value for af in h.ndis.address_families] == ["open"]
        assert records(h.ndis, "NdisClCloseAddressFamily", "return")[-1].status == (
            NDIS_STATUS_NOT_ACCEPTED
        )
