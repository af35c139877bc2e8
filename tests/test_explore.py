"""condis explore and condis replay: schedules as choices, found, shrunk and replayed.

The target is tests/targets/timer_race_client.py: three timers due at the
same moment, and a bug in one of their six orders. verify's random
schedules miss it; dfs finds it, shrinks it to the two decisions that make
the order, and the replay file reproduces it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from condis.cli import main
from condis.explore import ChoicePolicy, Decision, Divergence, explore, load_replay, replay
from condis.explore.search import run_schedule
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport
from condis.scheduler import ItemKind
from condis.verify import plan, run_one
from condis.verify.workloads import Setup
from targets.timer_race_client import factory

REPO = Path(__file__).resolve().parents[1]
TARGET = str(REPO / "tests" / "targets" / "timer_race_client.py") + ":factory"
SIGNATURE = ("violation", "NdisHandleStale", "NdisClCloseAddressFamily", "timerraceclient")


def test_random_schedules_miss_the_race() -> None:
    runs = [run_one(factory, v) for v in plan("client", schedules=3)]
    assert all(run.clean for run in runs)


def test_dfs_finds_it_and_shrinks_it_to_a_one_minimal_schedule() -> None:
    result = explore(factory, "client", budget=100)
    found = result.counterexample
    assert found is not None and found.run.signature == SIGNATURE
    assert len(found.deviations) == 2
    assert not result.exhaustive
    for i, _ in found.deviations:  # no single deviation can go back to FIFO
        prefix = [d.chose for d in found.decisions]
        prefix[i] = 0
        run, _ = run_schedule(factory, found.setup, prefix[: max(i, found.deviations[-1][0]) + 1])
        assert run.clean or run.signature != SIGNATURE
    assert found.setup.stop == "init"  # the earliest teardown that still shows it
    assert [line.split(":")[0] for line in found.reorderings()] == [
        f"decision {i}" for i, _ in found.deviations
    ]


def test_the_samples_explore_clean_and_exhaustively() -> None:
    for role, sample in (
        ("client", SampleClient),
        ("callmanager", SampleCallManager),
        ("miniport", SampleCoMiniport),
    ):
        result = explore(sample, role, budget=500)
        assert result.counterexample is None and result.exhaustive, role
        assert result.schedules == sum(n for _, n, _ in result.setups)


def test_a_deviation_bound_limits_the_search() -> None:
    bounded = explore(SampleClient, "client", budget=500, max_deviations=0)
    free = explore(SampleClient, "client", budget=500)
    assert bounded.exhaustive and bounded.schedules == 2  # FIFO, once per peers mode
    assert free.schedules > bounded.schedules


def test_random_strategy_is_seeded() -> None:
    a = explore(factory, "client", strategy="random", budget=30, seed=4)
    b = explore(factory, "client", strategy="random", budget=30, seed=4)
    assert a.schedules == b.schedules
    if a.counterexample is not None:
        assert b.counterexample is not None
        assert a.counterexample.decisions == b.counterexample.decisions


def test_a_choice_policy_follows_records_and_checks() -> None:
    policy = ChoicePolicy([1], expect=[("a", "b")])

    class It:
        def __init__(self, label: str) -> None:
            self.label, self.owner, self.kind = label, None, ItemKind.WORK_ITEM

    assert policy.choose([It("a"), It("b")]) == 1  # type: ignore[list-item]
    assert policy.choose([It("x"), It("y"), It("z")]) == 0  # type: ignore[list-item]
    assert policy.decisions == [Decision(("a", "b"), 1), Decision(("x", "y", "z"), 0)]
    assert policy.deviations == 1
    strict = ChoicePolicy([0], expect=[("a", "b")])
    with pytest.raises(Divergence, match="diverged at decision 0"):
        strict.choose([It("a"), It("c")])  # type: ignore[list-item]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="explore: role"):
        explore(factory, "router")
    with pytest.raises(ValueError, match="explore: strategy"):
        explore(factory, "client", strategy="bfs")
    with pytest.raises(ValueError, match="explore: budget"):
        explore(factory, "client", budget=0)


# --- the command line and the replay file --------------------------------------------------------


def test_explore_writes_a_replay_that_reproduces_the_failure(tmp_path: Path) -> None:
    out = tmp_path / "race.json"
    result = CliRunner().invoke(
        main, ["explore", TARGET, "--role", "client", "--out", str(out), "--budget", "100"]
    )
    assert result.exit_code == 1, result.output
    assert "shrunk to 2" in result.output and f"replay: condis replay {out}" in result.output
    data = json.loads(out.read_text())
    assert data["schema"] == 1 and data["role"] == "client" and data["target"] == TARGET
    assert data["failure"] == list(SIGNATURE) and len(data["source_sha256"]) == 64
    assert sum(1 for d in data["decisions"] if d["chose"]) == 2
    again = CliRunner().invoke(main, ["replay", str(out)])
    assert again.exit_code == 1 and "the recorded failure happened again" in again.output
    run, _ = replay(load_replay(out))
    assert run.signature == SIGNATURE and run.trace is not None
    as_json = CliRunner().invoke(main, ["replay", str(out), "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.output)["reproduced"] is True


def test_a_replay_that_no_longer_fits_says_where(tmp_path: Path) -> None:
    out = tmp_path / "race.json"
    CliRunner().invoke(main, ["explore", TARGET, "--role", "client", "--out", str(out)])
    data = json.loads(out.read_text())
    first = next(i for i, d in enumerate(data["decisions"]) if d["chose"])
    data["decisions"][first]["options"][0] = "timer NdisTimerObject#99"
    out.write_text(json.dumps(data))
    result = CliRunner().invoke(main, ["replay", str(out)])
    assert result.exit_code == 2
    assert f"diverged at decision {first}" in result.output
    went_on = CliRunner().invoke(main, ["replay", str(out), "--continue", "fifo"])
    assert went_on.exit_code == 0 and "went on in FIFO order" in went_on.output


def test_a_clean_exploration_exits_0_and_says_whether_it_was_exhaustive() -> None:
    target = str(REPO / "tests" / "targets" / "answering_client.py") + ":factory"
    result = CliRunner().invoke(
        main, ["explore", target, "--role", "client", "--peers", "sync", "--json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["exhaustive"] is True and report["failure"] is None
    assert report["exercised"] is True and report["not_reached"] == []


def test_an_exploration_that_never_exercised_the_driver_is_not_clean() -> None:
    """The sample client registers no SAP, so no schedule offers it a call."""
    result = CliRunner().invoke(
        main, ["explore", "condis.samples:SampleClient", "--role", "client"]
    )
    assert result.exit_code == 4, result.output
    assert "not exercised: stage 'call' not reached: ProtocolClIncomingCall" in result.output
    assert "but the driver was not exercised at every stage" in result.output
    partial = CliRunner().invoke(
        main, ["explore", "condis.samples:SampleClient", "--role", "client", "--allow-partial"]
    )
    assert partial.exit_code == 0
    found = explore(SampleClient, "client", budget=100)
    assert found.counterexample is None and found.not_reached
    assert found.coverage.runs == found.schedules


def test_a_broken_replay_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 7}')
    result = CliRunner().invoke(main, ["replay", str(bad)])
    assert result.exit_code == 2 and "not a condis replay file" in result.output


def test_run_schedule_is_deterministic() -> None:
    setup = Setup("client", "pended", "end")
    a, pa = run_schedule(SampleClient, setup, [1])
    b, pb = run_schedule(SampleClient, setup, [1])
    assert pa.decisions == pb.decisions and a.report.to_json() == b.report.to_json()


def test_a_timer_that_beats_the_call_managers_work_item_is_found() -> None:
    """Time is a choice: a due driver timer competes with queued work, as a DPC can
    run before a work item on Windows."""
    from targets.early_timer_client import factory as early

    assert all(run_one(early, v).clean for v in plan("client", schedules=3))
    result = explore(early, "client", budget=400)
    found = result.counterexample
    assert found is not None
    assert found.run.signature == (
        "violation",
        "NdisHandleNotYetValid",
        "NdisClRegisterSap",
        "earlytimerclient",
    )
    ((_, decision),) = found.deviations
    assert decision.label.startswith("earlytimerclient: timer NdisTimerObject#")
    assert decision.options[0].startswith("samplemcm: work item NdisIoWorkItemHandle#")
    assert found.setup.peers == "pended"
    (line,) = found.reorderings()
    assert "which FIFO runs first" in line


def test_with_faults_an_allocation_failure_is_a_choice() -> None:
    from targets.careless_sap_client import factory as careless

    quiet = explore(careless, "client", budget=50)
    assert quiet.counterexample is None
    result = explore(careless, "client", budget=300, faults=True)
    found = result.counterexample
    assert found is not None and found.faults and not found.run.clean
    ((_, decision),) = found.deviations
    assert decision.label == "allocation NdisClRegisterSap fails"
    assert found.reorderings()[0].endswith(
        "NDIS failed the allocation in NdisClRegisterSap (RESOURCES)"
    )
    assert ("NdisClRegisterSap", found.run.report.injected[0][1]) == found.run.report.injected[0]


def test_a_fault_schedule_replays(tmp_path: Path) -> None:
    out = tmp_path / "careless.json"
    target = str(REPO / "tests" / "targets" / "careless_sap_client.py") + ":factory"
    result = CliRunner().invoke(
        main, ["explore", target, "--role", "client", "--faults", "--out", str(out)]
    )
    assert result.exit_code == 1, result.output
    assert "NDIS failed the allocation in NdisClRegisterSap" in result.output
    assert json.loads(out.read_text())["faults"] is True
    again = CliRunner().invoke(main, ["replay", str(out)])
    assert again.exit_code == 1, again.output


def test_pct_finds_the_races_and_is_seeded() -> None:
    from targets.early_timer_client import factory as early

    first = explore(factory, "client", strategy="pct", budget=200, seed=1)
    again = explore(factory, "client", strategy="pct", budget=200, seed=1)
    assert first.counterexample is not None and first.counterexample.run.signature == SIGNATURE
    assert again.counterexample is not None
    assert first.counterexample.decisions == again.counterexample.decisions
    raced = explore(early, "client", strategy="pct", budget=300, seed=1)
    assert raced.counterexample is not None
    assert raced.counterexample.setup.peers == "pended"


def test_random_strategies_share_the_budget_between_setups() -> None:
    result = explore(SampleClient, "client", strategy="random", budget=10)
    assert [n for _, n, _ in result.setups] == [5, 5]
