"""Address families: registration, announcement and close notification.

The contract is af.py's docstring and the WDK pages: NdisMCmRegisterAddressFamilyEx,
NdisCmRegisterAddressFamilyEx, ProtocolCoAfRegisterNotify, Ndis(M)CmNotifyCloseAddressFamily,
ProtocolClNotifyCloseAf, NdisClNotifyCloseAddressFamilyComplete, ProtocolCmNotifyCloseAfComplete,
guide/registering-and-opening-an-address-family.md and guide/closing-an-address-family*.md.
Paths: "mcm" (SampleMcm, NdisMCm* spellings) and "cm" (SampleCallManager over SampleCoMiniport,
NdisCm*); the shared helpers and drivers live in hosts/af.py. Teardown with AFs open
(adapters.py's halt order) is in test_af_teardown.py.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY,
    CO_ADDRESS_FAMILY_L2TP,
    CO_ADDRESS_FAMILY_PSCHED,
    CO_ADDRESS_FAMILY_Q2931,
    NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    BugCheck,
    MiniportDriver,
    Ndis,
)
from condis.demo import af_lifecycle
from condis.samples import SampleCallManager, SampleCoMiniport, SampleMcm
from hosts.af import (
    HOLD,
    Q2931,
    SAMPLE,
    RecordingClient,
    ScriptedCallManager,
    ScriptedMcm,
    build,
    co_miniport_host,
    inside,
    returns,
    statuses,
)
from hosts.paths import COMPLETIONS, PATHS
from util import calls, find, in_order

BOTH = (CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED)


# --- 1. NdisMCmRegisterAddressFamilyEx ----------------------------------------------------------


class CoMiniportCallingMcmRegister(SampleCoMiniport):
    """A CoNDIS miniport without call-manager handlers that calls NdisMCmRegisterAddressFamilyEx."""

    def MiniportInitializeEx(self, NdisMiniportHandle, MiniportDriverContext, Params):
        status = super().MiniportInitializeEx(NdisMiniportHandle, MiniportDriverContext, Params)
        self.register_status = self.ndis.NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, Q2931)
        return status


class ConnectionlessMiniport(MiniportDriver):
    """A miniport that registers no CoNDIS handlers at all."""

    CONNECTION_ORIENTED = False

    def MiniportInitializeEx(self, NdisMiniportHandle, MiniportDriverContext, Params):
        attributes = NDIS_MINIPORT_ADAPTER_REGISTRATION_ATTRIBUTES(MiniportAdapterContext=self)
        return self.ndis.NdisMSetMiniportAttributes(NdisMiniportHandle, attributes)

    def MiniportHaltEx(self, MiniportAdapterContext, HaltAction) -> None:
        pass


class ConnectionlessMiniportCallingMcmRegister(ConnectionlessMiniport):
    """A miniport that is not connection-oriented calling NdisMCmRegisterAddressFamilyEx."""

    def MiniportInitializeEx(self, NdisMiniportHandle, MiniportDriverContext, Params):
        status = super().MiniportInitializeEx(NdisMiniportHandle, MiniportDriverContext, Params)
        self.register_status = self.ndis.NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, Q2931)
        return status


class DuplicatingMcm(SampleMcm):
    """Registers Q.2931 from MiniportInitializeEx, then Q.2931 again (another version)."""

    def MiniportInitializeEx(self, NdisMiniportHandle, MiniportDriverContext, Params):
        status = super().MiniportInitializeEx(NdisMiniportHandle, MiniportDriverContext, Params)
        again = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 4, 0)
        self.duplicate_status = self.ndis.NdisMCmRegisterAddressFamilyEx(NdisMiniportHandle, again)
        return status


class TestMcmRegisterAddressFamily:
    """NdisMCmRegisterAddressFamilyEx: every documented return, and displacement."""

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_success_from_initialize_for_each_af(self, completion: str) -> None:
        afs = (CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED, CO_ADDRESS_FAMILY_L2TP)
        host = build("mcm", completion, afs=afs)
        ndis = host.ndis
        registered = returns(ndis, "NdisMCmRegisterAddressFamilyEx")
        assert [r.status for r in registered] == [NDIS_STATUS_SUCCESS] * 3
        assert all(inside("MiniportInitializeEx", r, ndis) for r in registered)
        assert [
            (r.adapter.name, r.cm.name, r.family.AddressFamily) for r in ndis.registrations
        ] == [("mcm0", "samplemcm", af) for af in afs]
        # several AFs on one adapter: each is offered and opened on its own handle
        assert len(calls(ndis, "ProtocolCoAfRegisterNotify")) == 3
        assert len({a.handle.label for a in ndis.address_families}) == 3
        assert len(calls(ndis, "ProtocolCmOpenAf", driver="samplemcm")) == 3

    @pytest.mark.parametrize(
        "miniport", [CoMiniportCallingMcmRegister, ConnectionlessMiniportCallingMcmRegister]
    )
    def test_failure_for_a_miniport_without_call_manager_handlers(self, miniport: Any) -> None:
        ndis = Ndis()
        driver = miniport(ndis)
        ndis.load_driver(driver, "samplecominiport")
        ndis.load_driver(RecordingClient(ndis), "sampleclient")
        ndis.add_adapter("samplecominiport", "atm0")
        ndis.run()
        assert driver.register_status == NDIS_STATUS_FAILURE
        assert find(ndis, "NdisMCmRegisterAddressFamilyEx", "return").status == NDIS_STATUS_FAILURE
        assert ndis.registrations == ()
        assert calls(ndis, "ProtocolCoAfRegisterNotify") == []

    def test_failure_for_a_duplicate_af_type(self) -> None:
        ndis = Ndis()
        mcm = DuplicatingMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,))
        ndis.load_driver(mcm, "samplemcm")
        client = RecordingClient(ndis)
        ndis.load_driver(client, "sampleclient")
        ndis.add_adapter("samplemcm", "mcm0")
        ndis.run()
        assert mcm.duplicate_status == NDIS_STATUS_FAILURE
        assert [r.family for r in ndis.registrations] == [Q2931]
        assert client.bindings[0].offers == [Q2931]

    def test_resources_fails_the_initialize(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleMcm(ndis), "samplemcm")
        ndis.load_driver(RecordingClient(ndis), "sampleclient")
        ndis.faults.fail("NdisMCmRegisterAddressFamilyEx")
        ndis.add_adapter("samplemcm", "mcm0")
        ndis.run()
        assert statuses(ndis, "NdisMCmRegisterAddressFamilyEx") == [NDIS_STATUS_RESOURCES]
        assert find(ndis, "MiniportInitializeEx", "return").status == NDIS_STATUS_RESOURCES
        assert ndis.registrations == () and ndis.adapters == ()
        assert calls(ndis, "ProtocolCoAfRegisterNotify") == []

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_mcm_displaces_a_stand_alone_call_managers_af(self, completion: str) -> None:
        ndis = Ndis()
        mcm = ScriptedMcm(ndis, address_families=(), completion=completion)
        ndis.load_driver(mcm, "samplemcm")
        ndis.load_driver(ScriptedCallManager(ndis, completion=completion), "samplecallmanager")
        client = RecordingClient(ndis)
        ndis.load_driver(client, "sampleclient")
        ndis.add_adapter("samplemcm", "mcm0")
        ndis.run()
        [cm_af] = ndis.address_families
        assert [r.cm.name for r in ndis.registrations] == ["samplecallmanager"]

        [adapter_handle] = mcm.adapters
        status = ndis.NdisMCmRegisterAddressFamilyEx(adapter_handle, Q2931)
        ndis.run()

        assert status == NDIS_STATUS_SUCCESS
        assert [(r.cm.name, r.family) for r in ndis.registrations] == [("samplemcm", Q2931)]
        assert client.bindings[0].offers == [Q2931, Q2931]
        # the new open went to the MCM; the displaced offer took none, its open AF stays open
        assert len(calls(ndis, "ProtocolCmOpenAf", driver="samplecallmanager")) == 1
        assert len(calls(ndis, "ProtocolCmOpenAf", driver="samplemcm")) == 1
        assert cm_af in ndis.address_families and cm_af.client_valid
        assert {a.registration.cm.name for a in ndis.address_families} == {
            "samplecallmanager",
            "samplemcm",
        }


# --- 2. NdisCmRegisterAddressFamilyEx -----------------------------------------------------------


class AnyMediumCallManager(SampleCallManager):
    """A call manager that binds even to a miniport that is not connection-oriented."""

    def ProtocolBindAdapterEx(self, ProtocolDriverContext, BindContext, BindParameters):
        params = replace(BindParameters, ConnectionOriented=True)
        return super().ProtocolBindAdapterEx(ProtocolDriverContext, BindContext, params)


class TestCmRegisterAddressFamily:
    """NdisCmRegisterAddressFamilyEx: every documented return."""

    def test_success_from_the_bind(self) -> None:
        host = build("cm")
        ndis = host.ndis
        ret = find(ndis, "NdisCmRegisterAddressFamilyEx", "return")
        assert ret.status == NDIS_STATUS_SUCCESS and ret.driver == "samplecallmanager"
        assert inside("ProtocolBindAdapterEx", ret, ndis)
        assert [(r.adapter.name, r.cm.name, r.family) for r in ndis.registrations] == [
            ("atm0", "samplecallmanager", Q2931)
        ]
        assert host.cm.bindings[0].registered == [CO_ADDRESS_FAMILY_Q2931]

    def test_failure_when_the_caller_is_not_a_call_manager(self) -> None:
        host = build("cm")
        ndis = host.ndis
        before = ndis.snapshot()
        family = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_PSCHED)
        assert ndis.NdisCmRegisterAddressFamilyEx(host.binding_handle, family) == (
            NDIS_STATUS_FAILURE
        )
        ndis.run()
        assert ndis.snapshot() == before
        assert len(calls(ndis, "ProtocolCoAfRegisterNotify")) == 1

    def test_failure_when_the_miniport_is_not_connection_oriented(self) -> None:
        ndis = co_miniport_host(
            (AnyMediumCallManager, "samplecallmanager"), miniport=ConnectionlessMiniport
        )
        ret = find(ndis, "NdisCmRegisterAddressFamilyEx", "return")
        assert ret.status == NDIS_STATUS_FAILURE
        assert ndis.registrations == ()
        assert ndis.binding("samplecallmanager", "atm0").registrations == []

    def test_failure_when_another_call_manager_registered_the_type(self) -> None:
        ndis = co_miniport_host(
            (SampleCallManager, "cm1"), (SampleCallManager, "cm2"), (RecordingClient, "client")
        )
        registered = statuses(ndis, "NdisCmRegisterAddressFamilyEx")
        assert registered == [NDIS_STATUS_SUCCESS, NDIS_STATUS_FAILURE]
        assert [r.cm.name for r in ndis.registrations] == ["cm1"]
        assert len(calls(ndis, "ProtocolCoAfRegisterNotify", driver="client")) == 1

    def test_failure_when_an_mcm_registered_the_type(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleMcm(ndis), "samplemcm")
        cm = SampleCallManager(ndis)
        ndis.load_driver(cm, "samplecallmanager")
        ndis.add_adapter("samplemcm", "mcm0")
        ndis.run()
        assert find(ndis, "NdisCmRegisterAddressFamilyEx", "return").status == NDIS_STATUS_FAILURE
        assert {r.cm.name for r in ndis.registrations} == {"samplemcm"}
        assert cm.bindings[0].registered == []

    def test_resources(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
        ndis.load_driver(SampleCallManager(ndis), "samplecallmanager")
        client = RecordingClient(ndis)
        ndis.load_driver(client, "sampleclient")
        ndis.faults.fail("NdisCmRegisterAddressFamilyEx")
        ndis.add_adapter("samplecominiport", "atm0")
        ndis.run()
        assert find(ndis, "NdisCmRegisterAddressFamilyEx", "return").status == (
            NDIS_STATUS_RESOURCES
        )
        assert ndis.registrations == ()
        assert calls(ndis, "ProtocolCoAfRegisterNotify") == [] and client.afs() == []


# --- 3. ProtocolCoAfRegisterNotify --------------------------------------------------------------


class RecordingCallManager(SampleCallManager):
    """The sample call manager, recording the offers NDIS announces to it."""

    def __init__(self, ndis: Ndis, **kwargs: Any) -> None:
        super().__init__(ndis, **kwargs)
        self.offers: list[CO_ADDRESS_FAMILY] = []

    def ProtocolCoAfRegisterNotify(self, ProtocolBindingContext, AddressFamily) -> None:
        self.offers.append(AddressFamily)


class PschedCallManager(RecordingCallManager):
    def __init__(self, ndis: Ndis) -> None:
        super().__init__(ndis, address_families=(CO_ADDRESS_FAMILY_PSCHED,))


class FailingMcm(SampleMcm):
    """Registers its AFs in MiniportInitializeEx, then fails the initialize."""

    def MiniportInitializeEx(self, NdisMiniportHandle, MiniportDriverContext, Params):
        super().MiniportInitializeEx(NdisMiniportHandle, MiniportDriverContext, Params)
        return NDIS_STATUS_FAILURE


def mcm_adapter(*clients: str, completion: str = "sync") -> tuple[Ndis, dict[str, Any]]:
    """The sample MCM's adapter 'mcm0' (Q.2931 and PSCHED) with recording clients loaded first."""
    ndis = Ndis()
    ndis.load_driver(SampleMcm(ndis, address_families=BOTH, completion=completion), "samplemcm")
    loaded = {name: RecordingClient(ndis) for name in clients}
    for name, client in loaded.items():
        ndis.load_driver(client, name)
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    return ndis, loaded


