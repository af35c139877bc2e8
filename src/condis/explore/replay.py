"""Replay files: a counterexample saved, and run again exactly.

The file is JSON (`SCHEMA` versions its layout): the condis version, the
target and role, a SHA-256 of the target's source file, the workload setup
(peers, stop stage, watchdog, whether allocations were choices), what
failed (the headline's rule, DDI and driver), and every decision of the run
with the labels it chose among.
`replay` rebuilds the same host, follows the decisions and checks at each
choice point that the code still offers what the file recorded; where it
does not (the driver or condis changed), it stops and says where
(`Divergence`), or, with `fifo_after_divergence`, goes on in FIFO order from
there. A source hash that differs is reported, not refused: the schedule
may still apply.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from condis.explore.choices import ChoicePolicy, Decision
from condis.explore.search import Counterexample, run_schedule
from condis.verify.runner import WATCHDOG_MS, VerifyRun
from condis.verify.target import load_target
from condis.verify.workloads import ROLES, STAGES, Setup

__all__ = ["SCHEMA", "Replay", "load_replay", "replay", "save_replay", "source_hash"]

SCHEMA = 1


def _version() -> str:
    try:
        return importlib.metadata.version("condis")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def source_hash(target: str) -> str | None:
    """SHA-256 of the file that defines `target` (a path or a module), if it has one."""
    where = target.rpartition(":")[0]
    path: Path | None = None
    if where.endswith(".py") or "/" in where or "\\" in where:
        path = Path(where)
    else:
        try:
            spec = importlib.util.find_spec(where)
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin and spec.origin.endswith(".py"):
            path = Path(spec.origin)
    if path is None or not path.is_file():
        return None
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Replay:
    """What a replay file holds."""

    target: str
    setup: Setup
    watchdog_ms: int | None
    decisions: tuple[Decision, ...]
    signature: tuple[object, ...]
    source_sha256: str | None
    condis: str
    #: allocation points were choices when it was recorded
    faults: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "condis": self.condis,
            "target": self.target,
            "role": self.setup.role,
            "source_sha256": self.source_sha256,
            "peers": self.setup.peers,
            "stop": self.setup.stop,
            "watchdog_ms": self.watchdog_ms,
            "faults": self.faults,
            "failure": list(self.signature),
            "decisions": [d.to_json() for d in self.decisions],
        }


def save_replay(
    path: Path, target: str, found: Counterexample, *, watchdog_ms: int | None = WATCHDOG_MS
) -> Replay:
    """Write `found` to `path` as a replay file; returns what was written."""
    saved = Replay(
        target=target,
        setup=found.setup,
        watchdog_ms=watchdog_ms,
        decisions=found.decisions,
        signature=found.run.signature,
        source_sha256=source_hash(target),
        condis=_version(),
        faults=found.faults,
    )
    path.write_text(json.dumps(saved.to_json(), indent=1) + "\n")
    return saved


def load_replay(path: Path) -> Replay:
    """Read a replay file; ValueError naming what is wrong with it."""
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"replay: cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(f"replay: {path} is not a condis replay file of schema {SCHEMA}")
    role, peers, stop = data.get("role"), data.get("peers"), data.get("stop")
    if role not in ROLES or peers not in ("sync", "pended") or stop not in STAGES:
        raise ValueError(f"replay: {path} names an unknown role, peers or stop stage")
    watchdog = data.get("watchdog_ms")
    if watchdog is not None and (isinstance(watchdog, bool) or not isinstance(watchdog, int)):
        raise ValueError(f"replay: {path}: watchdog_ms must be an int or null")
    decisions = data.get("decisions")
    if not isinstance(decisions, list):
        raise ValueError(f"replay: {path}: decisions must be a list")
    return Replay(
        target=str(data.get("target")),
        setup=Setup(role, peers, stop),
        watchdog_ms=watchdog,
        decisions=tuple(Decision.from_json(d) for d in decisions),
        signature=tuple(data.get("failure") or ()),
        source_sha256=data.get("source_sha256"),
        condis=str(data.get("condis")),
        faults=bool(data.get("faults", False)),
    )


def replay(saved: Replay, *, fifo_after_divergence: bool = False) -> tuple[VerifyRun, ChoicePolicy]:
    """Run `saved` again; raises Divergence where the code no longer offers the recorded
    choice (module docstring). The run keeps its whole trace."""
    factory = load_target(saved.target)
    return run_schedule(
        factory,
        saved.setup,
        [d.chose for d in saved.decisions],
        watchdog_ms=saved.watchdog_ms,
        expect=[d.options for d in saved.decisions],
        fifo_after_divergence=fifo_after_divergence,
        trace_limit=None,
        faults=saved.faults,
    )
