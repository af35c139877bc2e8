"""IRQL and spin-lock checks: every DDI with a strict IRQL, called at the wrong one.

Each DDI that condis implements and whose page demands PASSIVE_LEVEL or exactly
DISPATCH_LEVEL (spec/INDEX.md, plus NdisWaitEvent and NdisInitializeEvent from
spinlocks.py) is called from a host where every handle it takes is valid, so
the IRQL is the only fault. The bug check names the catalogue's primary rule
(SpinLockDpr for the Dpr spin-lock macros), and the host is left as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY,
    CO_ADDRESS_FAMILY_PSCHED,
    CO_ADDRESS_FAMILY_Q2931,
    DISPATCH_LEVEL,
    KIRQL,
    NDIS_CO_CLIENT_OPTIONAL_HANDLERS,
    NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES,
    NDIS_MINIPORT_DRIVER_CHARACTERISTICS,
    NDIS_OPEN_PARAMETERS,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    NDIS_TIMER_CHARACTERISTICS,
    PASSIVE_LEVEL,
    BugCheck,
    MiniportDriver,
    Ndis,
    ProtocolDriver,
    SystemCrashed,
)
from condis.catalogue import CATALOGUE, DdiKind
from condis.crossing import IMPLEMENTED
from condis.driver import build_characteristics
from condis.samples import SampleClient
from condis.vcnames import VAR_STRING
from util import C4, cm_host, expect_bugcheck, facts, mcm_host, records

Q2931 = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 3, 1)
PSCHED = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_PSCHED, 3, 1)
GENERAL = NDIS_MINIPORT_ADAPTER_GENERAL_ATTRIBUTES()
CLIENT = NDIS_CO_CLIENT_OPTIONAL_HANDLERS
DPR_MACROS = {"NdisDprAcquireSpinLock", "NdisDprReleaseSpinLock"}
#: DDIs outside spec/INDEX.md that spinlocks.py documents at PASSIVE_LEVEL
EVENT_DDIS = {"NdisWaitEvent", "NdisInitializeEvent"}


def strict_irql_ddis() -> set[str]:
    """Implemented DDIs whose page demands PASSIVE_LEVEL or exactly DISPATCH_LEVEL."""
    found = {
        name
        for name in IMPLEMENTED
        if (e := CATALOGUE.get(name)) is not None
        and e.kind in (DdiKind.FUNCTION, DdiKind.MACRO)
        and e.irql is not None
        and e.irql.relation == "=="
    }
    return found | EVENT_DDIS


# --- the probes: one host per DDI, every handle valid ---------------------------------------


@dataclass
class Probe:
    """A DDI call ready to make: `call` runs as `driver`'s code at the given IRQL."""

    ndis: Ndis
    driver: str
    handle: str | None
    call: Callable[[], object]
    wrong: KIRQL = DISPATCH_LEVEL
    right: KIRQL = PASSIVE_LEVEL

    def at(self, irql: KIRQL) -> object:
        with self.ndis.driver_context(self.ndis.driver(self.driver), irql):
            return self.call()


class LateMiniport(MiniportDriver):
    """A miniport whose DriverEntry leaves registration to the test."""

    def DriverEntry(self, DriverObject: Any, RegistryPath: str) -> int:
        self.driver_object = DriverObject
        return NDIS_STATUS_SUCCESS

    def MiniportInitializeEx(self, *args: object) -> int:
        return NDIS_STATUS_SUCCESS

    def MiniportHaltEx(self, *args: object) -> None:
        return None


class ParkedBindClient(SampleClient):
    """A client that pends every bind and leaves its BindContext to the test."""

    def ProtocolBindAdapterEx(self, ctx: object, BindContext: Any, BindParameters: Any) -> int:
        self.parked = (BindContext, BindParameters)
        return NDIS_STATUS_PENDING