def notifies(ndis: Ndis, driver: str | None = None) -> list[Any]:
    return calls(ndis, "ProtocolCoAfRegisterNotify", driver=driver)


def offered(client: Any) -> list[int]:
    return [f.AddressFamily for f in client.bindings[0].offers]


class TestAfRegisterNotify:
    """When and to whom NDIS announces an offer with ProtocolCoAfRegisterNotify."""

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_after_initialize_returns_and_after_the_clients_bind(self, completion: str) -> None:
        ndis, clients = mcm_adapter("sampleclient", completion=completion)
        init = find(ndis, "MiniportInitializeEx", "return", status=NDIS_STATUS_SUCCESS)
        bind = find(ndis, "ProtocolBindAdapterEx", "return", driver="sampleclient")
        records = notifies(ndis)
        assert [r.driver for r in records] == ["sampleclient"] * 2
        assert all(r.seq > bind.seq > init.seq and r.irql == PASSIVE_LEVEL for r in records)
        assert offered(clients["sampleclient"]) == list(BOTH)

    def test_once_per_af_per_bound_client(self) -> None:
        ndis, clients = mcm_adapter("client1", "client2")
        assert len(notifies(ndis)) == 4
        for name, client in clients.items():
            bind = find(ndis, "ProtocolBindAdapterEx", "return", driver=name)
            mine = notifies(ndis, driver=name)
            assert len(mine) == 2 and all(r.seq > bind.seq for r in mine)
            assert sorted(offered(client)) == sorted(BOTH)
            assert len(client.afs("open")) == 2

    def test_after_a_pended_bind_completes(self) -> None:
        ndis = Ndis()
        ndis.config.open_adapter_pends = True
        ndis.load_driver(SampleMcm(ndis, address_families=BOTH), "samplemcm")
        ndis.load_driver(RecordingClient(ndis), "sampleclient")
        ndis.add_adapter("samplemcm", "mcm0")
        ndis.run()
        find(ndis, "ProtocolBindAdapterEx", "return", status=NDIS_STATUS_PENDING)
        completed = find(ndis, "NdisCompleteBindAdapterEx", driver="sampleclient")
        records = notifies(ndis)
        assert len(records) == 2 and all(r.seq > completed.seq for r in records)

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_to_a_client_loaded_after_the_adapter_is_up(self, completion: str) -> None:
        ndis, _ = mcm_adapter(completion=completion)
        assert notifies(ndis) == []
        client = RecordingClient(ndis)
        ndis.load_driver(client, "lateclient")
        ndis.run()
        bind = find(ndis, "ProtocolBindAdapterEx", "return", driver="lateclient")
        records = notifies(ndis, driver="lateclient")
        assert len(records) == 2 and all(r.seq > bind.seq for r in records)
        assert offered(client) == list(BOTH) and len(client.afs("open")) == 2

    @pytest.mark.parametrize("bind", ["sync", "pended"])
    def test_stand_alone_cm_offer_after_the_cms_bind_completes(self, bind: str) -> None:
        ndis = Ndis()
        ndis.config.open_adapter_pends = bind == "pended"
        ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
        ndis.load_driver(RecordingClient(ndis), "sampleclient")  # binds before the CM
        cm = RecordingCallManager(ndis)
        ndis.load_driver(cm, "samplecallmanager")
        ndis.add_adapter("samplecominiport", "atm0")
        ndis.run()
        registered = find(
            ndis, "NdisCmRegisterAddressFamilyEx", "return", status=NDIS_STATUS_SUCCESS
        )
        if bind == "pended":
            done = find(ndis, "NdisCompleteBindAdapterEx", driver="samplecallmanager")
        else:
            done = find(ndis, "ProtocolBindAdapterEx", "return", driver="samplecallmanager")
        client_bound = find(ndis, "ProtocolBindAdapterEx", "return", driver="sampleclient")
        [record] = notifies(ndis)
        assert record.driver == "sampleclient"
        assert record.seq > done.seq > registered.seq > client_bound.seq
        assert cm.offers == []

    def test_not_to_the_call_manager_that_made_the_offer(self) -> None:
        ndis = co_miniport_host(
            (RecordingCallManager, "cm1"), (PschedCallManager, "cm2"), (RecordingClient, "client")
        )
        cm1, cm2, client = (ndis.driver(name).code for name in ("cm1", "cm2", "client"))
        assert [f.AddressFamily for f in cm1.offers] == [CO_ADDRESS_FAMILY_PSCHED]
        assert [f.AddressFamily for f in cm2.offers] == [CO_ADDRESS_FAMILY_Q2931]
        assert sorted(offered(client)) == sorted(BOTH)

    def test_none_when_initialize_fails(self) -> None:
        ndis = Ndis()
        ndis.load_driver(FailingMcm(ndis, address_families=BOTH), "samplemcm")
        ndis.load_driver(RecordingClient(ndis), "sampleclient")
        ndis.add_adapter("samplemcm", "mcm0")
        assert ndis.run() == 0
        assert statuses(ndis, "NdisMCmRegisterAddressFamilyEx") == [NDIS_STATUS_SUCCESS] * 2
        assert find(ndis, "MiniportInitializeEx", "return").status == NDIS_STATUS_FAILURE
        assert notifies(ndis) == [] and calls(ndis, "ProtocolBindAdapterEx") == []
        assert ndis.registrations == () and ndis.adapters == ()


