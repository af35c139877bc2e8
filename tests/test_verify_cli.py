"""`condis verify` as a driver engineer meets it: exit codes, target errors, coverage, reruns.

0 every run clean and the driver exercised; 1 a rule broken; 2 a target that
cannot be verified as given, reported once with the user's own traceback;
3 condis itself failed; 4 clean but not exercised.
"""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from condis.cli import VERIFY_SCHEMA, main
from condis.verify.coverage import Coverage, missing

REPO = Path(__file__).resolve().parents[1]


def verify(*args: str, schedules: str = "0") -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", *args, "--schedules", schedules])
    return result.exit_code, result.output


def target(tmp_path: Path, source: str, name: str = "mydriver.py") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return f"{path}:factory"


def as_json(*args: str) -> dict[str, Any]:
    code, output = verify(*args, "--json")
    report: dict[str, Any] = json.loads(output)
    assert report["exit"] == code
    return report


# --- not exercised ---------------------------------------------------------------------------


def test_a_client_nothing_calls_is_not_exercised() -> None:
    code, output = verify("condis.samples:SampleClient", "--role", "client")
    assert code == 4, output
    assert "not exercised: stage 'call' not reached: ProtocolClIncomingCall" in output
    assert "NdisClRegisterSap" in output
    assert "10 of 10 runs clean, the driver was not exercised at every stage" in output


def test_allow_partial_accepts_it() -> None:
    code, output = verify("condis.samples:SampleClient", "--role", "client", "--allow-partial")
    assert code == 0, output
    assert "not exercised" in output


def test_a_call_manager_whose_af_registration_fails_says_why(tmp_path: Path) -> None:
    spec = target(
        tmp_path,
        """
        from condis.samples import SampleCallManager

        def factory(ndis):
            cm = SampleCallManager(ndis)
            cm.address_families = ()  # it offers nothing
            return cm
        """,
    )
    code, output = verify(spec, "--role", "callmanager")
    assert code == 4, output
    assert "stage 'open' not reached: ProtocolCmOpenAf never succeeded" in output


def test_a_ddi_that_never_succeeded_is_the_reason_given() -> None:
    coverage = Coverage(
        handlers=Counter({("ProtocolBindAdapterEx", "NDIS_STATUS_SUCCESS"): 3}),
        ddis=Counter(
            {
                ("NdisCmRegisterAddressFamilyEx", "NDIS_STATUS_FAILURE"): 3,
                ("NdisOpenAdapterEx", "NDIS_STATUS_SUCCESS"): 3,
            }
        ),
        runs=3,
    )
    (open_, call) = missing("callmanager", coverage)
    assert open_.startswith("stage 'open' not reached: ProtocolCmOpenAf never succeeded")
    assert "NdisCmRegisterAddressFamilyEx returned NDIS_STATUS_FAILURE x3" in open_
    assert "NdisOpenAdapterEx" not in open_
    assert call.startswith("stage 'call' not reached: ProtocolCmMakeCall")
    merged = coverage.merge(coverage)
    assert merged.runs == 6 and merged.ddis[("NdisOpenAdapterEx", "NDIS_STATUS_SUCCESS")] == 6


def test_the_json_report_has_a_schema_coverage_and_what_was_not_reached() -> None:
    report = as_json("condis.samples:SampleClient", "--role", "client")
    assert report["schema"] == VERIFY_SCHEMA
    assert report["clean"] is True and report["exercised"] is False and report["exit"] == 4
    assert any("ProtocolClIncomingCall" in line for line in report["not_reached"])
    assert report["coverage"]["runs"] == report["runs"] == 10
    assert report["coverage"]["handlers"]["ProtocolBindAdapterEx"] == {"NDIS_STATUS_SUCCESS": 10}
    assert "NdisClOpenAddressFamilyEx" in report["coverage"]["ddis"]
    keys = {frozenset(r) for r in report["results"]}
    assert len(keys) == 1  # one key set for every run
    first = report["results"][0]["coverage"]
    assert first["runs"] == 1 and "ProtocolBindAdapterEx" in first["handlers"]


