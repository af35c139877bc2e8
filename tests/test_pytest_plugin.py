"""The condis_ndis fixture, run in a pytest of its own (pytester)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent

HOST = """
from condis import CO_ADDRESS_FAMILY_Q2931, NDIS_TIMER_CHARACTERISTICS
from condis.samples import SampleClient, SampleMcm


def up(ndis):
    mcm = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion="pended")
    client = SampleClient(ndis)
    ndis.load_driver(mcm, "samplemcm")
    ndis.load_driver(client, "sampleclient")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    return client
"""


def test_a_clean_driver_passes(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HOST
        + """
def test_open_and_leave_it_to_shutdown(condis_ndis):
    client = up(condis_ndis)
    assert client.afs("open")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_broken_rule_fails_the_test_with_the_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HOST
        + """
def test_close_twice(condis_ndis):
    client = up(condis_ndis)
    af = client.afs("open")[0]
    client.close_af(af)
    condis_ndis.run()
    condis_ndis.NdisClCloseAddressFamily(af.handle)
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*condis found problems*",
            "*NdisHandleStale (bug check 0xC4)*in NdisClCloseAddressFamily*",
            "*totals: NdisHandleStale x1*",
        ]
    )


def test_a_leak_fails_the_test_and_says_where_it_came_from(pytester: pytest.Pytester) -> None:
    """The timer belongs to the client's driver handle: unloading the client reports it."""
    pytester.makepyfile(
        HOST
        + """
def test_forget_a_timer(condis_ndis):
    client = up(condis_ndis)
    status, timer = condis_ndis.NdisAllocateTimerObject(
        client.driver_handle, NDIS_TIMER_CHARACTERISTICS(TimerFunction=lambda *a: None)
    )
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*NdisDriverUnloadLeak (bug check 0xC4)*in DriverUnload*",
            "*still allocated after teardown:*",
            "*timer NdisTimerObject#* held by sampleclient: not freed*NdisAllocateTimerObject*",
        ]
    )


def test_a_test_that_expects_a_violation_clears_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        HOST
        + """
def test_expected(condis_ndis):
    client = up(condis_ndis)
    af = client.afs("open")[0]
    client.close_af(af)
    condis_ndis.run()
    condis_ndis.NdisClCloseAddressFamily(af.handle)
    assert [v.rule for v in condis_ndis.verifier.violations] == ["NdisHandleStale"]
    condis_ndis.verifier.violations.clear()
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_shutdown_that_stops_the_host_still_reports_everything(
    pytester: pytest.Pytester,
) -> None:
    """The client pends ProtocolClNotifyCloseAf and never completes it: the MCM's halt
    waits for ever (NdisWaitDeadlock stops the host). The test fails with the report,
    not with a traceback of the shutdown."""
    pytester.makepyfile(
        HOST
        + """
from condis import NDIS_STATUS_PENDING


class Forgetful(SampleClient):
    def ProtocolClNotifyCloseAf(self, ProtocolAfContext):
        return NDIS_STATUS_PENDING  # and never NdisClNotifyCloseAddressFamilyComplete


def test_leave_the_af_to_the_halt(condis_ndis):
    mcm = SampleMcm(condis_ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,))
    condis_ndis.load_driver(mcm, "samplemcm")
    condis_ndis.load_driver(Forgetful(condis_ndis), "forgetful")
    condis_ndis.add_adapter("samplemcm", "mcm0")
    condis_ndis.run()
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*condis found problems*", "*the host crashed*"])
    result.stdout.fnmatch_lines(["*NdisWaitDeadlock (bug check*"])
    assert "Traceback" not in result.stdout.str()


def test_condis_explore_fails_a_test_with_the_minimal_schedule(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        test_race=f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
        + """
from targets.timer_race_client import factory
from targets.answering_client import factory as answering
from condis.samples import SampleClient


def test_the_sample_client_explores_clean(condis_explore):
    result = condis_explore(answering, "client", budget=200)
    assert result.counterexample is None


def test_a_client_nothing_calls_is_not_exercised(condis_explore):
    condis_explore(SampleClient, "client", budget=50)


def test_unless_partial_is_allowed(condis_explore):
    assert condis_explore(SampleClient, "client", budget=50, allow_partial=True).not_reached


def test_the_race(condis_explore):
    condis_explore(factory, "client", budget=200)
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["*condis explore never exercised the driver fully*"])
    result.stdout.fnmatch_lines(
        [
            "*condis explore found a failing schedule*",
            "*NdisHandleStale (bug check 0xC4)*",
            "*decision *: ran [*timer NdisTimerObject#*",
            "*replay: condis replay *condis-replay.json*",
        ]
    )