# --- 7. call-manager-initiated close ------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestNotifyCloseAddressFamily:
    """Ndis(M)CmNotifyCloseAddressFamily -> ProtocolClNotifyCloseAf, and its completion."""

    def test_client_closes_synchronously(self, path: str) -> None:
        host = build(path, "sync")
        ndis, af = host.ndis, host.open_af()
        notify = host.spelled("NotifyCloseAddressFamily")
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_SUCCESS
        in_order(
            ndis,
            ("call", notify, None, host.cm_name),
            ("call", "ProtocolClNotifyCloseAf", None, "sampleclient"),
            ("return", "NdisClCloseAddressFamily", NDIS_STATUS_SUCCESS),
            ("return", "ProtocolClNotifyCloseAf", NDIS_STATUS_SUCCESS),
            ("return", notify, NDIS_STATUS_SUCCESS),
        )
        assert calls(ndis, "ProtocolCmNotifyCloseAfComplete") == []
        assert ndis.address_families == () and ndis.operations == ()
        assert af.handle.label not in host.handles()

    def test_client_pends_then_completes(self, path: str) -> None:
        host = build(path, "pended")
        ndis, af = host.ndis, host.open_af()
        notify = host.spelled("NotifyCloseAddressFamily")
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_PENDING
        assert calls(ndis, "ProtocolCmNotifyCloseAfComplete") == []
        assert af.handle.label in host.handles()
        ndis.run()
        in_order(
            ndis,
            ("return", "ProtocolClNotifyCloseAf", NDIS_STATUS_PENDING, "sampleclient"),
            ("return", notify, NDIS_STATUS_PENDING),
            ("call", host.spelled("CloseAddressFamilyComplete")),
            ("call", "NdisClNotifyCloseAddressFamilyComplete", None, "sampleclient"),
            ("call", "ProtocolCmNotifyCloseAfComplete", None, host.cm_name),
        )
        assert host.cm.notify_completions == [NDIS_STATUS_SUCCESS]
        assert ndis.address_families == () and ndis.operations == ()
        assert af.handle.label not in host.handles()

    def test_client_refuses_and_the_af_stays_open(self, path: str) -> None:
        host = build(path, notify_reply=NDIS_STATUS_FAILURE)
        ndis, af = host.ndis, host.open_af()
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_FAILURE
        assert find(ndis, "ProtocolClNotifyCloseAf", "return").status == NDIS_STATUS_FAILURE
        [nas] = ndis.address_families
        assert nas.state.value == "open" and nas.client_valid and nas.cm_valid
        assert host.cm.notify_completions == [] and ndis.operations == ()
        assert host.client.close_af(af) == NDIS_STATUS_SUCCESS
        assert ndis.address_families == ()

    def test_client_refuses_in_its_completion(self, path: str) -> None:
        host = build(path, notify_reply=NDIS_STATUS_PENDING)
        ndis, af = host.ndis, host.open_af()
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_PENDING
        ndis.NdisClNotifyCloseAddressFamilyComplete(af.handle, NDIS_STATUS_FAILURE)
        assert host.cm.notify_completions == [NDIS_STATUS_FAILURE]
        assert [a.state.value for a in ndis.address_families] == ["open"]
        host.client.notify_reply = SAMPLE  # asked again, the client now closes
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_SUCCESS
        assert ndis.address_families == () and ndis.operations == ()

    @pytest.mark.parametrize("state", ["opening", "closing"])
    def test_failure_when_the_af_is_not_open(self, path: str, state: str) -> None:
        if state == "opening":
            host = build(path, open_reply=HOLD)
            [handle] = host.cm.held
        else:
            host = build(path, "pended")
            handle = host.open_af().handle
            assert host.client.close_af(host.open_af()) == NDIS_STATUS_PENDING
        ndis = host.ndis
        before = ndis.snapshot()
        assert host.cm.ddi("NotifyCloseAddressFamily")(handle) == NDIS_STATUS_FAILURE
        assert ndis.snapshot() == before
        assert calls(ndis, "ProtocolClNotifyCloseAf") == []

    def test_failure_when_already_being_notified(self, path: str) -> None:
        host = build(path, "pended")
        ndis, af = host.ndis, host.open_af()
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_PENDING
        before = ndis.snapshot()
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_FAILURE
        assert ndis.snapshot() == before
        assert len(calls(ndis, "ProtocolClNotifyCloseAf")) == 1
        ndis.run()
        assert host.cm.notify_completions == [NDIS_STATUS_SUCCESS]

    def test_success_without_closing_is_a_violation(self, path: str) -> None:
        host = build(path, notify_reply=NDIS_STATUS_SUCCESS)
        af = host.open_af()
        with pytest.raises(BugCheck) as exc:
            host.cm.ddi("NotifyCloseAddressFamily")(af.handle)
        assert exc.value.rule == "CoNdisNotifyCloseNotClosed"
        assert (exc.value.ddi, exc.value.driver) == ("ProtocolClNotifyCloseAf", "sampleclient")
        assert exc.value.handle == af.handle.label

    def test_completion_with_success_without_closing_is_a_violation(self, path: str) -> None:
        host = build(path, notify_reply=NDIS_STATUS_PENDING)
        ndis, af = host.ndis, host.open_af()
        host.cm.ddi("NotifyCloseAddressFamily")(af.handle)
        with pytest.raises(BugCheck) as exc:
            ndis.NdisClNotifyCloseAddressFamilyComplete(af.handle, NDIS_STATUS_SUCCESS)
        assert exc.value.rule == "CoNdisNotifyCloseNotClosed"
        assert exc.value.ddi == "NdisClNotifyCloseAddressFamilyComplete"
        assert exc.value.driver == "sampleclient"


