"""Host determinism: the same host built twice runs the same; hosts in one process share nothing.

The plain protocol `Proto` (hosts/bindings.py) opens bindings on two hosts at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from condis import (
    NDIS_MINIPORT_CO_CHARACTERISTICS,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    BugCheck,
    Ndis,
)
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from hosts.bindings import Proto
from util import cm_host, names

SUCCESS = NDIS_STATUS_SUCCESS


def scenario(ndis: Ndis) -> list[Callable[[], object]]:
    """The steps of a run with both kinds of call manager, pended everywhere, then teardown."""
    return [
        lambda: setattr(ndis.config, "open_adapter_pends", True),
        lambda: setattr(ndis.config, "close_adapter_pends", True),
        lambda: ndis.load_driver(SampleMcm(ndis, completion="pended"), "mcm"),
        lambda: ndis.load_driver(SampleCoMiniport(ndis), "mp"),
        lambda: ndis.load_driver(SampleCallManager(ndis, completion="pended"), "cm"),
        lambda: ndis.load_driver(SampleClient(ndis), "cl"),
        lambda: ndis.add_adapter("mcm", "mcm0"),
        lambda: ndis.add_adapter("mp", "atm0"),
        ndis.run,
        lambda: ndis.halt_adapter("atm0"),
        lambda: ndis.halt_adapter("mcm0"),
        ndis.run,
    ]


def run(ndis: Ndis, steps: list[Callable[[], object]]) -> Ndis:
    for step in steps:
        step()
    return ndis


def as_json(ndis: Ndis) -> list[dict[str, Any]]:
    return [r.to_json() for r in ndis.trace]


class TestDeterminism:
    """The same host built twice runs the same; hosts in one process share nothing."""

    def test_same_host_twice_gives_identical_traces(self) -> None:
        one, two = Ndis(), Ndis()
        run(one, scenario(one))
        run(two, scenario(two))
        assert as_json(one) == as_json(two)
        assert len(one.trace) > 100
        assert {"ProtocolOpenAdapterCompleteEx", "ProtocolCloseAdapterCompleteEx"} <= set(
            names(one)
        )
        assert (one.bindings, one.adapters, one.verifier.violations) == ((), (), [])

    def test_interleaved_hosts_do_not_disturb_each_other(self) -> None:
        alone = Ndis()
        run(alone, scenario(alone))
        one, two = Ndis(), Ndis()
        first_steps = scenario(one)
        run(one, first_steps[:8])  # both adapters up, pended work queued
        run(two, scenario(two))
        run(one, first_steps[8:])
        assert as_json(one) == as_json(alone) == as_json(two)

    def test_handles_are_not_shared(self) -> None:
        one, _, _ = cm_host()
        two, _, _ = cm_host()
        b1, b2 = one.binding("sampleclient", "atm0"), two.binding("sampleclient", "atm0")
        assert b1.handle is not None and b2.handle is not None
        assert b1.handle.label == b2.handle.label and b1.handle is not b2.handle
        before = two.snapshot()
        with pytest.raises(BugCheck) as e:
            two.NdisSetOptionalHandlers(b1.handle, NDIS_MINIPORT_CO_CHARACTERISTICS())
        assert (e.value.rule, e.value.ddi) == ("NdisHandleForeign", "NdisSetOptionalHandlers")
        assert two.snapshot() == before and one.crashed is None

    def test_state_config_and_faults_are_not_shared(self) -> None:
        one, two = Ndis(), Ndis()
        one.config.open_adapter_pends = True
        one.faults.fail("NdisOpenAdapterEx")
        for ndis in (one, two):
            ndis.load_driver(SampleCoMiniport(ndis), "mp")
        p = Proto(two)
        two.load_driver(p, "p")
        two.add_adapter("mp", "a0")
        assert p.opened == [(SUCCESS, p.handle)]
        assert [d.name for d in one.drivers] == ["mp"] and one.adapters == one.bindings == ()
        q = Proto(one)
        one.load_driver(q, "p")
        one.add_adapter("mp", "a0")
        assert q.opened == [(NDIS_STATUS_RESOURCES, None)]
