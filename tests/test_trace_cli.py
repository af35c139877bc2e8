"""Trace records, their exporters, the `condis` command line, and the dependency-free core.

The JSON schema of a record, JSON Lines / Mermaid / table export of the demo
trace, `condis demo|ddi|rules` through click's CliRunner, the core running
with click and rich unavailable, and how NDIS_STATUS values print.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from condis import NDIS_STATUS, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS, RandomPolicy
from condis.catalogue import entries
from condis.cli import main
from condis.constants import DISPATCH_LEVEL, PASSIVE_LEVEL
from condis.demo import af_lifecycle
from condis.ndis import Ndis
from condis.trace import Phase, RecordKind, TraceRecord, to_jsonl, to_mermaid, to_table_rows
from condis.trace.export import TABLE_COLUMNS
from condis.verifier import RULES

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC = REPO_ROOT.parent / "shared" / "spec"
AF_AREA = "registration/address family"
STATUS_NAME = re.compile(r"^NDIS_STATUS_[A-Z0-9_]+$")
BASE_KEYS = ["seq", "phase", "kind", "name", "driver", "irql", "time", "depth", "handle"]


@pytest.fixture(scope="module")
def demo() -> Ndis:
    return af_lifecycle()


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class TestToJson:
    """TraceRecord.to_json: the `demo --json` schema."""

    def test_call_record(self) -> None:
        record = TraceRecord(
            seq=4,
            phase=Phase.CALL,
            kind=RecordKind.DDI,
            name="NdisClOpenAddressFamilyEx",
            driver="client",
            irql=PASSIVE_LEVEL,
            time=10,
            depth=1,
            handle="NdisBindingHandle#1",
        )
        assert record.to_json() == {
            "seq": 4,
            "phase": "call",
            "kind": "ddi",
            "name": "NdisClOpenAddressFamilyEx",
            "driver": "client",
            "irql": "PASSIVE_LEVEL",
            "time": 10,
            "depth": 1,
            "handle": "NdisBindingHandle#1",
        }

    def test_return_record_with_status(self) -> None:
        record = TraceRecord(
            seq=5,
            phase=Phase.RETURN,
            kind=RecordKind.HANDLER,
            name="ProtocolCmOpenAf",
            driver="mcm",
            irql=DISPATCH_LEVEL,
            time=0,
            depth=2,
            status=NDIS_STATUS_PENDING,
            op=3,
        )
        out = record.to_json()
        assert list(out)[: len(BASE_KEYS)] == BASE_KEYS
        assert out["status"] == "NDIS_STATUS_PENDING"
        assert out["irql"] == "DISPATCH_LEVEL"
        assert out["phase"] == "return"
        assert out["op"] == 3

    def test_void_return_has_null_status(self) -> None:
        record = TraceRecord(
            seq=0,
            phase=Phase.RETURN,
            kind=RecordKind.DDI,
            name="NdisSetEvent",
            driver=None,
            irql=PASSIVE_LEVEL,
            time=0,
            depth=0,
        )
        out = record.to_json()
        assert "status" in out
        assert out["status"] is None
        assert out["driver"] is None

    def test_every_demo_record(self, demo: Ndis) -> None:
        """seq counts from 0; status appears exactly on returns, as a WDK name or null."""
        for index, record in enumerate(demo.trace):
            out = record.to_json()
            assert json.loads(json.dumps(out)) == out
            assert out["seq"] == index
            assert isinstance(out["seq"], int)
            assert out["phase"] in ("call", "return")
            assert out["irql"] in ("PASSIVE_LEVEL", "DISPATCH_LEVEL")
            assert isinstance(out["name"], str) and out["name"]
            assert isinstance(out["driver"], str)
            if out["phase"] == "call":
                assert "status" not in out
            else:
                assert "status" in out
                assert out["status"] is None or STATUS_NAME.match(out["status"])
        statuses = {r.to_json().get("status") for r in demo.trace}
        assert {"NDIS_STATUS_SUCCESS", "NDIS_STATUS_PENDING", None} <= statuses


class TestExporters:
    """to_jsonl, to_mermaid and to_table_rows on the demo trace."""

    def test_jsonl_is_one_object_per_record(self, demo: Ndis) -> None:
        text = to_jsonl(demo.trace)
        assert text.endswith("\n")
        lines = text.splitlines()
        assert len(lines) == len(demo.trace)
        assert [json.loads(line) for line in lines] == [r.to_json() for r in demo.trace]

    def test_mermaid(self, demo: Ndis) -> None:
        text = to_mermaid(demo.trace, title="t")
        lines = text.splitlines()
        assert lines[0] == "sequenceDiagram"
        assert lines[1] == "    title t"
        participants = [line.split()[1] for line in lines if line.startswith("    participant ")]
        drivers = ["samplemcm", "sampleclient", "samplecominiport", "samplecallmanager"]
        assert participants == ["NDIS", *drivers]
        body = [line for line in lines[2:] if not line.startswith("    participant ")]
        assert len(body) == len(demo.trace)
        assert (
            "    samplemcm->>NDIS: NdisMCmRegisterAddressFamilyEx MiniportAdapterHandle#35;1"
            in (body)
        )
        assert "    NDIS->>sampleclient: ProtocolCoAfRegisterNotify NdisBindingHandle#35;1" in body
        assert "    NDIS-->>sampleclient: NdisClOpenAddressFamilyEx: NDIS_STATUS_PENDING" in body
        assert "    sampleclient-->>NDIS: ProtocolClOpenAfCompleteEx: VOID" in body

    def test_mermaid_without_title(self, demo: Ndis) -> None:
        lines = to_mermaid(demo.trace[:2]).splitlines()
        assert lines[:2] == ["sequenceDiagram", "    participant NDIS"]

    def test_table_rows(self, demo: Ndis) -> None:
        rows = to_table_rows(demo.trace)
        assert len(rows) == len(demo.trace)
        for record, row in zip(demo.trace, rows, strict=True):
            assert len(row) == len(TABLE_COLUMNS)
            seq, t, irql, driver, arrow, name, handle, status = row
            assert seq == str(record.seq)
            assert t == str(record.time)
            assert irql == str(record.irql)
            assert driver == record.driver
            assert arrow == ("→" if record.phase is Phase.CALL else "←")
            assert name == "  " * record.depth + record.name
            assert handle == (record.handle or "")
            if record.phase is Phase.CALL:
                assert status == ""
            elif record.status is not None:
                assert status == str(record.status)


def find_in_order(
    objs: list[dict[str, Any]], steps: list[Callable[[dict[str, Any]], bool]]
) -> list[int]:
    """Indices of objects matching each predicate in turn, each after the previous."""
    found: list[int] = []
    start = 0
    for step in steps:
        index = next((i for i in range(start, len(objs)) if step(objs[i])), None)
        assert index is not None, f"step {len(found)} not found after #{start}"
        found.append(index)
        start = index + 1
    return found


def ret(name: str, status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda o: o["phase"] == "return" and o["name"] == name and o["status"] == status


def call(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda o: o["phase"] == "call" and o["name"] == name


class TestCliDemo:
    """`condis demo`."""

    def test_table(self) -> None:
        result = invoke("demo")
        assert result.exit_code == 0
        assert "condis demo: AF lifecycle" in result.stdout
        for column in ("seq", "irql", "driver", "name", "handle", "status"):
            assert column in result.stdout
        assert "NdisClOpenAddressFamilyEx" in result.stdout
        assert "NDIS_STATUS_PENDING" in result.stdout

    def test_json_fields_and_order(self) -> None:
        result = invoke("demo", "--json")
        assert result.exit_code == 0
        objs = json_lines(result.stdout)
        assert len(objs) == len(result.stdout.splitlines())
        assert [o["seq"] for o in objs] == list(range(len(objs)))
        for o in objs:
            assert {"seq", "phase", "name", "driver", "irql"} <= set(o)
            assert ("status" in o) == (o["phase"] == "return")
        success = "NDIS_STATUS_SUCCESS"
        pending = "NDIS_STATUS_PENDING"
        find_in_order(
            objs,
            [
                ret("NdisMCmRegisterAddressFamilyEx", success),
                ret("NdisMCmRegisterAddressFamilyEx", success),
                call("ProtocolCoAfRegisterNotify"),
                ret("NdisClOpenAddressFamilyEx", pending),
                call("NdisMCmOpenAddressFamilyComplete"),
                call("ProtocolClOpenAfCompleteEx"),
                ret("NdisClCloseAddressFamily", pending),
                call("NdisMCmCloseAddressFamilyComplete"),
                call("ProtocolClCloseAfComplete"),
            ],
        )

    def test_json_is_the_demo_trace(self, demo: Ndis) -> None:
        assert invoke("demo", "--json").stdout == to_jsonl(demo.trace)

    def test_mermaid(self, demo: Ndis) -> None:
        result = invoke("demo", "--diagram", "mermaid")
        assert result.exit_code == 0
        assert result.stdout.startswith("sequenceDiagram\n")
        assert result.stdout == to_mermaid(demo.trace, title="condis demo: AF lifecycle")

    def test_unknown_diagram_is_rejected(self) -> None:
        result = invoke("demo", "--diagram", "dot")
        assert result.exit_code == 2

    def test_seed(self) -> None:
        result = invoke("demo", "--seed", "3")
        assert result.exit_code == 0
        assert "condis demo: AF lifecycle" in result.stdout
        as_json = invoke("demo", "--seed", "3", "--json")
        assert as_json.exit_code == 0
        assert as_json.stdout == to_jsonl(af_lifecycle(policy=RandomPolicy(3)).trace)


def af_area_ddis() -> set[str]:
    """The non-structure names of INDEX.md's AF area (catalogue names when INDEX.md is absent)."""
    index = SPEC / "INDEX.md"
    if not index.exists():
        return {e.name for e in entries(area=AF_AREA) if e.kind.value != "structure"}
    names: set[str] = set()
    for line in index.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] != AF_AREA or cells[2] == "structure":
            continue
        match = re.search(r"\((\w+)\)$", cells[1])
        name = match.group(1) if match else cells[1]
        if name == "XxxSetOptions":
            names.update({"MiniportSetOptions", "ProtocolSetOptions"})
        else:
            names.add(name)
    return names


