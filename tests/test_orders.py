"""Every order the documentation fixes, pinned: change the order, and a test here fails.

The cross-entity sequences are written once, in lifecycle.py; these tests
read their order off the trace and off the violations they report:

* adapter start: MiniportInitializeEx, then one bind per protocol in load
  order, then ProtocolCoAfRegisterNotify once the bind has completed;
* adapter halt: for an MCM, MiniportHaltEx before any unbind; otherwise the
  unbinds first, call managers before clients;
* what a halt finds left (nc-ndis-miniport_halt): NBLs still out, then
  VCs, then AFs, then work items and timers;
* what NdisCloseAdapterEx finds left: VCs, then AFs;
* a client told to close an AF (nc-ndis-protocol_cl_notify_close_af):
  drop parties, close calls, deregister SAPs, close the AF;
* unloading: a miniport's adapters halt before MiniportDriverUnload; a
  protocol's bindings are unbound inside NdisDeregisterProtocolDriver.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    NDIS_STATUS_SUCCESS,
    BugCheck,
    Mode,
    Ndis,
)
from condis.constants import NDIS_HALT_ACTION
from condis.data import NET_BUFFER_LIST
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.client import ClientBinding
from condis.samples.mcm import called_party
from condis.samples.mcm_state import McmAdapter, McmVc
from condis.status import NDIS_STATUS
from hosts.calls import connect, network
from util import calls, find, mark_of

SAP = {name: CO_SAP(SapType=1, Sap=name.encode()) for name in ("alice", "bob", "carol")}


def first_index(items: list[str], wanted: str) -> int:
    assert wanted in items, f"{wanted} not in {items}"
    return items.index(wanted)


def rules(ndis: Ndis) -> list[str]:
    return [v.rule for v in ndis.verifier.violations]


class TestAdapterStart:
    def test_initialize_then_binds_in_load_order_then_the_offers(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleMcm(ndis, address_families=[CO_ADDRESS_FAMILY_Q2931]), "mcm")
        for name in ("first", "second"):
            ndis.load_driver(SampleClient(ndis), name)
        ndis.add_adapter("mcm", "mcm0")
        start = find(ndis, "MiniportInitializeEx", "return")
        binds = calls(ndis, "ProtocolBindAdapterEx")
        assert [r.driver for r in binds] == ["first", "second"]
        assert start.seq < binds[0].seq
        for name in ("first", "second"):
            bound = find(ndis, "ProtocolBindAdapterEx", "return", driver=name)
            notify = find(ndis, "ProtocolCoAfRegisterNotify", driver=name)
            assert bound.seq < notify.seq


class TestAdapterHalt:
    def test_an_mcm_halts_before_its_protocols_unbind(self) -> None:
        host = network()
        mark = mark_of(host.ndis)
        host.ndis.halt_adapter("mcm0")
        halt = find(host.ndis, "MiniportHaltEx", "return", after=mark)
        unbinds = calls(host.ndis, "ProtocolUnbindAdapterEx", after=mark)
        assert unbinds and all(halt.seq < u.seq for u in unbinds)

    def test_a_miniport_halts_after_its_protocols_call_managers_first(self) -> None:
        ndis = Ndis()
        ndis.load_driver(SampleCoMiniport(ndis), "miniport")
        ndis.load_driver(SampleClient(ndis), "client")  # loaded before the call manager
        ndis.load_driver(SampleCallManager(ndis), "cm")
        ndis.add_adapter("miniport", "atm0")
        ndis.run()
        mark = mark_of(ndis)
        ndis.halt_adapter("atm0")
        unbinds = [r.driver for r in calls(ndis, "ProtocolUnbindAdapterEx", after=mark)]
        assert unbinds == ["cm", "client"]
        halt = find(ndis, "MiniportHaltEx", after=mark)
        last_unbind = find(ndis, "ProtocolUnbindAdapterEx", "return", driver="client", after=mark)
        assert last_unbind.seq < halt.seq


class HoardingMcm(SampleMcm):
    """Keeps every send, and halts at once: it leaves NBLs, VCs, AFs and work items."""

    def MiniportCoSendNetBufferLists(
        self, MiniportVcContext: McmVc, NetBufferLists: NET_BUFFER_LIST, SendFlags: int
    ) -> None:
        self.kept = [*getattr(self, "kept", []), NetBufferLists]

    def MiniportHaltEx(self, MiniportAdapterContext: McmAdapter, HaltAction: Any) -> None:
        MiniportAdapterContext.halted = True
        del self.adapters[MiniportAdapterContext.handle]


class TestWhatAHaltFinds:
    def test_nbls_then_vcs_then_afs_then_resources(self) -> None:
        host = network(mode=Mode.COLLECT, mcm=HoardingMcm)
        alice = host.clients["alice"]
        vc, _ = connect(host)
        alice.send(vc, b"never sent")
        host.ndis.run()
        # The checks run when MiniportHaltEx returns; the clients' unbinds then wait for
        # sends that never come back, which stops the host (NdisWaitDeadlock).
        with contextlib.suppress(BugCheck):
            host.ndis.halt_adapter("mcm0")
        found = rules(host.ndis)
        order = [
            first_index(found, rule)
            for rule in ("CoNdisNblLeak", "CoNdisVcOpenOnTeardown", "CoNdisAfOpenOnTeardown")
        ]
        assert order == sorted(order)
        if "NdisWorkItemLeak" in found:
            assert first_index(found, "NdisWorkItemLeak") > order[-1]


class CloseAtOnceClient(SampleClient):
    """Unbinds by closing its adapter at once, whatever it still has open."""

    def ProtocolUnbindAdapterEx(
        self, UnbindContext: Any, ProtocolBindingContext: ClientBinding
    ) -> NDIS_STATUS:
        assert ProtocolBindingContext.handle is not None
        self.ndis.NdisCloseAdapterEx(ProtocolBindingContext.handle)
        return NDIS_STATUS_SUCCESS


class TestWhatACloseFinds:
    def test_vcs_then_afs(self) -> None:
        host = network(mode=Mode.COLLECT)
        ndis = host.ndis
        alice = CloseAtOnceClient(ndis)
        ndis.load_driver(alice, "carol")
        ndis.run()
        af = alice.afs("open")[0]
        vc = alice.make_call(af, called_party(SAP["bob"]))
        ndis.run()
        assert vc is not None and vc.call == "connected"
        mark = len(ndis.verifier.violations)
        ndis.unbind_adapter(ndis.binding("carol", "mcm0"))
        found = rules(ndis)[mark:]
        assert first_index(found, "CoNdisVcOpenOnTeardown") < first_index(
            found, "CoNdisAfOpenOnTeardown"
        )


class TestClientClosesAnAf:
    @pytest.mark.parametrize("completion", ["sync", "pended"])
    def test_parties_calls_saps_then_the_af(self, completion: str) -> None:
        """ProtocolClNotifyCloseAf's page: NdisClDropParty, NdisClCloseCall,
        NdisClDeregisterSap, NdisClCloseAddressFamily, in that order."""
        ndis = Ndis()
        mcm = SampleMcm(ndis, address_families=[CO_ADDRESS_FAMILY_Q2931], completion=completion)
        ndis.load_driver(mcm, "mcm")
        for name, sap in SAP.items():
            ndis.load_driver(SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [sap]}), name)
        ndis.add_adapter("mcm", "mcm0")
        ndis.run()
        alice = ndis.driver("alice").code
        assert isinstance(alice, SampleClient)
        af = alice.afs("open")[0]
        vc = alice.make_call(af, called_party(SAP["bob"]), multipoint=True)
        ndis.run()
        assert vc is not None
        alice.add_party(vc, called_party(SAP["carol"]))
        ndis.run()
        assert [p.state for p in vc.parties] == ["connected", "connected"]
        mark = mark_of(ndis)
        ndis.halt_adapter("mcm0", NDIS_HALT_ACTION.NdisHaltDeviceDisabled)
        wanted = (
            "NdisClDropParty",
            "NdisClCloseCall",
            "NdisClDeregisterSap",
            "NdisClCloseAddressFamily",
        )
        seen = [
            r.name
            for r in ndis.trace
            if r.seq > mark and r.driver == "alice" and r.phase.value == "call"
        ]
        steps = [n for n in seen if n in wanted]
        assert steps and all(n in steps for n in wanted)
        firsts = [steps.index(n) for n in wanted]
        lasts = [len(steps) - 1 - steps[::-1].index(n) for n in wanted]
        assert firsts == sorted(firsts)
        for earlier, later in zip(lasts, firsts[1:], strict=False):
            assert earlier < later, steps
        assert ndis.leaks() == []


class TestUnload:
    def test_a_miniport_halts_its_adapters_before_its_unload_routine(self) -> None:
        host = network()
        mark = mark_of(host.ndis)
        host.ndis.unload_driver(host.cm_name)
        halt = find(host.ndis, "MiniportHaltEx", "return", after=mark)
        unload = find(host.ndis, "MiniportDriverUnload", after=mark)
        assert halt.seq < unload.seq

    def test_a_protocol_is_unbound_inside_its_deregistration(self) -> None:
        host = network()
        mark = mark_of(host.ndis)
        host.ndis.unload_driver("alice")
        deregister = find(host.ndis, "NdisDeregisterProtocolDriver", after=mark)
        unbind = find(host.ndis, "ProtocolUnbindAdapterEx", driver="alice", after=mark)
        done = find(host.ndis, "NdisDeregisterProtocolDriver", "return", after=mark)
        assert deregister.seq < unbind.seq < done.seq
