"""The `Ndis` host: one simulated machine's NDIS library.

`Ndis` is assembled from one mixin per entity (drivers, adapters, bindings,
address families, work items, timers, spin locks and events, unloading) on
top of `NdisCore` (runtime.py). Its public surface has two layers:

* the DDIs, with their WDK names and parameters (`NdisClOpenAddressFamilyEx`,
  `NdisMCmRegisterAddressFamilyEx`...), for drivers to call;
* host operations in PEP 8 names, for the test or tool that plays the rest
  of the machine: `load_driver`, `unload_driver`, `unload_all`, `add_adapter`,
  `halt_adapter`, `unbind_adapter`, `run`, `step`, `driver_context`,
  `snapshot`, and the tables (`drivers`, `adapters`, `bindings`,
  `registrations`, `address_families`, `operations`, `work_items`, `timers`,
  `spin_locks`).

Several `Ndis` objects can live in one process; nothing is global.
"""

from __future__ import annotations

from typing import Any

from condis.scheduler import Policy
from condis.spinlocks import SyncMixin
from condis.timers import TimerMixin
from condis.unload import UnloadMixin
from condis.vcnames import VcNameMixin
from condis.verifier import Mode

__all__ = ["Ndis"]


class Ndis(VcNameMixin, TimerMixin, SyncMixin, UnloadMixin):
    """One host's NDIS: drivers, adapters, bindings, AFs, deferred work, verifier.

    Args:
        policy: how the scheduler picks among ready work items (default FIFO).
        mode: `Mode.STRICT` (default) raises BugCheck on the first violation;
            `Mode.COLLECT` records violations and carries on.
        watchdog_ms: simulated milliseconds a pended operation may stay
            uncompleted before the NdisWatchdog rule fires (completion.py);
            None (default) turns the watchdog off.
    """

    def __init__(
        self,
        *,
        policy: Policy | None = None,
        mode: Mode = Mode.STRICT,
        watchdog_ms: int | None = None,
    ) -> None:
        super().__init__(policy=policy, mode=mode, watchdog_ms=watchdog_ms)

    def snapshot(self) -> dict[str, Any]:
        """A comparable picture of every table (for "state unchanged" checks).

        Holds plain values only (names, labels, states), never the live
        objects, so two snapshots compare equal exactly when the host's
        state is the same.
        """
        return {
            "drivers": [
                (d.name, d.kind.value, d.roles, None if d.handle is None else d.handle.label)
                for d in self.drivers
            ],
            "adapters": [(a.name, a.state.value, a.handle.label) for a in self._adapters.values()],
            "bindings": [
                (
                    b.label,
                    b.state.value,
                    b.open_state.value,
                    None if b.handle is None else b.handle.label,
                )
                for b in self._bindings
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
                for r in self._registrations
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
                for a in self._afs
            ],
            "saps": [
                (p.handle.label, p.state.value, p.client_valid, p.cm_valid) for p in self._saps
            ],
            "vcs": [(v.handle.label, v.state.value, v.creator.name) for v in self._vcs],
            "calls": [
                (v.call.vc.handle.label, v.call.state.value, v.call.outgoing)
                for v in self._vcs
                if v.call is not None
            ],
            "parties": [(p.handle.label, p.state.value) for p in self._parties],
            "in_flight": [(e.direction, e.vc.handle.label) for e in self._in_flight.values()],
            "operations": [(o.id, o.kind, o.state.value) for o in self.operations],
            "handles": [h.label for h, _ in self.handles.live()],
            "work_items": [
                (w.handle.label, w.queued is not None, w.runs) for w in self._work_items
            ],
            "timers": [(t.handle.label, t.queued is not None, t.period_ms) for t in self._timers],
            "spin_locks": [(s.label, s.held, s.freed) for s in self._locks],
            "scheduler": [(i.label, i.kind.value, i.due) for i in self.scheduler.pending()],
            "now": self.scheduler.now,
        }
