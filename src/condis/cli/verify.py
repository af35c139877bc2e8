"""`condis verify`: the conformance workload in every variant, reported for people or JSON."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from condis.trace import to_jsonl
from condis.verify.runner import TRACE_LIMIT, WATCHDOG_MS, VerifyRun
from condis.verify.target import Factory

__all__ = ["ROLE_OPTION", "VERIFY_SCHEMA", "WATCHDOG_OPTION", "load_checked", "verify"]

#: the version of `condis verify --json`'s layout; it changes when a key does
VERIFY_SCHEMA = 1

#: the options `condis verify` and `condis explore` share
ROLE_OPTION = click.option(
    "--role",
    type=click.Choice(["client", "callmanager", "mcm", "miniport"]),
    required=True,
    help="What the driver under test is; condis's samples play the other roles.",
)
WATCHDOG_OPTION = click.option(
    "--watchdog-ms",
    "watchdog_ms",
    type=click.IntRange(0),
    default=WATCHDOG_MS,
    show_default=True,
    help="Simulated milliseconds a pended operation may take; 0 turns the watchdog off, so "
    "what is still pending at teardown is reported there instead.",
)


def load_checked(target: str, role: str) -> Factory:
    """The target's factory, tried once as `role`; a target error is printed once, with
    the user's own traceback, and exits 2."""
    from condis.verify import check_target, load_target
    from condis.verify.target import TargetError

    try:
        factory = load_target(target)
        check_target(factory, role)
    except TargetError as exc:
        if exc.traceback:
            click.echo(exc.traceback, err=True, nl=False)
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    return factory


def _title(run: VerifyRun) -> str:
    kind, *rest = run.signature
    if kind == "violation":
        rule_id, ddi_name, driver = rest
        return f"{rule_id} in {ddi_name}" + (f" by {driver}" if driver else "")
    if kind == "error":
        return f"a Python exception: {rest[0]}"
    if kind == "leaks":
        return "still allocated after shutdown"
    return "condis's own tables disagree"


