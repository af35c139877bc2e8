"""Hosts and drivers for the OID request and status indication tests.

`mcm_host` builds an MCM offering Q.2931 and PSCHED to clients alice and bob;
`cm_host` a plain CoNDIS miniport with a call manager that pends and records
OID requests; the helpers read the trace after a mark.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_PSCHED,
    CO_ADDRESS_FAMILY_Q2931,
    NDIS_STATUS_PENDING,
    BugCheck,
    Ndis,
)
from condis.oid import NDIS_OID_REQUEST
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.mcm import OID_SAMPLE_LINK_SPEED
from hosts.paths import SAP_BOB


def query(oid: int = OID_SAMPLE_LINK_SPEED) -> NDIS_OID_REQUEST:
    return NDIS_OID_REQUEST(Oid=oid)


def calls_since(ndis: Ndis, mark: int) -> list[tuple[str, str, str | None, str | None, Any]]:
    """(phase, name, driver, handle, status) of every record since `mark`."""
    return [
        (r.phase.value, r.name, r.driver, r.handle, r.status) for r in ndis.trace if r.seq > mark
    ]


def bugcheck(ndis: Ndis, run: Any, code: int, rule: str, ddi: str, driver: str) -> BugCheck:
    """`run()` raises the bug check from test code and leaves the host as it was."""
    before = ndis.snapshot()
    pending = ndis.pending_oid_requests
    with pytest.raises(BugCheck) as info:
        run()
    bc = info.value
    assert (bc.code, bc.rule, bc.ddi, bc.driver) == (code, rule, ddi, driver)
    assert ndis.snapshot() == before
    assert ndis.pending_oid_requests == pending
    assert ndis.crashed is None
    return bc


class ParkingMcm(SampleMcm):
    """Pends every OID request, to both halves, and keeps them for the test."""

    def MiniportCoOidRequest(self, MiniportAdapterContext: Any, Vc: Any, Request: Any) -> Any:
        self.parked = [*getattr(self, "parked", []), Request]
        return NDIS_STATUS_PENDING

    def ProtocolCoOidRequest(self, Af: Any, Vc: Any, Party: Any, OidRequest: Any) -> Any:
        self.parked = [*getattr(self, "parked", []), OidRequest]
        return NDIS_STATUS_PENDING


class OidCallManager(SampleCallManager):
    """The sample call manager with the OID and status handlers it lacks: it pends client
    requests, and records completions of its own and status indications."""

    def ProtocolCoOidRequest(self, Af: Any, Vc: Any, Party: Any, OidRequest: Any) -> Any:
        self.parked = [*getattr(self, "parked", []), OidRequest]
        return NDIS_STATUS_PENDING

    def ProtocolCoOidRequestComplete(
        self, Af: Any, Vc: Any, Party: Any, OidRequest: Any, Status: Any
    ) -> None:
        self.results = [*getattr(self, "results", []), (OidRequest, Status)]

    def ProtocolCoStatusEx(self, Binding: Any, Vc: Any, StatusIndication: Any) -> None:
        self.indications = [*getattr(self, "indications", []), (Vc, StatusIndication)]


def mcm_host(
    *, completion: str = "sync", mcm: type[SampleMcm] = SampleMcm, alice: type = SampleClient
) -> SimpleNamespace:
    """An MCM offering Q.2931 and PSCHED on 'mcm0', clients alice and bob (both open both)."""
    ndis = Ndis()
    families = (CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED)
    ndis.load_driver(mcm(ndis, address_families=families, completion=completion), "samplemcm")  # type: ignore[arg-type]
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP_BOB]})
    h = SimpleNamespace(ndis=ndis, alice=alice(ndis), bob=bob)
    ndis.load_driver(h.alice, "alice")
    ndis.load_driver(h.bob, "bob")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    h.mcm = ndis.driver("samplemcm").code
    h.binding = h.alice.bindings[0].handle
    h.q2931, h.psched = h.alice.afs("open")
    h.adapter = ndis.adapter("mcm0").handle
    return h


def cm_host(*, client: type = SampleClient) -> SimpleNamespace:
    """A plain CoNDIS miniport ('atm0'), OidCallManager ('oidcm') and client alice."""
    ndis = Ndis()
    ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
    h = SimpleNamespace(ndis=ndis, cm=OidCallManager(ndis), alice=client(ndis))
    ndis.load_driver(h.cm, "oidcm")
    ndis.load_driver(h.alice, "alice")
    ndis.add_adapter("samplecominiport", "atm0")
    ndis.run()
    h.af = h.alice.afs("open")[0]
    (h.cm_binding,) = h.cm.bindings
    (h.cm_af,) = h.cm_binding.afs.values()
    return h
