"""`condis verify` catches each driver of the buggy catalogue, with its rule and no other.

Every module of tests/buggy holds one driver that makes one mistake (see
that package's docstring). Each is run through the conformance workload of
its role, in every variant of `plan(ROLE, schedules=1)` the module does not
leave out, in collect mode (strict if it says STRICT): at least one run must
report the module's RULE, and no run may report any other rule, end in a
Python exception or leave condis's own tables inconsistent. Leaks are accepted only with the rules
that are about something left behind at teardown.

The command line is checked too: every sample verifies clean, and a buggy
driver given as a file fails with its rule in the text and the JSON reports.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

import buggy
from condis.cli import main
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.verifier import RULES
from condis.verify import ROLES, STAGES, VerifyRun, plan, run_one
from condis.verify.runner import WATCHDOG_MS, Variant

BUGGY = Path(buggy.__file__).resolve().parent
REPO = BUGGY.parent.parent
MODULES = sorted(info.name for info in pkgutil.iter_modules([str(BUGGY)]))

SAMPLES: dict[str, type] = {
    "mcm": SampleMcm,
    "client": SampleClient,
    "callmanager": SampleCallManager,
    "miniport": SampleCoMiniport,
}

#: Rules about something still allocated or outstanding at teardown (or, for SpinLock, a
#: lock a handler left held): a run that breaks one may also list that thing as a leak.
LEAK_RULES = frozenset(
    {
        "CoNdisAfOpenOnTeardown",
        "CoNdisNblLeak",
        "CoNdisPendingOnTeardown",
        "CoNdisVcOpenOnTeardown",
        "NdisDriverUnloadLeak",
        "NdisTimerLeak",
        "NdisWatchdog",
        "NdisWorkItemLeak",
        "SpinLock",
    }
)


def load(name: str) -> ModuleType:
    return importlib.import_module(f"buggy.{name}")


def variants(module: ModuleType) -> list[Variant]:
    """The module's role's variants, less the (peers, stop) pairs it leaves out."""
    skip: frozenset[tuple[str, str]] = getattr(module, "SKIP", frozenset())
    return [v for v in plan(module.ROLE, schedules=1) if (v.setup.peers, v.setup.stop) not in skip]


class TestCatalogue:
    @pytest.mark.parametrize("name", MODULES)
    def test_a_module_names_its_role_rule_and_mistake(self, name: str) -> None:
        module = load(name)
        assert module.ROLE in ROLES
        assert module.RULE in RULES
        assert (module.__doc__ or "").startswith(f"{module.RULE}: ")
        skip: frozenset[tuple[str, str]] = getattr(module, "SKIP", frozenset())
        assert all(peers in ("sync", "pended") and stop in STAGES for peers, stop in skip)
        assert isinstance(getattr(module, "STRICT", False), bool)

    @pytest.mark.parametrize("name", MODULES)
    def test_a_driver_is_a_sample_of_its_role_with_one_mistake(self, name: str) -> None:
        from condis import Ndis

        module = load(name)
        driver = module.factory(Ndis())
        assert isinstance(driver, SAMPLES[module.ROLE])
        assert type(driver) is not SAMPLES[module.ROLE]

    def test_every_rule_is_broken_by_a_driver(self) -> None:
        covered = {load(name).RULE for name in MODULES}
        assert sorted(set(RULES) - covered) == []


def _describe(runs: list[VerifyRun]) -> str:
    return "\n".join(f"{run.variant.name}: {run.report.totals()}" for run in runs)


@pytest.mark.parametrize("name", MODULES)
def test_verify_reports_the_rule_and_no_other(name: str) -> None:
    module = load(name)
    rule: str = module.RULE
    watchdog_ms = getattr(module, "WATCHDOG_MS", WATCHDOG_MS)
    strict: bool = getattr(module, "STRICT", False)
    runs = [
        run_one(module.factory, v, strict=strict, watchdog_ms=watchdog_ms) for v in variants(module)
    ]
    assert runs
    assert [(run.variant.name, run.error) for run in runs if run.error] == []
    assert [
        (run.variant.name, run.report.broken_invariants)
        for run in runs
        if run.report.broken_invariants
    ] == []
    # The driver's rule is the headline of every run that fails; anything else is
    # a consequence of it (after the headline), a crash included.
    heads = {
        run.report.findings[run.report.headline].violation.rule
        for run in runs
        if run.report.headline is not None
    }
    assert heads == {rule}, _describe(runs)
    assert [
        (run.variant.name, run.report.crashed)
        for run in runs
        if run.report.crashed is not None
        and f"rule {rule} " not in run.report.crashed
        and run.report.headline is None
    ] == []
    before_the_cause = [
        (run.variant.name, f.violation.rule)
        for run in runs
        for f in run.report.findings
        if not f.consequence and f.violation.rule != rule
    ]
    assert before_the_cause == [], _describe(runs)
    if rule not in LEAK_RULES:
        leaks = [(run.variant.name, leak.describe()) for run in runs for leak in run.report.leaks]
        assert leaks == []


# --- the command line ----------------------------------------------------------------------


def _verify(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", *args, "--schedules", "1"])
    return result.exit_code, result.output


#: the samples as drivers under test; the client needs a SAP for the peer to call it
SAMPLE_TARGETS = {
    "mcm": "condis.samples:SampleMcm",
    "callmanager": "condis.samples:SampleCallManager",
    "client": "targets.answering_client:factory",
    "miniport": "condis.samples:SampleCoMiniport",
}


@pytest.mark.parametrize(("role", "target"), sorted(SAMPLE_TARGETS.items()))
def test_every_sample_verifies_clean(role: str, target: str) -> None:
    code, output = _verify(target, "--role", role)
    assert code == 0, output
    assert "20 of 20 runs clean" in output


def test_a_buggy_driver_given_as_a_file_fails_with_its_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    code, output = _verify("tests/buggy/mcm_double_complete_open.py:factory", "--role", "mcm")
    assert code == 1
    assert "CoNdisDoubleComplete" in output
    assert "0 of 20 runs clean" in output


def test_the_json_report_of_a_buggy_driver() -> None:
    target = f"{BUGGY / 'miniport_timer_not_freed.py'}:factory"
    code, output = _verify(target, "--role", "miniport", "--json")
    assert code == 1
    report = json.loads(output)
    assert report["target"] == target
    assert report["role"] == "miniport"
    assert report["clean"] is False
    assert report["runs"] == len(report["results"]) == 20
    assert report["failed"] == 20
    assert report["totals"] == {"NdisTimerLeak": 20}
    for result in report["results"]:
        assert result["clean"] is False
        assert result["error"] is None
        assert [v["rule"] for v in result["violations"]] == ["NdisTimerLeak"]
        assert [leak["kind"] for leak in result["leaks"]] == ["timer"]
        assert result["broken_invariants"] == []
        assert result["crashed"] is None


def test_the_json_report_of_a_clean_sample() -> None:
    code, output = _verify("condis.samples:SampleMcm", "--role", "mcm", "--json")
    assert code == 0
    report = json.loads(output)
    assert (report["clean"], report["failed"], report["totals"]) == (True, 0, {})
    assert all(result["clean"] and not result["violations"] for result in report["results"])


def test_the_watchdog_option_moves_a_hang_to_teardown() -> None:
    """With the watchdog on (the default) a pended unbind that never completes times out;
    with --watchdog-ms 0 it is reported at teardown, under its own rule."""
    target = f"{BUGGY / 'client_unbind_never_completes.py'}:factory"
    for args, rule in (((), "NdisWatchdog"), (("--watchdog-ms", "0"), "CoNdisPendingOnTeardown")):
        code, output = _verify(target, "--role", "client", "--json", *args)
        assert code == 1
        assert set(json.loads(output)["totals"]) == {rule}


@pytest.mark.parametrize("limit", ["0", "12", "5000"])
def test_the_trace_limit_changes_no_report(limit: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    target = "tests/buggy/mcm_double_complete_open.py:factory"
    default = json.loads(_verify(target, "--role", "mcm", "--json")[1])
    code, output = _verify(target, "--role", "mcm", "--json", "--trace-limit", limit)
    assert code == 1 and json.loads(output) == default


def test_a_negative_trace_limit_is_refused() -> None:
    code, output = _verify("condis.samples:SampleMcm", "--role", "mcm", "--trace-limit", "-1")
    assert code == 2 and "--trace-limit" in output