def test_every_sample_is_exercised() -> None:
    for role, spec in (
        ("mcm", "condis.samples:SampleMcm"),
        ("client", "targets.answering_client:factory"),
    ):
        report = as_json(spec, "--role", role)
        assert report["exercised"] and report["not_reached"] == [] and report["exit"] == 0


# --- target errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("def factory(ndis:\n", "failed to import: SyntaxError"),
        ("import no_such_module\ndef factory(ndis): pass\n", "No module named 'no_such_module'"),
        (
            "def factory(ndis):\n    raise RuntimeError('boom')\n",
            "the factory raised RuntimeError: boom",
        ),
        ("def factory(ndis):\n    return 42\n", "returned int, which is not a driver"),
        ("def factory(ndis):\n    return []\n", "the factory returned no driver"),
    ],
)
def test_a_broken_target_is_reported_once_and_exits_2(
    tmp_path: Path, source: str, words: str
) -> None:
    code, output = verify(target(tmp_path, source), "--role", "mcm")
    assert code == 2, output
    assert words in output
    assert output.count("Error: verify:") == 1
    assert "runs clean" not in output


def test_the_user_traceback_names_the_users_line_not_condis(tmp_path: Path) -> None:
    spec = target(tmp_path, "def factory(ndis):\n    raise RuntimeError('boom')\n")
    code, output = verify(spec, "--role", "mcm")
    assert code == 2
    assert 'mydriver.py", line 2, in factory' in output
    assert "condis/verify" not in output


def test_a_driver_verified_in_the_wrong_role_exits_2() -> None:
    code, output = verify("condis.samples:SampleClient", "--role", "mcm")
    assert code == 2, output
    assert (
        "--role mcm needs a driver that registers as an MCM; the target registers as client"
        in output
    )


def test_a_target_may_import_the_modules_beside_it(tmp_path: Path) -> None:
    (tmp_path / "helper.py").write_text(
        "from condis.samples import SampleMcm\nDRIVER = SampleMcm\n"
    )
    spec = target(tmp_path, "from helper import DRIVER\ndef factory(ndis): return DRIVER(ndis)\n")
    code, output = verify(spec, "--role", "mcm")
    assert code == 0, output


def test_a_directory_target_says_so(tmp_path: Path) -> None:
    code, output = verify(f"{tmp_path}/:factory", "--role", "mcm")
    assert code == 2 and "is a directory" in output


# --- reruns ------------------------------------------------------------------------------------


def test_each_failing_run_prints_the_command_that_reruns_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    spec = "tests/buggy/mcm_double_complete_open.py:factory"
    code, output = verify(spec, "--role", "mcm", "--verbose")
    assert code == 1
    commands = [
        line[len("rerun: ") :] for line in output.splitlines() if line.startswith("rerun: ")
    ]
    assert len(commands) == 10
    name = commands[-1].split("--variant ")[1].strip("'")
    args = commands[-1].split()[3:]
    args = args[: args.index("--variant")]
    again = CliRunner().invoke(main, ["verify", spec, *args, "--variant", name, "--json"])
    report = json.loads(again.output)
    assert again.exit_code == 1 and report["runs"] == 1
    assert report["results"][0]["variant"] == name
    assert report["results"][0]["rerun"] == commands[-1]


def test_runs_with_one_root_cause_are_shown_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    spec = "tests/buggy/mcm_double_complete_open.py:factory"
    code, output = verify(spec, "--role", "mcm")
    assert code == 1
    lines = output.splitlines()
    assert sum(line.startswith("rerun: ") for line in lines) == 1
    (header,) = [line for line in lines if "run(s)" in line]
    assert "CoNdisDoubleComplete in NdisMCmOpenAddressFamilyComplete" in header
    assert "10 run(s)" in header
    assert any(line.startswith("in: mcm peers=sync stop=init fifo;") for line in lines)
    assert "more after it, most often its consequences" in output


