"""Address families at teardown: halting or unbinding with AFs open (af_close.py, adapters.py).

Who notifies whom, and in which order: the call manager's Ndis(M)CmNotifyCloseAddressFamily
and the client's ProtocolClNotifyCloseAf against MiniportHaltEx and ProtocolUnbindAdapterEx
(adapters.py's halt order, guide/closing-a-condis-call-manager-or-mcm.md). The hosts are
hosts/af.py's.
"""

from __future__ import annotations

import pytest

from condis import CO_ADDRESS_FAMILY_PSCHED, CO_ADDRESS_FAMILY_Q2931, NDIS_STATUS_SUCCESS, Ndis
from hosts.af import build, inside
from hosts.paths import COMPLETIONS
from util import calls, find, in_order

BOTH = (CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED)


def assert_torn_down(ndis: Ndis, *, keep: tuple[str, ...] = ()) -> None:
    """No AF, offer or operation left; every handle closed but driver handles and `keep`."""
    assert ndis.address_families == () and ndis.registrations == () and ndis.operations == ()
    live = [h for h in ndis.snapshot()["handles"] if not h.startswith("NdisDriverHandle#")]
    assert sorted(live) == sorted(keep)
    assert ndis.verifier.violations == []


@pytest.mark.parametrize("completion", COMPLETIONS)
class TestTeardown:
    """Halting or unbinding with AFs open: who notifies whom, and in which order."""

    def test_halting_an_mcm_adapter_with_afs_open(self, completion: str) -> None:
        host = build("mcm", completion, afs=BOTH)
        ndis = host.ndis
        assert len(ndis.address_families) == 2
        ndis.halt_adapter("mcm0")
        halt, halt_return = in_order(
            ndis, ("call", "MiniportHaltEx"), ("return", "MiniportHaltEx", None, "samplemcm")
        )
        for name in ("NdisMCmNotifyCloseAddressFamily", "ProtocolClNotifyCloseAf"):
            records = calls(ndis, name)
            assert len(records) == 2 and all(halt.seq < r.seq < halt_return.seq for r in records)
        expected = [] if completion == "sync" else [NDIS_STATUS_SUCCESS] * 2
        assert host.cm.notify_completions == expected
        unbind = find(ndis, "ProtocolUnbindAdapterEx", driver="sampleclient")
        assert unbind.seq > halt_return.seq
        assert_torn_down(ndis)

    def test_halting_a_co_miniport_adapter_with_a_call_manager(self, completion: str) -> None:
        host = build("cm", completion)
        ndis = host.ndis
        ndis.halt_adapter("atm0")
        *_, client_notify, _, _, halt = in_order(
            ndis,
            ("call", "ProtocolUnbindAdapterEx", None, "samplecallmanager"),
            ("call", "NdisCmNotifyCloseAddressFamily", None, "samplecallmanager"),
            ("call", "ProtocolClNotifyCloseAf", None, "sampleclient"),
            ("return", "ProtocolUnbindAdapterEx", None, "samplecallmanager"),
            ("call", "ProtocolUnbindAdapterEx", None, "sampleclient"),
            ("call", "MiniportHaltEx", None, "samplecominiport"),
        )
        assert inside("ProtocolUnbindAdapterEx", client_notify, ndis)
        handlers = [r for r in ndis.trace if r.kind.value == "handler" and r.phase.value == "call"]
        assert handlers[-1] == halt
        assert_torn_down(ndis)

    def test_unbinding_only_the_call_manager(self, completion: str) -> None:
        host = build("cm", completion)
        ndis = host.ndis
        client_binding = host.binding_handle.label
        ndis.unbind_adapter(ndis.binding("samplecallmanager", "atm0"))
        notify = find(ndis, "NdisCmNotifyCloseAddressFamily", driver="samplecallmanager")
        assert inside("ProtocolUnbindAdapterEx", notify, ndis)
        assert calls(ndis, "ProtocolUnbindAdapterEx", driver="sampleclient") == []
        assert host.client.afs() == []
        assert [b.label for b in ndis.bindings] == ["sampleclient->atm0"]
        timers = tuple(
            t.handle.label for t in ndis.timers
        )  # the still-bound client keeps its timer
        assert_torn_down(ndis, keep=(ndis.adapter("atm0").handle.label, client_binding, *timers))
        ndis.halt_adapter("atm0")
        assert_torn_down(ndis)