@click.command()
@click.argument("target")
@ROLE_OPTION
@click.option("--json", "as_json", is_flag=True, help="The whole report as one JSON object.")
@click.option(
    "--strict/--collect",
    default=False,
    show_default=True,
    help="Stop each run at its first violation (strict) or record them all (collect).",
)
@click.option(
    "--low-resources",
    "low_resources",
    type=click.FloatRange(0.0, 1.0),
    default=None,
    help="Fail NDIS allocations with this probability once the network is up.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed for interleavings and injected failures.",
)
@click.option(
    "--schedules",
    type=click.IntRange(0, 1000),
    default=2,
    show_default=True,
    help="Random interleavings per variant, besides FIFO order.",
)
@WATCHDOG_OPTION
@click.option(
    "--trace-limit",
    "trace_limit",
    type=click.IntRange(0),
    default=TRACE_LIMIT,
    show_default=True,
    help="Trace records each run keeps (a violation's excerpt is its last 12); "
    "0 keeps every run's whole trace.",
)
@click.option(
    "--variant",
    "only",
    default=None,
    help="Run only the variant of this name (each failing run prints the command with it).",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Exit 0 for clean runs even when the workload did not exercise the driver fully.",
)
@click.option(
    "--trace-out",
    "trace_out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write each failing run's whole trace to this directory, as JSON Lines "
    "(one file per run, named after its variant).",
)
@click.option(
    "--verbose",
    is_flag=True,
    help="Every failing run in full, instead of one per distinct root cause.",
)
def verify(
    target: str,
    role: str,
    as_json: bool,
    strict: bool,
    low_resources: float | None,
    seed: int,
    schedules: int,
    watchdog_ms: int,
    trace_limit: int,
    only: str | None,
    allow_partial: bool,
    trace_out: Path | None,
    verbose: bool,
) -> None:
    """Verify a driver: TARGET is path/to/file.py:factory or package.module:factory.

    The factory takes the Ndis host and returns the driver object(s). condis
    runs its conformance workload for the role in every variant (stopped
    after each stage, sync and pended peers, several interleavings), shuts
    each host down and reports every violation and leak, and whether the
    workload reached the driver at every stage.

    Exit status: 0 every run clean and the driver exercised; 1 a rule was
    broken (or a leak, or the driver raised); 2 the target or the options
    are wrong; 3 condis itself failed; 4 every run was clean but the
    workload never reached some stage of the driver (--allow-partial
    accepts that).
    """
    from rich.progress import Progress

    from condis.verify import plan
    from condis.verify import verify as run_all
    from condis.verify.coverage import Coverage, missing, rule_summary

    err = Console(stderr=True)
    factory = load_checked(target, role)
    variants = plan(role, schedules=schedules, seed=seed, low_resources=low_resources)
    if only is not None:
        variants = [v for v in variants if v.name == only]
        if not variants:
            raise click.BadParameter(
                f"no variant is called {only!r} with these options", param_hint="--variant"
            )
    options = [f"--role {role}", f"--seed {seed}", f"--schedules {schedules}"]
    if low_resources is not None:
        options.append(f"--low-resources {low_resources}")
    if strict:
        options.append("--strict")
    if watchdog_ms != WATCHDOG_MS:
        options.append(f"--watchdog-ms {watchdog_ms}")
    with Progress(console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"verifying {target} as {role}", total=len(variants))
        runs = []
        watchdog = watchdog_ms or None
        runs_of = run_all(
            factory,
            variants,
            strict=strict,
            watchdog_ms=watchdog,
            trace_limit=None if trace_out is not None else trace_limit or None,
            keep_trace=trace_out is not None,
        )
        for run in runs_of:
            runs.append(run)
            progress.advance(task)
    if trace_out is not None:
        trace_out.mkdir(parents=True, exist_ok=True)
        for n, run in enumerate(runs):
            if run.trace is not None:
                slug = re.sub(r"[^A-Za-z0-9.]+", "-", run.variant.name).strip("-")
                (trace_out / f"{n:04d}-{slug}.jsonl").write_text(to_jsonl(run.trace))
    coverage = Coverage(runs=0)
    for run in runs:
        coverage = coverage.merge(run.coverage)
    unreached = missing(role, coverage)
    totals: dict[str, int] = {}
    for run in runs:
        for rule_id, n in run.report.totals().items():
            totals[rule_id] = totals.get(rule_id, 0) + n
    rules = rule_summary(coverage, totals)
    outcomes = Counter(rules.values())
    failed = [run for run in runs if not run.clean]
    internal = any(run.internal for run in runs)

    def rerun(run: VerifyRun) -> str:
        return f"condis verify {target} {' '.join(options)} --variant '{run.variant.name}'"

    if internal:
        code = 3
    elif failed:
        code = 1
    elif unreached and not allow_partial:
        code = 4
    else:
        code = 0
    if as_json:
        click.echo(
            json.dumps(
                {
                    "schema": VERIFY_SCHEMA,
                    "target": target,
                    "role": role,
                    "clean": not failed,
                    "exercised": not unreached,
                    "exit": code,
                    "runs": len(runs),
                    "failed": len(failed),
                    "totals": totals,
                    "not_reached": unreached,
                    "rules": rules,
                    "coverage": coverage.to_json(),
                    "results": [
                        {
                            **run.report.to_json(),
                            "variant": run.variant.name,
                            "clean": run.clean,
                            "error": run.error,
                            "rerun": None if run.clean else rerun(run),
                            "coverage": run.coverage.to_json(),
                        }
                        for run in runs
                    ],
                }
            )
        )
    else:
        out = Console(width=120)
        groups: dict[tuple[object, ...], list[VerifyRun]] = {}
        for run in failed:
            groups.setdefault(run.signature, []).append(run)
        for group in groups.values() if not verbose else [[run] for run in failed]:
            run = group[0]
            title = run.variant.name if verbose else _title(run)
            out.rule(f"{title}: {len(group)} run(s)" if not verbose else title)
            if run.error:
                out.print(run.error, markup=False, highlight=False)
            if not run.report.clean:
                text = run.report.render(verbose=verbose)
                out.print(text, markup=False, highlight=False)
            if not verbose:
                names = [r.variant.name for r in group]
                more = f", and {len(names) - 5} more" if len(names) > 5 else ""
                click.echo("in: " + "; ".join(names[:5]) + more)
            click.echo(f"rerun: {rerun(run)}")
        if totals:
            table = Table(title="violations by rule")
            table.add_column("rule")
            table.add_column("violations", justify="right")
            for rule_id, n in sorted(totals.items(), key=lambda kv: -kv[1]):
                table.add_row(rule_id, str(n))
            out.print(table)
        for line in unreached:
            out.print(f"not exercised: {line}", markup=False, highlight=False)
        click.echo(
            f"rules: {outcomes['violated']} violated, {outcomes['passed']} passed, "
            f"{outcomes['not applicable']} not applicable"
        )
        leaks = sum(len(run.report.leaks) for run in runs)
        errors = sum(1 for run in runs if run.error)
        extra = "".join(
            [
                f", {leaks} leak(s) after shutdown" if leaks else "",
                f", {errors} run(s) ended by a Python exception" if errors else "",
                ", condis itself failed (a condis bug)" if internal else "",
                ", the driver was not exercised at every stage" if unreached else "",
            ]
        )
        clean = len(runs) - len(failed)
        click.echo(f"{target} as {role}: {clean} of {len(runs)} runs clean{extra}")
    sys.exit(code)
