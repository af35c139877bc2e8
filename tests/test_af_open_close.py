"""Address families: open and close, for an MCM and a stand-alone call manager.

The contract is af.py's docstring and the WDK pages it names: NdisClOpenAddressFamilyEx,
ProtocolCmOpenAf, Ndis(M)CmOpenAddressFamilyComplete, ProtocolClOpenAfCompleteEx,
NdisClCloseAddressFamily, ProtocolCmCloseAf, Ndis(M)CmCloseAddressFamilyComplete,
ProtocolClCloseAfComplete and guide/registering-and-opening-an-address-family.md. Each test runs
on both paths: "mcm" (SampleMcm, NdisMCm* spellings) and "cm" (SampleCallManager over
SampleCoMiniport, NdisCm* spellings). The hosts and purpose-built drivers are in hosts/af.py,
shared with the close-notification, race and teardown tests.
"""

from __future__ import annotations

import pytest

from condis import (
    CO_ADDRESS_FAMILY,
    CO_ADDRESS_FAMILY_L2TP,
    CO_ADDRESS_FAMILY_Q2931,
    DISPATCH_LEVEL,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    BugCheck,
)
from hosts.af import COMPLETE_INSIDE, HOLD, Q2931, SAMPLE, build, inside
from hosts.paths import COMPLETIONS, PATHS
from util import calls, find, in_order