def _mcm(ddi: str) -> Probe:
    ndis, _, cl = mcm_host(afs=[CO_ADDRESS_FAMILY_Q2931])
    assert cl is not None
    adapter, binding = ndis.adapter("mcm0").handle, ndis.binding("sampleclient", "mcm0").handle
    assert binding is not None
    af = cl.afs("open")[0].handle
    calls: dict[str, tuple[str, Any, Callable[[], object]]] = {
        "NdisMCmRegisterAddressFamilyEx": (
            "samplemcm",
            adapter,
            lambda: ndis.NdisMCmRegisterAddressFamilyEx(adapter, PSCHED),
        ),
        "NdisMCmNotifyCloseAddressFamily": (
            "samplemcm",
            af,
            lambda: ndis.NdisMCmNotifyCloseAddressFamily(af),
        ),
        "NdisMSetMiniportAttributes": (
            "samplemcm",
            adapter,
            lambda: ndis.NdisMSetMiniportAttributes(adapter, GENERAL),
        ),
        "NdisClOpenAddressFamilyEx": (
            "sampleclient",
            binding,
            lambda: ndis.NdisClOpenAddressFamilyEx(binding, Q2931, None),
        ),
        "NdisSetOptionalHandlers": (
            "sampleclient",
            binding,
            lambda: ndis.NdisSetOptionalHandlers(binding, build_characteristics(CLIENT, cl)),
        ),
    }
    driver, handle, call = calls[ddi]
    return Probe(ndis, driver, handle.label, call)


def _cm(ddi: str) -> Probe:
    ndis, _, cl = cm_host()
    assert cl is not None
    binding = ndis.binding("samplecallmanager", "atm0").handle
    assert binding is not None
    if ddi == "NdisCmRegisterAddressFamilyEx":
        call = partial(ndis.NdisCmRegisterAddressFamilyEx, binding, PSCHED)
        return Probe(ndis, "samplecallmanager", binding.label, call)
    af = cl.afs("open")[0].handle
    call = partial(ndis.NdisCmNotifyCloseAddressFamily, af)
    return Probe(ndis, "samplecallmanager", af.label, call)


def _close_adapter(ddi: str) -> Probe:
    ndis, _, _ = mcm_host(afs=())  # no AF is open, so the binding may close
    binding = ndis.binding("sampleclient", "mcm0").handle
    assert binding is not None
    return Probe(ndis, "sampleclient", binding.label, lambda: ndis.NdisCloseAdapterEx(binding))


def _open_adapter(ddi: str) -> Probe:
    ndis, _, _ = mcm_host(afs=(), client=False)
    client = ParkedBindClient(ndis)
    ndis.load_driver(client, "parked")
    bind_context, params = client.parked
    assert client.driver_handle is not None
    handle = client.driver_handle
    open_params = NDIS_OPEN_PARAMETERS(AdapterName="mcm0", MediumArray=[params.MediaType])
    call = partial(ndis.NdisOpenAdapterEx, handle, None, open_params, bind_context)
    return Probe(ndis, "parked", bind_context.label, call)


def _register_miniport(ddi: str) -> Probe:
    ndis = Ndis()
    late = LateMiniport(ndis)
    ndis.load_driver(late, "late")
    chars = build_characteristics(NDIS_MINIPORT_DRIVER_CHARACTERISTICS, late)
    call = partial(ndis.NdisMRegisterMiniportDriver, late.driver_object, "", late, chars)
    return Probe(ndis, "late", None, call)


def _lock_probe(ddi: str) -> Probe:
    ndis, _, _ = mcm_host(afs=(), client=False)
    block = ndis.driver("samplemcm")
    with ndis.driver_context(block, DISPATCH_LEVEL):
        lock = ndis.NdisAllocateSpinLock()
        if ddi == "NdisReleaseSpinLock":
            ndis.NdisAcquireSpinLock(lock)
        elif ddi == "NdisDprReleaseSpinLock":
            ndis.NdisDprAcquireSpinLock(lock)
    # The lock (if taken) stays held by that earlier frame: only the IRQL can be wrong.
    return Probe(
        ndis, "samplemcm", None, lambda: getattr(ndis, ddi)(lock), PASSIVE_LEVEL, DISPATCH_LEVEL
    )


def _event_probe(ddi: str) -> Probe:
    ndis, _, _ = mcm_host(afs=(), client=False)
    with ndis.driver_context(ndis.driver("samplemcm")):
        event = ndis.NdisInitializeEvent()
        ndis.NdisSetEvent(event)  # a wait at the right IRQL returns at once
    if ddi == "NdisInitializeEvent":
        return Probe(ndis, "samplemcm", None, ndis.NdisInitializeEvent)
    return Probe(ndis, "samplemcm", None, lambda: ndis.NdisWaitEvent(event, 0))