def test_the_headline_is_the_first_violation_of_the_driver_under_test(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    report = as_json("tests/buggy/mcm_double_complete_open.py:factory", "--role", "mcm")
    for result in report["results"]:
        head = result["headline"]
        assert head is not None
        violations = result["violations"]
        assert violations[head]["driver"] == "doublecompletemcm"
        assert [v["consequence"] for v in violations] == [i > head for i in range(len(violations))]


def test_an_unknown_variant_is_a_usage_error() -> None:
    code, output = verify("condis.samples:SampleMcm", "--role", "mcm", "--variant", "nope")
    assert code == 2 and "no variant is called 'nope'" in output


def test_a_run_that_raised_is_not_clean_in_json(tmp_path: Path) -> None:
    spec = target(
        tmp_path,
        """
        from condis.samples import SampleMcm

        class Raises(SampleMcm):
            def ProtocolCmMakeCall(self, *args):
                raise RuntimeError("bug in the driver")

        def factory(ndis):
            return Raises(ndis)
        """,
    )
    report = as_json(spec, "--role", "mcm")
    raised = [r for r in report["results"] if r["error"]]
    assert raised and all(r["clean"] is False for r in raised)
    assert report["exit"] == 1 and report["clean"] is False


def test_help_shows_the_defaults() -> None:
    result = CliRunner().invoke(main, ["verify", "--help"])
    for default in ("default: 60000", "default: 64", "default: 2", "default: 0"):
        assert default in result.output


# --- the crash block and the rule summary --------------------------------------------------------


def test_the_headline_reads_like_a_bug_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, output = verify("tests/buggy/mcm_double_complete_open.py:factory", "--role", "mcm")
    assert code == 1
    assert "  bug check 0xC4 DRIVER_VERIFIER_DETECTED_VIOLATION" in output
    assert "    Arg1: none documented for this rule" in output
    assert (
        "    Arg2: the violated rule condition: A pended operation is completed exactly once."
        in output
    )
    at = next(line for line in output.splitlines() if line.startswith("  at: "))
    assert at.endswith(" in complete") and "tests/buggy/mcm_double_complete_open.py:" in at
    assert "  live handles (" in output and "NdisAfHandle#1: OpenAddressFamily" in output
    assert "site-packages" not in output  # the driver's stack, not click's


def test_a_documented_parameter_1_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    report = as_json("tests/buggy/client_oid_completes_twice.py:factory", "--role", "client")
    head = next(r for r in report["results"] if r["headline"] is not None)
    violation = head["violations"][head["headline"]]
    assert violation["rule"] == "NdisOidDoubleComplete"
    assert violation["parameters"][0] == "0x00091002"
    assert violation["parameters"][2:] == [None, None]
    assert "tests/buggy/client_oid_completes_twice.py:" in violation["where"]
    assert violation["stack"] and violation["live_handles"]


def test_the_rule_summary_says_what_was_violated_passed_and_not_applicable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(REPO)
    report = as_json("tests/buggy/mcm_double_complete_open.py:factory", "--role", "mcm")
    rules = report["rules"]
    assert rules["CoNdisDoubleComplete"] == "violated"
    assert rules["Irql_MCM_Function"] == "passed"
    assert rules["Irql_CallManager_Function"] == "not applicable"  # an MCM calls NdisMCm*
    assert set(rules.values()) <= {"violated", "passed", "not applicable"}
    code, output = verify("tests/buggy/mcm_double_complete_open.py:factory", "--role", "mcm")
    assert code == 1 and "rules: 1 violated, " in output


def test_trace_out_writes_each_failing_runs_whole_trace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    out = tmp_path / "traces"
    spec = "tests/buggy/mcm_double_complete_open.py:factory"
    code, _ = verify(spec, "--role", "mcm", "--trace-out", str(out))
    assert code == 1
    files = sorted(out.iterdir())
    assert len(files) == 10 and files[0].name == "0000-mcm-peers-sync-stop-init-fifo.jsonl"
    records = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert [r["seq"] for r in records] == list(range(len(records)))  # the whole trace
    assert records[0]["name"] == "DriverEntry"
    assert any(r["name"] == "NdisMCmOpenAddressFamilyComplete" for r in records)


def test_trace_out_writes_nothing_for_clean_runs(tmp_path: Path) -> None:
    out = tmp_path / "traces"
    code, _ = verify("condis.samples:SampleMcm", "--role", "mcm", "--trace-out", str(out))
    assert code == 0 and list(out.iterdir()) == []