class TestCliDdi:
    """`condis ddi`."""

    def test_json_objects(self) -> None:
        result = invoke("ddi", "--json")
        assert result.exit_code == 0
        objs = json_lines(result.stdout)
        assert objs
        for o in objs:
            assert isinstance(o["name"], str)
            assert o["kind"] in ("function", "macro", "callback")
            assert o["irql"] is None or isinstance(o["irql"], str)
            assert o["rule"] is None or isinstance(o["rule"], str)
            assert isinstance(o["implemented"], bool)
        assert len({o["name"] for o in objs}) == len(objs)

    def test_af_lifecycle_is_implemented(self) -> None:
        objs = {o["name"]: o for o in json_lines(invoke("ddi", "--json").stdout)}
        wanted = af_area_ddis()
        assert len(wanted) >= 30
        assert "NdisClOpenAddressFamilyEx" in wanted
        assert wanted <= set(objs)
        missing = sorted(n for n in wanted if not objs[n]["implemented"])
        assert missing == []

    def test_ndis_cl_open_row(self) -> None:
        objs = {o["name"]: o for o in json_lines(invoke("ddi", "--json").stdout)}
        row = objs["NdisClOpenAddressFamilyEx"]
        assert (row["kind"], row["irql"], row["rule"], row["implemented"]) == (
            "function",
            "PASSIVE_LEVEL",
            "Irql_Protocol_Driver_Function",
            True,
        )

    def test_table(self) -> None:
        result = invoke("ddi")
        assert result.exit_code == 0
        assert re.search(r"\d+ of \d+ implemented", result.stdout)