def _vc_names(ddi: str) -> Probe:
    """The VC-naming DDIs, whose pages say DISPATCH_LEVEL exactly."""
    ndis, _, cl = cm_host()
    assert cl is not None
    vc = cl.create_vc(cl.afs("open")[0])
    assert vc is not None and vc.handle is not None
    handle = vc.handle
    calls: dict[str, Callable[[], object]] = {
        "NdisCoGetTapiCallId": lambda: ndis.NdisCoGetTapiCallId(handle, VAR_STRING(ulTotalSize=64)),
        "NdisCoAssignInstanceName": lambda: ndis.NdisCoAssignInstanceName(handle, "vc"),
        "NdisClGetProtocolVcContextFromTapiCallId": lambda: (
            ndis.NdisClGetProtocolVcContextFromTapiCallId(f"VC:{handle.serial}")
        ),
    }
    label = None if ddi == "NdisClGetProtocolVcContextFromTapiCallId" else handle.label
    return Probe(ndis, "sampleclient", label, calls[ddi], PASSIVE_LEVEL, DISPATCH_LEVEL)


#: DDI -> (rule expected, probe builder)
CASES: dict[str, tuple[str, Callable[[str], Probe]]] = {
    "NdisMCmRegisterAddressFamilyEx": ("Irql_MCM_Function", _mcm),
    "NdisMCmNotifyCloseAddressFamily": ("Irql_MCM_Function", _mcm),
    "NdisMSetMiniportAttributes": ("Irql_Miniport_Driver_Function", _mcm),
    "NdisMRegisterMiniportDriver": ("Irql_Miniport_Driver_Function", _register_miniport),
    "NdisClOpenAddressFamilyEx": ("Irql_Protocol_Driver_Function", _mcm),
    "NdisSetOptionalHandlers": ("Irql_Miscellaneous_Function", _mcm),
    "NdisCloseAdapterEx": ("Irql_Protocol_Driver_Function", _close_adapter),
    "NdisOpenAdapterEx": ("Irql_Protocol_Driver_Function", _open_adapter),
    "NdisCmRegisterAddressFamilyEx": ("Irql_CallManager_Function", _cm),
    "NdisCmNotifyCloseAddressFamily": ("Irql_CallManager_Function", _cm),
    "NdisReleaseSpinLock": ("Irql_Synch_Function", _lock_probe),
    "NdisDprAcquireSpinLock": ("SpinLockDpr", _lock_probe),
    "NdisDprReleaseSpinLock": ("SpinLockDpr", _lock_probe),
    "NdisWaitEvent": ("Irql_Miscellaneous_Function", _event_probe),
    "NdisInitializeEvent": ("Irql_Miscellaneous_Function", _event_probe),
    "NdisCoGetTapiCallId": ("Irql_Connection_Function", _vc_names),
    "NdisCoAssignInstanceName": ("Irql_Connection_Function", _vc_names),
    "NdisClGetProtocolVcContextFromTapiCallId": ("Irql_Protocol_Driver_Function", _vc_names),
}
#: NdisRegisterProtocolDriver can only be called from DriverEntry: TestRegisterProtocol.
SPECIAL = {"NdisRegisterProtocolDriver"}


class TestCoverage:
    """The probes cover every strict-IRQL DDI, with the catalogue's rule."""

    def test_every_strict_irql_ddi_has_a_probe(self) -> None:
        assert set(CASES) | SPECIAL == strict_irql_ddis()

    @pytest.mark.parametrize("name", sorted(set(CASES) - EVENT_DDIS - DPR_MACROS))
    def test_rule_is_the_catalogue_primary_rule(self, name: str) -> None:
        assert CASES[name][0] == CATALOGUE[name].primary_rule

    def test_register_protocol_rule_is_the_catalogue_primary_rule(self) -> None:
        assert CATALOGUE["NdisRegisterProtocolDriver"].primary_rule == (
            "Irql_Protocol_Driver_Function"
        )