# --- 4. open ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestOpenAddressFamily:
    """NdisClOpenAddressFamilyEx -> ProtocolCmOpenAf, synchronous and pended."""

    def test_synchronous_success(self, path: str) -> None:
        host = build(path, "sync")
        ndis = host.ndis
        cm_ret, cl_ret = in_order(
            ndis,
            ("return", "ProtocolCmOpenAf", NDIS_STATUS_SUCCESS, host.cm_name),
            ("return", "NdisClOpenAddressFamilyEx", NDIS_STATUS_SUCCESS, "sampleclient"),
        )
        assert cl_ret.result == cm_ret.handle == host.open_af().handle.label
        assert calls(ndis, "ProtocolClOpenAfCompleteEx") == []
        [af] = ndis.address_families
        assert af.state.value == "open" and af.client_valid and af.cm_valid
        assert ndis.operations == ()

    def test_pended_then_completed_with_success(self, path: str) -> None:
        host = build(path, "pended")
        ndis = host.ndis
        records = in_order(
            ndis,
            ("return", "ProtocolCmOpenAf", NDIS_STATUS_PENDING, host.cm_name),
            ("return", "NdisClOpenAddressFamilyEx", NDIS_STATUS_PENDING),
            ("call", host.spelled("OpenAddressFamilyComplete"), None, host.cm_name),
            ("call", "ProtocolClOpenAfCompleteEx", None, "sampleclient"),
        )
        af = host.open_af()
        assert host.client.open_completions == [(af.handle, NDIS_STATUS_SUCCESS)]
        assert {r.handle for r in records} == {af.handle.label}
        assert [a.handle for a in ndis.address_families] == [af.handle]
        assert ndis.operations == ()

    def test_pended_then_completed_with_failure(self, path: str) -> None:
        host = build(path, open_reply=HOLD)
        ndis = host.ndis
        [handle] = host.cm.held
        assert find(ndis, "NdisClOpenAddressFamilyEx", "return").status == NDIS_STATUS_PENDING
        assert calls(ndis, "ProtocolClOpenAfCompleteEx") == []

        host.cm.complete_open(handle, NDIS_STATUS_NOT_SUPPORTED)

        assert host.client.open_completions == [(None, NDIS_STATUS_NOT_SUPPORTED)]
        assert ndis.address_families == () and ndis.operations == ()
        assert handle.label not in host.handles() and host.client.afs() == []
        before = ndis.snapshot()
        with pytest.raises(BugCheck) as client_use:
            ndis.NdisClCloseAddressFamily(handle)
        with pytest.raises(BugCheck) as cm_use:
            host.cm.ddi("NotifyCloseAddressFamily")(handle)
        assert (client_use.value.rule, cm_use.value.rule) == ("NdisHandleStale",) * 2
        assert ndis.snapshot() == before and ndis.crashed is None

    def test_synchronous_failure_from_the_call_manager(self, path: str) -> None:
        host = build(path, open_reply=NDIS_STATUS_RESOURCES)
        ndis = host.ndis
        cm_ret = find(ndis, "ProtocolCmOpenAf", "return")
        assert cm_ret.status == NDIS_STATUS_RESOURCES
        cl_ret = find(ndis, "NdisClOpenAddressFamilyEx", "return")
        assert cl_ret.status == NDIS_STATUS_RESOURCES and cl_ret.result is None
        assert calls(ndis, "ProtocolClOpenAfCompleteEx") == []
        assert ndis.address_families == () and ndis.operations == ()
        assert cm_ret.handle not in host.handles() and host.client.afs() == []

    def test_ndis_fails_an_af_nobody_offers(self, path: str) -> None:
        host = build(path)
        ndis = host.ndis
        before, opens = ndis.snapshot(), len(calls(ndis, "ProtocolCmOpenAf"))
        family = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_L2TP, 1, 0)
        status, handle = ndis.NdisClOpenAddressFamilyEx(host.binding_handle, family, object())
        assert (status, handle) == (NDIS_STATUS_FAILURE, None)
        assert len(calls(ndis, "ProtocolCmOpenAf")) == opens
        assert ndis.snapshot() == before

    def test_ndis_resources(self, path: str) -> None:
        host = build(path)
        ndis = host.ndis
        before, opens = ndis.snapshot(), len(calls(ndis, "ProtocolCmOpenAf"))
        ndis.faults.fail("NdisClOpenAddressFamilyEx")
        status, handle = ndis.NdisClOpenAddressFamilyEx(host.binding_handle, Q2931, object())
        assert (status, handle) == (NDIS_STATUS_RESOURCES, None)
        assert len(calls(ndis, "ProtocolCmOpenAf")) == opens
        assert ndis.snapshot() == before

    def test_completed_inside_the_handler_before_it_returns_pending(self, path: str) -> None:
        host = build(path, open_reply=COMPLETE_INSIDE)
        ndis = host.ndis
        complete = find(ndis, "ProtocolClOpenAfCompleteEx")
        assert inside("ProtocolCmOpenAf", complete, ndis)
        assert inside("NdisClOpenAddressFamilyEx", complete, ndis)
        assert find(ndis, "ProtocolCmOpenAf", "return").status == NDIS_STATUS_PENDING
        assert find(ndis, "NdisClOpenAddressFamilyEx", "return").status == NDIS_STATUS_PENDING
        af = host.open_af()
        assert host.client.open_completions == [(af.handle, NDIS_STATUS_SUCCESS)]
        assert [a.state.value for a in ndis.address_families] == ["open"]
        assert ndis.verifier.violations == [] and ndis.operations == ()


class TestOpenCompletedAtDispatch:
    """A stand-alone CM completing at DISPATCH_LEVEL: ProtocolClOpenAfCompleteEx at PASSIVE."""

    def test_sample_timer_completion(self) -> None:
        host = build("cm", "pended")
        ndis = host.ndis
        complete, _timer_return, client = in_order(
            ndis,
            ("call", "NdisCmOpenAddressFamilyComplete"),
            ("return", "NetTimerCallback"),
            ("call", "ProtocolClOpenAfCompleteEx"),
        )
        assert complete.irql == DISPATCH_LEVEL and client.irql == PASSIVE_LEVEL
        assert host.client.open_completions == [(host.open_af().handle, NDIS_STATUS_SUCCESS)]

    def test_completion_from_dispatch_level_runs_later(self) -> None:
        host = build("cm", open_reply=HOLD)
        ndis = host.ndis
        [handle] = host.cm.held
        with ndis.driver_context(ndis.driver("samplecallmanager"), DISPATCH_LEVEL):
            host.cm.complete_open(handle, NDIS_STATUS_SUCCESS)
        assert calls(ndis, "ProtocolClOpenAfCompleteEx") == []
        assert host.client.afs("opening")
        ndis.run()
        [record] = calls(ndis, "ProtocolClOpenAfCompleteEx")
        assert record.irql == PASSIVE_LEVEL and record.handle == handle.label
        assert host.client.open_completions == [(handle, NDIS_STATUS_SUCCESS)]


