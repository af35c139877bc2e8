"""`condis explore` and `condis replay`: race testing with minimal, replayable schedules."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from condis.cli.verify import ROLE_OPTION, WATCHDOG_OPTION, load_checked
from condis.explore.search import STRATEGIES
from condis.verify.workloads import STAGES

__all__ = ["explore", "replay"]


@click.command()
@click.argument("target")
@ROLE_OPTION
@click.option(
    "--strategy",
    type=click.Choice(STRATEGIES),
    default="dfs",
    show_default=True,
    help="dfs: every schedule, fewest deviations first, within the bound; random: seeded "
    "random picks; pct: probabilistic concurrency testing (depth 3).",
)
@click.option(
    "--budget",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Schedules to run at most, over all setups.",
)
@click.option(
    "--max-deviations",
    "max_deviations",
    type=click.IntRange(0),
    default=None,
    help="dfs: only schedules with at most this many picks away from FIFO order.",
)
@click.option(
    "--peers",
    type=click.Choice(["sync", "pended", "both"]),
    default="both",
    show_default=True,
    help="How the sample peers complete what they may pend.",
)
@click.option(
    "--stop",
    type=click.Choice(STAGES),
    default="end",
    show_default=True,
    help="The workload stage after which teardown starts.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --strategy random.")
@WATCHDOG_OPTION
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("condis-replay.json"),
    show_default=True,
    help="Where the minimal failing schedule is written.",
)
@click.option(
    "--faults",
    is_flag=True,
    help="Make every NDIS allocation a choice too: it succeeds or fails (RESOURCES).",
)
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=None,
    help="Run the schedules on a Dask LocalCluster of this many processes.",
)
@click.option(
    "--scheduler",
    default=None,
    help="Run the schedules on the Dask cluster at this address (tcp://host:port).",
)
@click.option(
    "--allow-partial",
    is_flag=True,
    help="Exit 0 when nothing failed even if no schedule exercised the driver fully.",
)
@click.option("--json", "as_json", is_flag=True, help="The result as one JSON object.")
def explore(
    target: str,
    role: str,
    strategy: str,
    budget: int,
    max_deviations: int | None,
    peers: str,
    stop: str,
    seed: int,
    watchdog_ms: int,
    out: Path,
    faults: bool,
    workers: int | None,
    scheduler: str | None,
    allow_partial: bool,
    as_json: bool,
) -> None:
    """Race-test a driver: run its role's workload under many schedules.

    Every pick among ready deferred work (work items, timers due together,
    NDIS's deferred completions) is a choice point; dfs tries every schedule
    within the bound, one run each. The first failing schedule is shrunk to
    one from which no deviation can go back to FIFO order and still fail,
    and written to --out for `condis replay`.

    Exit status: 0 no failure in what ran (the report says whether that was
    every schedule) and the driver exercised; 1 a failure (the replay file is
    written); 2 the target or the options are wrong; 4 no failure, but no
    schedule reached some stage of the driver (--allow-partial accepts that).
    """
    from rich.progress import Progress

    from condis.explore import explore as run_explore
    from condis.explore import save_replay

    factory = load_checked(target, role)
    modes = ("sync", "pended") if peers == "both" else (peers,)
    err = Console(stderr=True)
    options: dict[str, Any] = {
        "strategy": strategy,
        "budget": budget,
        "max_deviations": max_deviations,
        "peers": modes,
        "stop": stop,
        "seed": seed,
        "watchdog_ms": watchdog_ms or None,
        "faults": faults,
    }
    with Progress(console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"exploring {target} as {role}", total=budget)
        options["progress"] = lambda n: progress.update(task, completed=n)
        if workers is None and scheduler is None:
            result = run_explore(factory, role, **options)
        else:
            from condis.explore.distributed import explore_on_dask

            try:
                result = explore_on_dask(
                    target, role, workers=workers, scheduler=scheduler, **options
                )
            except RuntimeError as exc:
                click.echo(f"Error: {exc}", err=True)
                sys.exit(2)
    found = result.counterexample
    unreached = result.not_reached if found is None else []
    code = 1 if found is not None else 4 if unreached and not allow_partial else 0
    if found is not None:
        save_replay(out, target, found, watchdog_ms=watchdog_ms or None)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "schema": 1,
                    "target": target,
                    "role": role,
                    "strategy": strategy,
                    "schedules": result.schedules,
                    "distinct": result.distinct,
                    "exhaustive": result.exhaustive,
                    "exercised": not unreached,
                    "not_reached": unreached,
                    "exit": code,
                    "setups": [
                        {"setup": name, "schedules": n, "exhaustive": done}
                        for name, n, done in result.setups
                    ],
                    "failure": None
                    if found is None
                    else {
                        "signature": list(found.run.signature),
                        "setup": f"peers={found.setup.peers} stop={found.setup.stop}",
                        "deviations": [{"index": i, **d.to_json()} for i, d in found.deviations],
                        "found_with_deviations": found.found_deviations,
                        "replay": str(out),
                    },
                }
            )
        )
    else:
        for name, n, done in result.setups:
            how = "every schedule within the bound" if done else "stopped"
            click.echo(f"{name}: {n} schedule(s), {how}")
        click.echo(f"{result.schedules} schedule(s), {result.distinct} distinct")
        if found is None:
            whole = "all of them" if result.exhaustive else "not all of them (budget)"
            for line in unreached:
                click.echo(f"not exercised: {line}")
            exercised = ", but the driver was not exercised at every stage" if unreached else ""
            click.echo(f"no failure in the schedules explored ({whole}){exercised}")
        else:
            out_console = Console(width=120)
            out_console.rule("the minimal failing schedule")
            out_console.print(found.run.report.render(), markup=False, highlight=False)
            if found.run.error:
                out_console.print(found.run.error, markup=False, highlight=False)
            click.echo(
                f"found with {found.found_deviations} deviation(s) from FIFO, "
                f"shrunk to {len(found.deviations)} (peers={found.setup.peers}, "
                f"stop={found.setup.stop}):"
            )
            for line in found.reorderings():
                click.echo(f"  {line}")
            click.echo(f"replay: condis replay {out}")
    sys.exit(code)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The run's report and trace as JSON.")
@click.option(
    "--diagram",
    type=click.Choice(["mermaid"]),
    default=None,
    help="Print the trace as a Mermaid sequence diagram.",
)
@click.option("--trace", "lines", is_flag=True, help="Print the run's whole trace as JSON Lines.")
@click.option(
    "--continue",
    "then",
    type=click.Choice(["fifo"]),
    default=None,
    help="Where the code no longer offers the recorded choice, go on in FIFO order.",
)
def replay(file: Path, as_json: bool, diagram: str | None, lines: bool, then: str | None) -> None:
    """Run a schedule written by `condis explore` again, exactly.

    Exit status: 1 the recorded failure happened again; 0 it did not; 2 the
    file cannot be read or the schedule no longer fits the code (where it
    diverged is printed; --continue fifo goes on from there).
    """
    from condis.explore import Divergence, load_replay
    from condis.explore import replay as run_replay
    from condis.explore.replay import source_hash
    from condis.trace import to_jsonl, to_mermaid
    from condis.verify.target import TargetError

    try:
        saved = load_replay(file)
        run, policy = run_replay(saved, fifo_after_divergence=then == "fifo")
    except (ValueError, TargetError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except Divergence as exc:
        click.echo(f"Error: replay: {exc}", err=True)
        sys.exit(2)
    again = not run.clean and run.signature == saved.signature
    if source_hash(saved.target) != saved.source_sha256:
        click.echo("note: the target's source changed since the schedule was recorded", err=True)
    if policy.diverged is not None:
        click.echo(f"note: {policy.diverged}; went on in FIFO order from there", err=True)
    trace = run.trace
    if as_json:
        click.echo(
            json.dumps(
                {
                    "reproduced": again,
                    "failure": list(run.signature) if not run.clean else None,
                    **run.report.to_json(),
                }
            )
        )
    elif diagram == "mermaid" and trace is not None:
        click.echo(to_mermaid(trace, title=f"replay of {file.name}"), nl=False)
    elif lines and trace is not None:
        click.echo(to_jsonl(trace), nl=False)
    else:
        Console(width=120).print(run.report.render(), markup=False, highlight=False)
        click.echo("the recorded failure happened again" if again else "it did not happen")
    sys.exit(1 if again else 0)
