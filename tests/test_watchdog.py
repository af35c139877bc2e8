"""NdisWatchdog: a pended operation not completed in time (operations.py)."""

from __future__ import annotations

from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    BugCheck,
    Mode,
    Ndis,
)
from condis.constants import BUGCODE_NDIS_DRIVER
from condis.handles import AfHandle
from condis.samples import SampleClient, SampleMcm
from condis.scheduler import TICKS_PER_MS
from util import records


class SlowMcm(SampleMcm):
    """Pends every AF open and leaves its completion to the test."""

    def __init__(self, ndis: Ndis, **kwargs: Any) -> None:
        super().__init__(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), **kwargs)
        self.held: list[AfHandle] = []

    def ProtocolCmOpenAf(self, CallMgrBindingContext: Any, AddressFamily: Any, NdisAfHandle: Any):  # type: ignore[no-untyped-def]
        self.held.append(NdisAfHandle)
        return NDIS_STATUS_PENDING


def host(**kwargs: Any) -> tuple[Ndis, SlowMcm, SampleClient]:
    ndis = Ndis(**kwargs)
    mcm = SlowMcm(ndis)
    client = SampleClient(ndis)
    ndis.load_driver(mcm, "slowmcm")
    ndis.load_driver(client, "sampleclient")
    ndis.add_adapter("slowmcm", "mcm0")
    return ndis, mcm, client


def complete_open(ndis: Ndis, mcm: SlowMcm) -> None:
    ndis.NdisMCmOpenAddressFamilyComplete(NDIS_STATUS_SUCCESS, mcm.held.pop(), object())


def test_off_by_default_a_pended_open_waits_for_ever() -> None:
    ndis, mcm, client = host()
    ndis.run()
    assert ndis.now == 0
    assert [op.kind for op in ndis.operations] == ["open-af"]
    assert ndis.verifier.violations == []
    complete_open(ndis, mcm)
    assert client.afs("open")


def test_an_open_never_completed_bug_checks_when_the_clock_reaches_the_watchdog() -> None:
    ndis, _, _ = host(watchdog_ms=30_000)
    with pytest.raises(BugCheck) as caught:
        ndis.run()
    crash = caught.value
    assert crash.rule == "NdisWatchdog"
    assert crash.code == BUGCODE_NDIS_DRIVER
    assert crash.parameters[0] == 0x25  # NDIS_BUGCHECK_WATCHDOG
    assert crash.driver == "slowmcm"
    assert crash.ddi == "ProtocolCmOpenAf"
    assert "NdisMCmOpenAddressFamilyComplete" in crash.detail
    assert ndis.now == 30_000 * TICKS_PER_MS
    assert ndis.crashed is crash


def test_a_completion_in_time_stops_the_watchdog_and_the_clock_stays() -> None:
    ndis, mcm, client = host(watchdog_ms=30_000)
    ndis.run(until=29_999 * TICKS_PER_MS)
    complete_open(ndis, mcm)
    ndis.run()
    assert ndis.now == 29_999 * TICKS_PER_MS
    assert client.afs("open")
    assert ndis.verifier.violations == []
    assert ndis.scheduler.idle()


def test_collect_mode_records_the_hang_and_the_late_completion_still_works() -> None:
    ndis, mcm, client = host(watchdog_ms=100, mode=Mode.COLLECT)
    ndis.run()
    assert [v.rule for v in ndis.verifier.violations] == ["NdisWatchdog"]
    assert [op.kind for op in ndis.operations] == ["open-af"]
    complete_open(ndis, mcm)
    assert client.afs("open")
    assert records(ndis, "ProtocolClOpenAfCompleteEx", "call")
    assert ndis.operations == ()


def test_sample_drivers_complete_well_inside_the_watchdog() -> None:
    ndis = Ndis(watchdog_ms=1)
    mcm = SampleMcm(ndis, completion="pended")
    client = SampleClient(ndis)
    ndis.load_driver(mcm, "samplemcm")
    ndis.load_driver(client, "sampleclient")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    for af in client.afs("open"):
        client.close_af(af)
    ndis.run()
    ndis.halt_adapter("mcm0")
    ndis.run()
    assert ndis.verifier.violations == []
    assert ndis.now == 0


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "30"])
def test_watchdog_ms_must_be_a_positive_int(bad: object) -> None:
    with pytest.raises(ValueError, match="watchdog_ms"):
        Ndis(watchdog_ms=bad)  # type: ignore[arg-type]