class TestCliRules:
    """`condis rules`."""

    def test_json_lists_every_rule(self) -> None:
        result = invoke("rules", "--json")
        assert result.exit_code == 0
        objs = json_lines(result.stdout)
        assert [o["id"] for o in objs] == list(RULES)
        for o in objs:
            assert o["statement"]
            assert re.match(r"^0x[0-9A-F]+$", o["bugcheck"])
            assert isinstance(o["windows"], bool)

    @pytest.mark.skipif(not SPEC.exists(), reason=f"{SPEC} not present")
    def test_every_source_page_exists(self) -> None:
        objs = json_lines(invoke("rules", "--json").stdout)
        missing = [(o["id"], o["source"]) for o in objs if not (SPEC / o["source"]).is_file()]
        assert missing == []

    def test_table(self) -> None:
        result = invoke("rules")
        assert result.exit_code == 0
        assert f"{len(RULES)} rules" in result.stdout


CORE_WITHOUT_CLI = textwrap.dedent(
    """
    import importlib.abc
    import sys

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in ("click", "rich"):
                raise ImportError(f"blocked {name}")
            return None

    sys.meta_path.insert(0, Block())
    for name in [m for m in sys.modules if m.partition(".")[0] in ("click", "rich")]:
        del sys.modules[name]

    try:
        import click  # noqa: F401
    except ImportError:
        pass
    else:
        raise SystemExit("the blocker did not block click")

    import condis
    import condis.demo
    import condis.samples
    import condis.trace

    ndis = condis.demo.af_lifecycle()
    assert ndis.verifier.violations == []
    assert condis.trace.to_mermaid(ndis.trace).startswith("sequenceDiagram")
    assert not any(m.partition(".")[0] in ("click", "rich") for m in sys.modules)
    try:
        import condis.cli  # noqa: F401
    except ImportError:
        print("cli needs click")
    print(len(ndis.trace))
    """
)


