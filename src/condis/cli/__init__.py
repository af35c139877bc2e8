"""The `condis` command line (click for parsing, rich for tables)."""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console
from rich.table import Table

from condis.catalogue import CATALOGUE
from condis.crossing import HANDLERS, IMPLEMENTED
from condis.errors import BugCheck
from condis.scheduler import Policy, RandomPolicy
from condis.trace import TraceRecord, to_jsonl, to_mermaid, to_table_rows
from condis.trace.export import TABLE_COLUMNS
from condis.verifier import RULES

__all__ = ["VERIFY_SCHEMA", "main"]


def _print_trace(
    records: list[TraceRecord], *, as_json: bool, diagram: str | None, title: str
) -> None:
    if as_json:
        sys.stdout.write(to_jsonl(records))
        return
    if diagram == "mermaid":
        sys.stdout.write(to_mermaid(records, title=title))
        return
    table = Table(title=title, show_lines=False, header_style="bold")
    for column in TABLE_COLUMNS:
        table.add_column(column, no_wrap=column in ("name", "handle"))
    for row in to_table_rows(records):
        table.add_row(*row)
    Console(width=200).print(table)


@click.group()
@click.version_option(package_name="condis")
def main() -> None:
    """Run, verify and race-test CoNDIS drivers in Python."""


@main.command()
@click.argument("scenario", type=click.Choice(["af", "call"]), default="af")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per trace record.")
@click.option(
    "--diagram", type=click.Choice(["mermaid"]), default=None, help="Print a sequence diagram."
)
@click.option(
    "--seed", type=int, default=None, help="Pick among ready work items at random, seeded."
)
def demo(scenario: str, as_json: bool, diagram: str | None, seed: int | None) -> None:
    """Run a scenario with the sample drivers and print its trace.

    SCENARIO is "af" (the address-family lifecycle, the default) or "call"
    (a complete call with data between two clients).
    """
    from condis.demo import af_lifecycle, call_lifecycle

    policy: Policy | None = None if seed is None else RandomPolicy(seed)
    run = af_lifecycle if scenario == "af" else call_lifecycle
    title = "condis demo: AF lifecycle" if scenario == "af" else "condis demo call"
    try:
        ndis = run(policy=policy)
    except BugCheck as exc:
        click.echo(str(exc), err=True)
        for record in exc.excerpt:
            click.echo("  " + record.brief(), err=True)
        sys.exit(1)
    _print_trace(list(ndis.trace), as_json=as_json, diagram=diagram, title=title)
    if ndis.verifier.violations:
        for v in ndis.verifier.violations:
            click.echo(f"violation {v.rule} in {v.ddi}: {v.detail}", err=True)
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per DDI.")
def ddi(as_json: bool) -> None:
    """List every DDI and handler in the spec index, with IRQL, rule and where it lives.

    A DDI lives in the engine method the Ndis facade routes it to; a handler
    is called from the engine module that registered it. "guards" are the
    state-machine inputs it drives (condis states).
    """
    from condis.machines.render import inputs_for
    from condis.ndis import Ndis

    routes = Ndis.routes()
    rows = [
        {
            "name": e.name,
            "kind": e.kind.value,
            "area": e.area,
            "role": e.role,
            "irql": None if e.irql is None else e.irql.text,
            "rule": e.primary_rule,
            "implemented": e.name in IMPLEMENTED,
            "lives_in": routes[e.name].implementation if e.name in routes else HANDLERS.get(e.name),
            "guards": inputs_for(e.name),
        }
        for e in CATALOGUE.values()
        if e.kind.value != "structure"
    ]
    if as_json:
        for row in rows:
            click.echo(json.dumps(row))
        return
    done = sum(1 for r in rows if r["implemented"])
    table = Table(title=f"{done} of {len(rows)} implemented")
    for column in ("name", "kind", "role", "irql", "rule", "lives in", "guards"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            *(
                str(row[c] if row[c] is not None else "")
                for c in ("name", "kind", "role", "irql", "rule", "lives_in")
            ),
            " ".join(row["guards"]),  # type: ignore[arg-type]
        )
    Console(width=240).print(table)


@main.command()
@click.argument("machine", required=False)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per machine.")
@click.option(
    "--diagram", type=click.Choice(["mermaid"]), default=None, help="Print state diagrams."
)
@click.option("--markdown", is_flag=True, help="The docs page (docs/STATES.md).")
def states(machine: str | None, as_json: bool, diagram: str | None, markdown: bool) -> None:
    """Print the state machines: adapters, bindings, AFs, SAPs, VCs, calls, parties, operations.

    MACHINE picks one by name (adapter, binding, binding-open, af, sap, vc,
    call, party, operation). The rows printed are the ones the DDIs read as
    their preconditions.
    """
    from condis.machines import MACHINES
    from condis.machines.render import markdown as states_markdown
    from condis.machines.render import to_json, to_mermaid

    chosen = [m for m in MACHINES if machine is None or m.name == machine]
    if not chosen:
        names = ", ".join(m.name for m in MACHINES)
        raise click.BadParameter(f"no machine {machine!r}; machines: {names}")
    if markdown:
        sys.stdout.write(states_markdown())
        return
    if as_json:
        for m in chosen:
            click.echo(json.dumps(to_json(m)))
        return
    if diagram == "mermaid":
        for m in chosen:
            click.echo(f"%% {m.name}: {m.title}")
            sys.stdout.write(to_mermaid(m))
        return
    console = Console(width=200)
    for m in chosen:
        table = Table(title=f"{m.name}: {m.title}")
        for column in ("state", "input", "target", "status", "rule", "page"):
            table.add_column(column)
        for row in to_json(m)["rows"]:
            table.add_row(
                row["state"],
                row["input"],
                row["target"] or "(refused)",
                row["status"] or "",
                row["rule"] or "",
                row["page"] or "",
            )
        console.print(table)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule.")
def rules(as_json: bool) -> None:
    """List the rules condis checks."""
    if as_json:
        for r in RULES.values():
            click.echo(
                json.dumps(
                    {
                        "id": r.id,
                        "statement": r.statement,
                        "applies_to": list(r.applies_to),
                        "source": r.source,
                        "bugcheck": f"0x{r.bugcheck:X}",
                        "parameter1": None if r.parameter1 is None else f"0x{r.parameter1:X}",
                        "windows": r.windows,
                    }
                )
            )
        return
    table = Table(title=f"{len(RULES)} rules")
    for column in ("id", "statement", "source"):
        table.add_column(column)
    for r in RULES.values():
        table.add_row(r.id, r.statement, r.source)
    Console(width=200).print(table)


from condis.cli.explore import explore, replay  # noqa: E402  (registered on `main`)
from condis.cli.verify import VERIFY_SCHEMA, verify  # noqa: E402

main.add_command(verify)
main.add_command(explore)
main.add_command(replay)