class TestWrongIrql:
    """Each strict-IRQL DDI at the wrong IRQL is a bug check; at the right one it is not."""

    @pytest.mark.parametrize("name", sorted(CASES))
    def test_wrong_irql_is_a_bugcheck_and_changes_nothing(self, name: str) -> None:
        rule, build = CASES[name]
        probe = build(name)
        run = partial(probe.at, probe.wrong)
        bc = expect_bugcheck(probe.ndis, run, rule, name, probe.driver, probe.handle)
        assert str(probe.wrong) in bc.detail
        call = records(probe.ndis, name, "call")[-1]
        assert call.irql == probe.wrong
        assert [r.phase.value for r in records(probe.ndis, name) if r.seq >= call.seq] == ["call"]

    @pytest.mark.parametrize("name", sorted(CASES))
    def test_right_irql_is_accepted(self, name: str) -> None:
        probe = CASES[name][1](name)
        probe.at(probe.right)
        assert probe.ndis.verifier.violations == []
        assert records(probe.ndis, name, "return")[-1].irql == probe.right


class LockedRegistration(ProtocolDriver):
    """DriverEntry registers with a spin lock held (when `hold`), keeping the evidence."""

    def __init__(self, ndis: Ndis, hold: bool) -> None:
        super().__init__(ndis)
        self.hold = hold
        self.evidence: tuple[BugCheck, dict[str, Any], dict[str, Any]] | None = None

    def ProtocolBindAdapterEx(self, *args: object) -> int:
        return NDIS_STATUS_SUCCESS

    def ProtocolUnbindAdapterEx(self, *args: object) -> int:
        return NDIS_STATUS_SUCCESS

    def ProtocolOpenAdapterCompleteEx(self, *args: object) -> None:
        return None

    def ProtocolCloseAdapterCompleteEx(self, *args: object) -> None:
        return None

    def DriverEntry(self, DriverObject: Any, RegistryPath: str) -> int:
        if not self.hold:
            return super().DriverEntry(DriverObject, RegistryPath)
        lock = self.ndis.NdisAllocateSpinLock()
        self.ndis.NdisAcquireSpinLock(lock)
        before = self.ndis.snapshot()
        try:
            return super().DriverEntry(DriverObject, RegistryPath)
        except BugCheck as bc:
            self.evidence = (bc, before, self.ndis.snapshot())
            raise


class TestRegisterProtocol:
    """NdisRegisterProtocolDriver runs only inside DriverEntry, so a lock raises its IRQL."""

    def test_at_dispatch_level_is_a_bugcheck(self) -> None:
        ndis = Ndis()
        driver = LockedRegistration(ndis, hold=True)
        with pytest.raises(BugCheck) as info:
            ndis.load_driver(driver, "locked")
        bc = info.value
        assert facts(bc) == (
            C4,
            "Irql_Protocol_Driver_Function",
            "NdisRegisterProtocolDriver",
            "locked",
            None,
        )
        assert driver.evidence is not None
        seen, before, after = driver.evidence
        assert seen is bc and before == after
        assert ndis.crashed is bc  # it escaped DriverEntry

    def test_at_passive_level_registers(self) -> None:
        ndis = Ndis()
        assert ndis.load_driver(LockedRegistration(ndis, hold=False), "fine") == 0
        assert ndis.driver("fine").kind.value == "protocol"


class TestDispatchAllowed:
    """DDIs documented at <= DISPATCH_LEVEL are accepted at DISPATCH_LEVEL."""

    def test_af_close_and_pended_completion(self) -> None:
        ndis, _, cl = mcm_host(completion="pended", afs=[CO_ADDRESS_FAMILY_Q2931])
        assert cl is not None
        af = cl.afs("open")[0]
        with ndis.driver_context(ndis.driver("sampleclient"), DISPATCH_LEVEL):
            assert cl.close_af(af) == NDIS_STATUS_PENDING
        ndis.run()  # the MCM completes from a work item
        assert records(ndis, "NdisClCloseAddressFamily", "call")[-1].irql == DISPATCH_LEVEL
        assert records(ndis, "NdisMCmCloseAddressFamilyComplete", "return")
        assert ndis.verifier.violations == []

    def test_work_items_timers_events_and_locks(self) -> None:
        ndis, _, _ = mcm_host(afs=(), client=False)
        adapter = ndis.adapter("mcm0").handle
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *a: None)
        with ndis.driver_context(ndis.driver("samplemcm"), DISPATCH_LEVEL):
            item = ndis.NdisAllocateIoWorkItem(adapter)
            assert item is not None
            ndis.NdisQueueIoWorkItem(item, lambda ctx, h: ndis.NdisFreeIoWorkItem(h))
            status, timer = ndis.NdisAllocateTimerObject(adapter, chars)
            assert status == NDIS_STATUS_SUCCESS and timer is not None
            assert ndis.NdisSetTimerObject(timer, -10_000) is False
            assert ndis.NdisCancelTimerObject(timer) is True  # one-shot: fine here
            ndis.NdisFreeTimerObject(timer)
            lock = ndis.NdisAllocateSpinLock()
            ndis.NdisAcquireSpinLock(lock)
            ndis.NdisReleaseSpinLock(lock)
            ndis.NdisFreeSpinLock(lock)
        ndis.run()
        assert ndis.verifier.violations == []
        assert {r.irql for r in ndis.trace if r.name == "NdisQueueIoWorkItem"} == {DISPATCH_LEVEL}

    def test_set_and_reset_event_at_dispatch(self) -> None:
        ndis, _, _ = mcm_host(afs=(), client=False)
        block = ndis.driver("samplemcm")
        with ndis.driver_context(block):
            event = ndis.NdisInitializeEvent()
        with ndis.driver_context(block, DISPATCH_LEVEL):
            ndis.NdisSetEvent(event)
            ndis.NdisResetEvent(event)
        assert ndis.verifier.violations == []