class TestSampleMcmVersions:
    """The versions are the call manager's to judge in ProtocolCmOpenAf (af.py)."""

    def test_mcm_refuses_another_major_version(self) -> None:
        host = build("mcm")
        ndis = host.ndis
        family = CO_ADDRESS_FAMILY(CO_ADDRESS_FAMILY_Q2931, 4, 0)
        status, handle = ndis.NdisClOpenAddressFamilyEx(host.binding_handle, family, object())
        assert (status, handle) == (NDIS_STATUS_NOT_SUPPORTED, None)
        assert find(ndis, "ProtocolCmOpenAf", "return", status=NDIS_STATUS_NOT_SUPPORTED)
        assert len(ndis.address_families) == 1


# --- 5. close -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestCloseAddressFamily:
    """NdisClCloseAddressFamily -> ProtocolCmCloseAf: SUCCESS, PENDING, NOT_ACCEPTED."""

    def test_synchronous_close(self, path: str) -> None:
        host = build(path, "sync")
        ndis = host.ndis
        af = host.open_af()
        assert host.client.close_af(af) == NDIS_STATUS_SUCCESS
        in_order(
            ndis,
            ("call", "NdisClCloseAddressFamily"),
            ("return", "ProtocolCmCloseAf", NDIS_STATUS_SUCCESS, host.cm_name),
            ("return", "NdisClCloseAddressFamily", NDIS_STATUS_SUCCESS),
        )
        assert calls(ndis, "ProtocolClCloseAfComplete") == []
        assert ndis.address_families == () and ndis.operations == ()
        assert af.handle.label not in host.handles()

    def test_pended_close(self, path: str) -> None:
        host = build(path, "pended")
        ndis = host.ndis
        af = host.open_af()
        assert host.client.close_af(af) == NDIS_STATUS_PENDING
        [nas] = ndis.address_families
        assert nas.state.value == "closing" and not nas.client_valid and nas.cm_valid
        assert calls(ndis, "ProtocolClCloseAfComplete") == []
        ndis.run()
        complete = host.spelled("CloseAddressFamilyComplete")
        in_order(
            ndis,
            ("return", "ProtocolCmCloseAf", NDIS_STATUS_PENDING, host.cm_name),
            ("return", "NdisClCloseAddressFamily", NDIS_STATUS_PENDING),
            ("call", complete, None, host.cm_name),
            ("call", "ProtocolClCloseAfComplete", None, "sampleclient"),
            ("return", complete),
        )
        assert host.client.close_completions == [NDIS_STATUS_SUCCESS]
        assert ndis.address_families == () and ndis.operations == ()
        assert af.handle.label not in host.handles()

    def test_not_accepted_leaves_the_af_open_and_usable(self, path: str) -> None:
        host = build(path, close_reply=NDIS_STATUS_NOT_ACCEPTED)
        ndis = host.ndis
        af = host.open_af()
        assert host.client.close_af(af) == NDIS_STATUS_NOT_ACCEPTED
        assert calls(ndis, "ProtocolClCloseAfComplete") == []
        [nas] = ndis.address_families
        assert nas.state.value == "open" and nas.client_valid and nas.cm_valid
        assert af.state == "open" and ndis.operations == ()
        host.cm.close_reply = SAMPLE
        assert host.client.close_af(af) == NDIS_STATUS_SUCCESS
        assert ndis.address_families == ()

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_handle_invalid_for_the_client_from_the_call_on(
        self, path: str, completion: str
    ) -> None:
        host = build(path, completion)
        ndis = host.ndis
        af = host.open_af()
        host.client.close_af(af)
        before = ndis.snapshot()
        with pytest.raises(BugCheck) as exc:
            ndis.NdisClCloseAddressFamily(af.handle)
        assert exc.value.rule == "NdisHandleStale"
        assert exc.value.ddi == "NdisClCloseAddressFamily"
        assert exc.value.handle == af.handle.label
        assert ndis.snapshot() == before and ndis.crashed is None
        ndis.run()
        assert ndis.address_families == () and len(calls(ndis, "ProtocolCmCloseAf")) == 1

    def test_handle_valid_for_the_call_manager_until_the_completion_returns(
        self, path: str
    ) -> None:
        host = build(path, "pended")
        ndis = host.ndis
        af = host.open_af()
        host.client.close_af(af)
        # still valid for the call manager: a notification of a closing AF just fails
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_FAILURE
        ndis.run()
        assert host.client.live_in_close_complete == [af.handle.label]
        before = ndis.snapshot()
        with pytest.raises(BugCheck) as exc, ndis.driver_context(ndis.driver(host.cm_name)):
            host.cm.ddi("CloseAddressFamilyComplete")(NDIS_STATUS_SUCCESS, af.handle)
        assert exc.value.rule == "NdisHandleStale" and exc.value.driver == host.cm_name
        assert ndis.snapshot() == before and ndis.crashed is None