# --- 9. the demo ----------------------------------------------------------------------------------


class TestDemo:
    """condis.demo.af_lifecycle(): the issue's order of events."""

    def test_af_lifecycle_order(self) -> None:
        ndis = af_lifecycle()
        registrations = returns(ndis, "NdisMCmRegisterAddressFamilyEx")
        assert [r.status for r in registrations] == [NDIS_STATUS_SUCCESS] * 2
        steps = in_order(
            ndis,
            ("return", "NdisMCmRegisterAddressFamilyEx", NDIS_STATUS_SUCCESS),
            ("return", "NdisMCmRegisterAddressFamilyEx", NDIS_STATUS_SUCCESS),
            ("call", "ProtocolCoAfRegisterNotify"),
            ("return", "NdisClOpenAddressFamilyEx", NDIS_STATUS_PENDING),
            ("call", "NdisMCmOpenAddressFamilyComplete"),
            ("call", "ProtocolClOpenAfCompleteEx"),
            ("return", "NdisClCloseAddressFamily", NDIS_STATUS_PENDING),
            ("call", "NdisMCmCloseAddressFamilyComplete"),
            ("call", "ProtocolClCloseAfComplete"),
        )
        assert steps[1] == registrations[-1]
        assert steps[4].handle == steps[5].handle
        assert steps[6].handle == steps[7].handle == steps[8].handle
        assert ndis.verifier.violations == [] and ndis.crashed is None
        assert ndis.address_families == () and ndis.registrations == ()
