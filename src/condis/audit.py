"""The host's audit: its invariants, what drivers still hold, and a snapshot.

Each engine checks its own tables and lists what it still holds for a
driver; `Audit` asks them in a fixed order, written out once below, so a
report reads the same way from run to run:

* invariants: the kernel (frames, handles), operations, adapters,
  bindings, spin locks, work items, timers, AF offers, AFs, SAPs, VCs,
  calls, parties, the NBL ledger;
* leaks: outstanding operations, held spin locks, work items, timers, AFs,
  SAPs, VCs, calls, parties, NBLs out of their owner's hands; each placed at
  the trace record where it first appeared (verifier/leaks.py), oldest
  first.

`snapshot()` is a comparable picture of every table, for "state unchanged"
checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from condis.adapters import AdapterEngine
from condis.af import AfEngine
from condis.af_registration import AfRegistry
from condis.bindings import BindingEngine
from condis.call import CallEngine
from condis.data import DataEngine
from condis.drivers import DriverEngine
from condis.kernel import Kernel
from condis.operations import Operations
from condis.party import PartyEngine
from condis.sap import SapEngine
from condis.spinlocks import SyncEngine
from condis.timers import TimerEngine
from condis.vc import VcEngine
from condis.verifier.leaks import Leak
from condis.workitems import WorkItemEngine

__all__ = ["Audit"]


class Audit:
    """Reads every engine's tables, in one fixed order (module docstring)."""

    __slots__ = (
        "_adapters",
        "_afs",
        "_bindings",
        "_calls",
        "_data",
        "_drivers",
        "_k",
        "_ops",
        "_parties",
        "_registry",
        "_saps",
        "_sync",
        "_timers",
        "_vcs",
        "_work_items",
    )

    def __init__(
        self,
        kernel: Kernel,
        ops: Operations,
        *,
        drivers: DriverEngine,
        adapters: AdapterEngine,
        bindings: BindingEngine,
        sync: SyncEngine,
        work_items: WorkItemEngine,
        timers: TimerEngine,
        registry: AfRegistry,
        afs: AfEngine,
        saps: SapEngine,
        vcs: VcEngine,
        calls: CallEngine,
        parties: PartyEngine,
        data: DataEngine,
    ) -> None:
        self._k = kernel
        self._ops = ops
        self._drivers = drivers
        self._adapters = adapters
        self._bindings = bindings
        self._sync = sync
        self._work_items = work_items
        self._timers = timers
        self._registry = registry
        self._afs = afs
        self._saps = saps
        self._vcs = vcs
        self._calls = calls
        self._parties = parties
        self._data = data

    def invariants(self) -> Iterator[str]:
        """Every way the host's own tables disagree with each other."""
        yield from self._k.invariants()
        yield from self._ops.invariants()
        yield from self._adapters.invariants()
        yield from self._bindings.invariants()
        yield from self._sync.invariants()
        yield from self._work_items.invariants()
        yield from self._timers.invariants()
        yield from self._registry.invariants()
        yield from self._afs.invariants()
        yield from self._saps.invariants()
        yield from self._vcs.invariants()
        yield from self._calls.invariants()
        live = self._vcs.vcs
        yield from self._parties.invariants(v.call for v in live if v.call is not None)
        yield from self._data.invariants(live)

    def held(self) -> Iterator[Leak]:
        """What drivers still hold, engine by engine, each placed where it was born."""
        yield from self._ops.leaks()
        yield from self._sync.leaks()
        yield from self._work_items.leaks()
        yield from self._timers.leaks()
        yield from self._afs.leaks()
        yield from self._saps.leaks()
        yield from self._vcs.leaks()
        yield from self._calls.leaks()
        yield from self._parties.leaks()
        yield from self._data.leaks()

    def leaks(self) -> list[Leak]:
        """Everything drivers allocated through NDIS and still hold, oldest first."""
        return sorted(self.held(), key=lambda k: (k.allocated_seq is None, k.allocated_seq or 0))

    def snapshot(self) -> dict[str, Any]:
        """A comparable picture of every table, in plain values (names, labels, states).

        It holds what is live (closed objects have left the tables), so it costs
        O(live objects) however long the host has run.
        """
        k = self._k
        return {
            "drivers": [
                (d.name, d.kind.value, d.roles, None if d.handle is None else d.handle.label)
                for d in self._drivers.drivers
            ],
            "adapters": [(a.name, a.state.value, a.handle.label) for a in self._adapters.history],
            "bindings": [
                (
                    b.label,
                    b.state.value,
                    b.open_state.value,
                    None if b.handle is None else b.handle.label,
                )
                for b in self._bindings.history
            ],
            "registrations": [
                (
                    r.adapter.name,
                    r.cm.name,
                    r.family.AddressFamily,
                    r.announced,
                    r.withdrawn,
                    tuple(b.label for b in r.notified),
                )
                for r in self._registry.history
            ],
            "afs": [
                (
                    a.handle.label,
                    a.state.value,
                    a.client_valid,
                    a.cm_valid,
                    tuple(
                        (o.kind, o.state.value) for o in (a.open_op, a.close_op, a.notify_op) if o
                    ),
                )
                for a in self._afs.address_families
            ],
            "saps": [
                (p.handle.label, p.state.value, p.client_valid, p.cm_valid) for p in self._saps.saps
            ],
            "vcs": [(v.handle.label, v.state.value, v.creator.name) for v in self._vcs.vcs],
            "calls": [
                (v.call.vc.handle.label, v.call.state.value, v.call.outgoing)
                for v in self._vcs.vcs
                if v.call is not None
            ],
            "parties": [(p.handle.label, p.state.value) for p in self._parties.parties],
            "in_flight": [(e.direction, e.vc.handle.label) for e in self._data.in_flight],
            "operations": [(o.id, o.kind, o.state.value) for o in self._ops.outstanding],
            "handles": [h.label for h, _ in k.handles.live()],
            "work_items": [
                (w.handle.label, w.queued is not None, w.runs) for w in self._work_items.work_items
            ],
            "timers": [
                (t.handle.label, t.queued is not None, t.period_ms) for t in self._timers.timers
            ],
            "spin_locks": [(s.label, s.held, s.freed) for s in self._sync.spin_locks],
            "scheduler": [(i.label, i.kind.value, i.due) for i in k.scheduler.pending()],
            "now": k.scheduler.now,
        }