class TestCoreHasNoDependencies:
    """`import condis` and the demo work with click and rich unavailable."""

    def test_demo_runs_without_click_and_rich(self, demo: Ndis) -> None:
        proc = subprocess.run(
            [sys.executable, "-c", CORE_WITHOUT_CLI],
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.splitlines() == ["cli needs click", str(len(demo.trace))]


class TestStatusPrinting:
    """NDIS_STATUS prints as its WDK name, or as hex when it has none."""

    def test_named(self) -> None:
        assert repr(NDIS_STATUS_PENDING) == "NDIS_STATUS_PENDING"
        assert str(NDIS_STATUS_PENDING) == "NDIS_STATUS_PENDING"
        assert str(NDIS_STATUS_SUCCESS) == "NDIS_STATUS_SUCCESS"
        assert f"{NDIS_STATUS(0x103)}" == "NDIS_STATUS_PENDING"

    def test_unknown_is_hex(self) -> None:
        value = NDIS_STATUS(0xC0FFEE00)
        assert repr(value) == "0xC0FFEE00"
        assert str(value) == "0xC0FFEE00"
        assert int(value) == 0xC0FFEE00

    def test_status_in_trace_json_is_the_name(self, demo: Ndis) -> None:
        pending = [r for r in demo.trace if r.status == NDIS_STATUS_PENDING]
        assert pending
        assert {r.to_json()["status"] for r in pending} == {"NDIS_STATUS_PENDING"}


def _mermaid_decode(text: str) -> str:
    """What Mermaid shows for `text`: each entity code (#35; or #lt;) as its character."""
    import html

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        return chr(int(code)) if code.isdigit() else html.unescape(f"&{code};")

    return re.sub(r"#(\w+);", one, text)


def test_mermaid_shows_handles_and_statuses_as_they_are(demo: Ndis) -> None:
    from condis.trace.export import mermaid_text

    records = list(demo.trace)
    diagram = to_mermaid(records, title="a <title>; #1")
    messages = [line.split(": ", 1)[1] for line in diagram.splitlines()[1:] if ": " in line]
    shown = [_mermaid_decode(m) for m in messages]
    assert "a <title>; #1" in _mermaid_decode(diagram.splitlines()[1])
    for text in messages:
        bare = re.sub(r"#(35|59|lt|gt);", "", text)
        assert not set(bare) & set("#;<>"), text
    labelled = [s for s in shown if "NdisAfHandle#1" in s]
    assert labelled, "the AF handle keeps its number"
    assert mermaid_text("x#1;y<z>") == "x#35;1#59;y#lt;z#gt;"
    assert _mermaid_decode(mermaid_text("x#1;y<z>")) == "x#1;y<z>"