# --- 6. spellings -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestSpelling:
    """The trace keeps the spelling used; the other role's spelling is CoNdisMcmSpelling."""

    def test_trace_records_the_spelling_used(self, path: str) -> None:
        host = build(path, "pended")
        host.client.close_af(host.open_af())
        host.ndis.run()
        for stem in ("OpenAddressFamilyComplete", "CloseAddressFamilyComplete"):
            assert len(calls(host.ndis, host.spelled(stem), driver=host.cm_name)) == 1
            assert calls(host.ndis, host.wrong(stem)) == []

    def test_wrong_spelling_of_the_open_completion(self, path: str) -> None:
        host = build(path, open_reply=HOLD)
        ndis = host.ndis
        [(handle, ctx)] = host.cm.held.items()
        before = ndis.snapshot()
        with pytest.raises(BugCheck) as exc:
            getattr(ndis, host.wrong("OpenAddressFamilyComplete"))(NDIS_STATUS_SUCCESS, handle, ctx)
        assert exc.value.rule == "CoNdisMcmSpelling"
        assert (exc.value.ddi, exc.value.driver) == (
            host.wrong("OpenAddressFamilyComplete"),
            host.cm_name,
        )
        assert ndis.snapshot() == before and ndis.crashed is None
        host.cm.complete_open(handle, NDIS_STATUS_SUCCESS)
        assert host.client.open_completions == [(handle, NDIS_STATUS_SUCCESS)]

    def test_wrong_spelling_of_the_close_completion(self, path: str) -> None:
        host = build(path, "pended")
        ndis = host.ndis
        af = host.open_af()
        host.client.close_af(af)
        before = ndis.snapshot()
        with pytest.raises(BugCheck) as exc:
            getattr(ndis, host.wrong("CloseAddressFamilyComplete"))(NDIS_STATUS_SUCCESS, af.handle)
        assert exc.value.rule == "CoNdisMcmSpelling"
        assert ndis.snapshot() == before
        ndis.run()
        assert host.client.close_completions == [NDIS_STATUS_SUCCESS]

    def test_wrong_spelling_of_the_close_notification(self, path: str) -> None:
        host = build(path)
        ndis = host.ndis
        af = host.open_af()
        before = ndis.snapshot()
        with pytest.raises(BugCheck) as exc:
            getattr(ndis, host.wrong("NotifyCloseAddressFamily"))(af.handle)
        assert exc.value.rule == "CoNdisMcmSpelling"
        assert exc.value.ddi == host.wrong("NotifyCloseAddressFamily")
        assert ndis.snapshot() == before
        assert calls(ndis, "ProtocolClNotifyCloseAf") == []
