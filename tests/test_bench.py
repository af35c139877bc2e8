"""The bench measures like against like: the floor and condis make the same crossings.

Nothing here is timed (the figures come from ``python -m bench``); these tests
keep the floor honest as condis and the samples change, so a ratio always
compares the same work.
"""

from __future__ import annotations

import pytest

from bench.floor import Floor
from bench.scenarios import FLOOR, SCENARIOS, Config, available_configs, crossings, same_crossings

CONDIS = [c for c in available_configs() if not c.floor]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
@pytest.mark.parametrize("config", CONDIS, ids=lambda c: c.name)
def test_floor_and_condis_cross_alike(scenario, config):
    names = same_crossings(scenario, config)
    assert names, "an op that crosses nothing measures nothing"


def test_a_scenario_that_parts_is_reported():
    scenario = SCENARIOS[0]
    broken = type(scenario)("broken", lambda host: _extra(scenario.setup(host), host))
    with pytest.raises(AssertionError, match="part at crossing"):
        same_crossings(broken, CONDIS[0])


def _extra(op, host):
    """The op, made twice on condis hosts and once on the floor."""

    def more():
        op()
        if not isinstance(host, Floor):
            op()

    return more


def test_every_op_returns_the_host_to_where_it_was():
    """A repeated op must not accumulate live objects, or later repeats measure more."""
    for scenario in SCENARIOS:
        host = FLOOR.recording_host()
        op = scenario.setup(host)
        op()
        live = len(host.objects)
        first = crossings(host, op)
        assert crossings(host, op) == first
        assert len(host.objects) == live, scenario.name


def test_configs_name_only_options_ndis_takes():
    assert FLOOR in available_configs()
    assert Config("condis bogus", {"no_such_option": 1}) not in available_configs(
        [FLOOR, Config("condis bogus", {"no_such_option": 1})]
    )
