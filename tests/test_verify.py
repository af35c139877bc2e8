"""condis verify: loading targets, planning variants, running them (condis.verify)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from condis import NDIS_STATUS_PENDING, Ndis
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.verify import ROLES, STAGES, load_target, plan, run_one


class ForgetfulMcm(SampleMcm):
    """Pends every AF close and never completes it."""

    def ProtocolCmCloseAf(self, CallMgrAfContext: Any) -> Any:
        return NDIS_STATUS_PENDING


def forgetful(ndis: Ndis) -> ForgetfulMcm:
    return ForgetfulMcm(ndis)


def pended_mcm(ndis: Ndis) -> SampleMcm:
    return SampleMcm(ndis, completion="pended")


class TestLoadTarget:
    def test_a_module_and_a_name(self) -> None:
        assert load_target("condis.samples:SampleMcm") is SampleMcm

    def test_a_file_and_a_name(self, tmp_path: Path) -> None:
        source = tmp_path / "mydriver.py"
        source.write_text(
            "from condis.samples import SampleClient\n"
            "def factory(ndis):\n"
            "    return [SampleClient(ndis)]\n"
        )
        factory = load_target(f"{source}:factory")
        assert [type(d) for d in factory(Ndis())] == [SampleClient]

    @pytest.mark.parametrize(
        ("spec", "message"),
        [
            ("condis.samples", "must be 'path/to/file.py:factory'"),
            ("condis.samples:", "must end in ':factory'"),
            ("no_such_module_here:f", "cannot import 'no_such_module_here'"),
            ("condis.samples:NoSuchDriver", "has no callable 'NoSuchDriver'"),
            ("/nonexistent/driver.py:factory", "does not exist"),
        ],
    )
    def test_bad_targets_say_what_is_wrong(self, spec: str, message: str) -> None:
        with pytest.raises(ValueError, match=message):
            load_target(spec)


class TestPlan:
    def test_every_stage_both_peer_modes_and_each_schedule(self) -> None:
        variants = plan("mcm", schedules=2, seed=7)
        assert len(variants) == len(STAGES) * 2 * 3
        assert {v.setup.stop for v in variants} == set(STAGES)
        assert {v.schedule for v in variants} == {None, 7, 8}
        assert all(v.setup.low_resources is None for v in variants)

    def test_low_resources_is_seeded_per_schedule(self) -> None:
        variants = plan("client", schedules=1, seed=3, low_resources=0.25)
        assert {v.setup.low_resources for v in variants} == {(0.25, 3), (0.25, 4)}

    @pytest.mark.parametrize(("role", "schedules"), [("router", 1), ("mcm", -1)])
    def test_bad_arguments(self, role: str, schedules: int) -> None:
        with pytest.raises(ValueError, match="verify:"):
            plan(role, schedules=schedules)


SAMPLES = {
    "mcm": SampleMcm,
    "client": SampleClient,
    "callmanager": SampleCallManager,
    "miniport": SampleCoMiniport,
}


@pytest.mark.parametrize("role", ROLES)
def test_each_sample_verifies_clean_from_every_stage(role: str) -> None:
    for variant in plan(role, schedules=1):
        run = run_one(SAMPLES[role], variant)
        assert run.clean, (variant.name, run.error, run.report.render(diagram=False))


@pytest.mark.parametrize("role", ROLES)
def test_each_sample_verifies_clean_low_on_resources(role: str) -> None:
    injected = 0
    for variant in plan(role, schedules=2, seed=11, low_resources=0.5):
        run = run_one(SAMPLES[role], variant)
        injected += len(run.report.injected)
        assert run.clean, (variant.name, run.error, run.report.render(diagram=False))
    assert injected > 0


def test_the_mcm_completing_from_work_items_verifies_clean() -> None:
    """Its closes complete from work items, so under random schedules a client closes a
    call while the MCM is about to tell it of the other end's hang-up."""
    for variant in plan("mcm", schedules=4):
        run = run_one(pended_mcm, variant)
        assert run.clean, (variant.name, run.error, run.report.render(diagram=False))


def test_a_forgotten_completion_is_found_from_every_stage_that_closes_an_af() -> None:
    found = {}
    for variant in plan("mcm", schedules=0):
        run = run_one(forgetful, variant)
        found[variant.name] = set(run.report.totals())
    assert all("NdisWatchdog" in rules for rules in found.values()), found
    assert set().union(*found.values()) <= {"NdisWatchdog", "NdisWaitDeadlock"}


def test_strict_mode_ends_a_run_at_its_first_violation() -> None:
    variant = plan("mcm", schedules=0)[-1]
    strict, collect = run_one(forgetful, variant, strict=True), run_one(forgetful, variant)
    assert strict.report.crashed is not None
    assert len(strict.report.findings) == 1
    assert len(collect.report.findings) >= len(strict.report.findings)
    assert strict.report.findings[0].violation.rule == "NdisWatchdog"


def test_runs_are_reproducible() -> None:
    variant = plan("mcm", schedules=1, seed=5, low_resources=0.3)[-1]
    first, again = run_one(SampleMcm, variant), run_one(SampleMcm, variant)
    assert first.report.to_json() == again.report.to_json()


def test_a_run_keeps_the_last_records_and_reports_as_with_the_whole_trace() -> None:
    """verify keeps TRACE_LIMIT records per run: the report (violations with their
    excerpts, leaks placed where they were born) is what the whole trace gives."""
    for variant in plan("mcm", schedules=0):
        bounded, whole = run_one(forgetful, variant), run_one(forgetful, variant, trace_limit=None)
        assert bounded.report.to_json() == whole.report.to_json()
        assert bounded.report.findings


def test_a_run_keeps_no_more_than_its_trace_limit() -> None:
    def factory(ndis: Ndis) -> Any:
        hosts.append(ndis)
        return SampleMcm(ndis)

    hosts: list[Ndis] = []
    variant = plan("mcm", schedules=0)[-1]
    run_one(factory, variant, trace_limit=10)
    run_one(factory, variant, trace_limit=None)
    bounded, whole = hosts
    assert len(bounded.trace) == 10 and bounded.trace.next_seq == whole.trace.next_seq
    assert list(bounded.trace) == list(whole.trace[-10:])