class TestPeriodicTimerCancel:
    """Cancelling a periodic timer needs PASSIVE_LEVEL (Irql_Timer_Function)."""

    def _timer(self, period: int) -> tuple[Ndis, Any]:
        ndis, _, _ = mcm_host(afs=(), client=False)
        chars = NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *a: None)
        status, timer = ndis.NdisAllocateTimerObject(ndis.adapter("mcm0").handle, chars)
        assert status == NDIS_STATUS_SUCCESS
        ndis.NdisSetTimerObject(timer, -10_000, period)
        return ndis, timer

    def test_periodic_at_dispatch_is_a_bugcheck(self) -> None:
        ndis, timer = self._timer(5)
        block = ndis.driver("samplemcm")

        def cancel() -> None:
            with ndis.driver_context(block, DISPATCH_LEVEL):
                ndis.NdisCancelTimerObject(timer)

        rule, ddi = "Irql_Timer_Function", "NdisCancelTimerObject"
        expect_bugcheck(ndis, cancel, rule, ddi, "samplemcm", timer.label)
        assert [(t.handle, t.period_ms) for t in ndis.timers] == [(timer, 5)]

    def test_periodic_at_passive_is_fine(self) -> None:
        ndis, timer = self._timer(5)
        assert ndis.NdisCancelTimerObject(timer) is True

    def test_one_shot_at_dispatch_is_fine(self) -> None:
        ndis, timer = self._timer(0)
        with ndis.driver_context(ndis.driver("samplemcm"), DISPATCH_LEVEL):
            assert ndis.NdisCancelTimerObject(timer) is True
        assert ndis.verifier.violations == []


class LockedOpenClient(SampleClient):
    """Opens each offered AF while holding a spin lock (IRQL raised to DISPATCH_LEVEL)."""

    def ProtocolCoAfRegisterNotify(self, ProtocolBindingContext: Any, AddressFamily: Any) -> None:
        lock = self.ndis.NdisAllocateSpinLock()
        self.ndis.NdisAcquireSpinLock(lock)
        self.ndis.NdisClOpenAddressFamilyEx(ProtocolBindingContext.handle, AddressFamily, object())
        self.ndis.NdisReleaseSpinLock(lock)


class TestFromAHandler:
    """A driver that breaks the IRQL rule inside its own handler stops the host."""

    def test_open_af_under_a_spin_lock_crashes_the_host(self) -> None:
        from condis.samples import SampleMcm

        ndis = Ndis()
        ndis.load_driver(SampleMcm(ndis, address_families=[CO_ADDRESS_FAMILY_Q2931]), "mcm")
        ndis.load_driver(LockedOpenClient(ndis), "locked")
        with pytest.raises(BugCheck) as info:
            ndis.add_adapter("mcm", "mcm0")
        bc = info.value
        binding = ndis.binding("locked", "mcm0").handle
        assert binding is not None
        rule = "Irql_Protocol_Driver_Function"
        assert facts(bc) == (C4, rule, "NdisClOpenAddressFamilyEx", "locked", binding.label)
        assert "DISPATCH_LEVEL" in bc.detail
        assert ndis.crashed is bc
        assert ndis.address_families == ()
        with pytest.raises(SystemCrashed):
            ndis.run()
