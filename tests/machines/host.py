"""The machinery both state machines share: the host and its checks (`HostBase`),
the valid client actions (`ClientActions`), the invalid DDI calls (`Misuse`),
and the teardown that ends every example.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from condis import NDIS_STATUS_NOT_ACCEPTED
from machines.actions import ClientActions
from machines.misuse import Misuse
from machines.vocabulary import AF_STATES, LIVE_AF_STATES, TEARDOWN_ROUNDS


class HostMachine(ClientActions, Misuse):
    """A host under test, its sample clients, and the rules and checks both machines share.

    Subclasses build the host in an @initialize rule (through `start`), say how
    their call manager spells the completion DDIs (`SPELLING`: "M" for an MCM)
    and how to close what their clients hold (`close_everything`).
    """

    # --- teardown -------------------------------------------------------------------------------

    def teardown(self) -> None:
        """Close everything, halt the adapters, unload the drivers, and check that nothing
        is left.

        Skipped when a step failed (its failure is what gets reported) or the
        host never started.
        """
        if self.ndis is None or self.unfinished or self.ndis.crashed is not None:
            return
        ndis = self.ndis
        self.budget()
        self.close_everything()
        for name in self.adapter_names:
            if ndis.adapter(name).state.value == "running":
                self.valid("halt_adapter", functools.partial(ndis.halt_adapter, name))
        self.valid("ndis.run()", ndis.run)
        for block in reversed(ndis.drivers):
            self.valid("unload_driver", functools.partial(ndis.unload_driver, block.name))
        assert ndis.crashed is None
        assert ndis.check_invariants() == []
        leaks: dict[str, Sequence[object]] = {
            "drivers": ndis.drivers,
            "address families": ndis.address_families,
            "SAPs": ndis.saps,
            "VCs": ndis.vcs,
            "calls": ndis.calls,
            "parties": ndis.parties,
            "NBLs in flight": ndis.in_flight,
            "operations": ndis.operations,
            "work items": ndis.work_items,
            "timers": ndis.timers,
            "bindings": ndis.bindings,
            "adapters": ndis.adapters,
            "scheduled items": ndis.scheduler.pending(),
            "handles": [h for h, _ in ndis.handles.live()],
        }
        left = {what: items for what, items in leaks.items() if items}
        assert not left, f"left after teardown: {left}"
        for name, client in self.clients.items():
            assert client.bindings == [], f"{name} still lists bindings {client.bindings}"
        unexpected = ndis.verifier.violations[self.expected_violations :]
        assert not unexpected, f"violations during teardown: {unexpected}"
        if not self.misused:
            assert ndis.verifier.violations == []
        # conftest.py keeps every host of a test for its final check: let the trace of
        # a host that passed go, or thousands of examples fill the memory.
        ndis.trace.clear()

    def close_everything(self) -> None:
        """One thing at a time, the scheduler drained between: let go of whatever the
        call manager was asked to do (`let_go`), answer the calls offered, hang up,
        delete the VCs, deregister the SAPs, close the AFs."""
        ndis = self.host
        for _ in range(TEARDOWN_ROUNDS):
            self.valid("ndis.run()", ndis.run)
            if not self.client_afs(*AF_STATES):
                return
            offered = self.client_vcs(lambda vc: vc.call == "offered", af_states=LIVE_AF_STATES)
            connected = self.client_vcs(self.connected, af_states=LIVE_AF_STATES)
            idle = self.idle_vcs(af_states=LIVE_AF_STATES)
            saps = self.client_saps("registered")
            if self.let_go():
                continue
            if offered:
                client, vc = offered[0]
                self.valid("answer", functools.partial(client.answer, vc, NDIS_STATUS_NOT_ACCEPTED))
            elif connected:
                client, vc = connected[0]
                self.valid("close_call", functools.partial(client.close_call, vc))
            elif idle:
                for client, vc in idle:
                    self.valid("delete_vc", functools.partial(client.delete_vc, vc))
            elif saps:
                for client, sap in saps:
                    self.valid("deregister_sap", functools.partial(client.deregister_sap, sap))
            else:
                for client, af in self.closable_afs():
                    self.valid("close_af", functools.partial(client.close_af, af))
        held = [(self.name_of(c), af.state, af.vcs) for c, af in self.client_afs(*AF_STATES)]
        raise AssertionError(f"the clients never let go: {held}")

    def let_go(self) -> bool:
        """Hook: undo one thing the machine had the call manager do; False if none is left."""
        return False
