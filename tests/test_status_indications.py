"""Miniport status indications: NdisMCoIndicateStatusEx -> ProtocolCoStatusEx (status_ind.py).

Without a VC the indication reaches every bound protocol; with a VC only the protocols sharing
it (its client and a stand-alone call manager). The hosts and trace
helpers are hosts/oid.py's.
"""

from __future__ import annotations

import pytest

from condis import HIGH_LEVEL, NDIS_STATUS_MEDIA_CONNECT, Mode
from condis.status_ind import NDIS_STATUS_INDICATION
from hosts.oid import calls_since, cm_host, mcm_host
from util import mark_of


def indication() -> NDIS_STATUS_INDICATION:
    return NDIS_STATUS_INDICATION(StatusCode=NDIS_STATUS_MEDIA_CONNECT)


class TestStatusIndications:
    """NdisMCoIndicateStatusEx -> ProtocolCoStatusEx of every bound protocol, or of the
    protocols that share the VC."""

    def test_no_vc_reaches_every_bound_protocol(self) -> None:
        h = mcm_host()
        ndis, status = h.ndis, indication()
        mark = mark_of(ndis)
        ndis.NdisMCoIndicateStatusEx(h.adapter, None, status)
        alice, bob = h.binding.label, h.bob.bindings[0].handle.label
        assert [c[:4] for c in calls_since(ndis, mark)] == [
            ("call", "NdisMCoIndicateStatusEx", "samplemcm", h.adapter.label),
            ("call", "ProtocolCoStatusEx", "alice", alice),
            ("return", "ProtocolCoStatusEx", "alice", alice),
            ("call", "ProtocolCoStatusEx", "bob", bob),
            ("return", "ProtocolCoStatusEx", "bob", bob),
            ("return", "NdisMCoIndicateStatusEx", "samplemcm", h.adapter.label),
        ]
        assert h.alice.indications == [(None, status)]
        assert h.bob.indications == [(None, status)]

    def test_a_vc_reaches_only_its_client(self) -> None:
        h = mcm_host()
        vc = h.alice.create_vc(h.q2931)
        assert vc is not None
        status = indication()
        mark = mark_of(h.ndis)
        h.ndis.NdisMCoIndicateStatusEx(h.adapter, vc.handle, status)
        assert [c[1:3] for c in calls_since(h.ndis, mark) if c[0] == "call"] == [
            ("NdisMCoIndicateStatusEx", "samplemcm"),
            ("ProtocolCoStatusEx", "alice"),
        ]
        assert h.alice.indications == [(vc, status)]
        assert h.bob.indications == []

    def test_a_vc_reaches_client_and_stand_alone_call_manager(self) -> None:
        h = cm_host()
        vc = h.alice.create_vc(h.af)
        assert vc is not None
        (cm_vc,) = h.cm_binding.vcs.values()
        adapter = h.ndis.adapter("atm0").handle
        status = indication()
        h.ndis.NdisMCoIndicateStatusEx(adapter, vc.handle, status)
        assert h.alice.indications == [(vc, status)]
        assert h.cm.indications == [(cm_vc, status)]
        h.ndis.NdisMCoIndicateStatusEx(adapter, None, status)
        assert h.alice.indications[-1] == (None, status)
        assert h.cm.indications[-1] == (None, status)

    def test_bad_arguments(self) -> None:
        h = mcm_host()
        with pytest.raises(
            TypeError,
            match=r"^NdisMCoIndicateStatusEx: StatusIndication must be an "
            r"NDIS_STATUS_INDICATION, not int$",
        ):
            h.ndis.NdisMCoIndicateStatusEx(h.adapter, None, 0)

    def test_above_dispatch_level(self) -> None:
        """Irql_MCO_Function. Collecting, the indication goes on as it would on Windows:
        NDIS calls the protocols' ProtocolCoStatusEx at the level it was called at."""
        h = mcm_host()
        h.ndis.verifier.mode = Mode.COLLECT
        status, mark = indication(), mark_of(h.ndis)
        with h.ndis.driver_context(h.ndis.driver("samplemcm"), HIGH_LEVEL):
            h.ndis.NdisMCoIndicateStatusEx(h.adapter, None, status)
        (violation,) = h.ndis.verifier.violations
        assert (violation.rule, violation.ddi, violation.driver) == (
            "Irql_MCO_Function",
            "NdisMCoIndicateStatusEx",
            "samplemcm",
        )
        handlers = [r for r in h.ndis.trace if r.seq > mark and r.name == "ProtocolCoStatusEx"]
        assert [(r.driver, r.irql) for r in handlers if r.phase.value == "call"] == [
            ("alice", HIGH_LEVEL),
            ("bob", HIGH_LEVEL),
        ]
        assert h.alice.indications == [(None, status)]
