"""Ndis.check_invariants: the host's tables agree after every step.

conftest.py checks every host at the end of every test; these tests check
after every single scheduler step of whole call lifecycles under many
interleavings, and show that a corrupted table is caught.
"""

from __future__ import annotations

import pytest

from condis import CO_ADDRESS_FAMILY_Q2931, CO_SAP, NDIS_STATUS_PENDING, Ndis, RandomPolicy
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm import called_party


def run_checked(ndis: Ndis) -> int:
    """ndis.run(), one step at a time, checking the invariants after each."""
    steps = 0
    assert ndis.check_invariants() == []
    while ndis.step() is not None:
        steps += 1
        assert ndis.check_invariants() == [], f"after step {steps}"
    return steps


@pytest.mark.parametrize("seed", range(12))
def test_a_whole_call_keeps_the_invariants_at_every_step(seed: int) -> None:
    ndis = Ndis(policy=RandomPolicy(seed))
    sap = CO_SAP(SapType=1, Sap=b"bob")
    mcm = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion="pended")
    alice, bob = SampleClient(ndis), SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [sap]})
    for driver, name in ((mcm, "samplemcm"), (alice, "alice"), (bob, "bob")):
        ndis.load_driver(driver, name)
    ndis.add_adapter("samplemcm", "mcm0")
    run_checked(ndis)
    vc = alice.make_call(alice.afs("open")[0], called_party(sap))
    assert vc is not None
    run_checked(ndis)
    assert vc.call == "connected"
    alice.send(vc, b"one", b"two")
    bob.send(bob.afs("open")[0].vcs[0], b"three")
    run_checked(ndis)
    alice.close_call(vc)
    run_checked(ndis)
    alice.delete_vc(vc)
    for client in (alice, bob):
        for af in client.afs("open"):
            client.close_af(af)
    steps = run_checked(ndis)
    assert steps > 0
    ndis.halt_adapter("mcm0")
    assert ndis.check_invariants() == []
    assert ndis.verifier.violations == []


def open_host() -> tuple[Ndis, SampleClient]:
    ndis = Ndis()
    mcm = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,))
    client = SampleClient(ndis)
    ndis.load_driver(mcm, "samplemcm")
    ndis.load_driver(client, "sampleclient")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    return ndis, client


def test_a_handle_closed_behind_ndis_back_is_caught() -> None:
    ndis, client = open_host()
    af = client.afs("open")[0]
    assert af.handle is not None
    record = ndis.handles.lookup(af.handle)
    ndis.handles.close(af.handle)  # as no DDI would: the AF is still open for both sides
    broken = ndis.check_invariants()
    assert any(af.handle.label in line and "closed" in line for line in broken), broken
    ndis.handles.reopen(af.handle, record)
    assert ndis.check_invariants() == []


def test_a_vc_handle_closed_behind_ndis_back_is_caught() -> None:
    ndis, client = open_host()
    vc = client.create_vc(client.afs("open")[0])
    assert vc is not None and vc.handle is not None
    record = ndis.handles.lookup(vc.handle)
    ndis.handles.close(vc.handle)
    assert ndis.check_invariants() == [f"{vc.handle.label} is listed as live but is deleted"]
    ndis.handles.reopen(vc.handle, record)
    assert ndis.check_invariants() == []


def test_an_operation_outstanding_on_a_closed_handle_is_caught() -> None:
    ndis = Ndis()
    sap = CO_SAP(SapType=1, Sap=b"bob")
    mcm = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion="pended")
    alice, bob = SampleClient(ndis), SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [sap]})
    for driver, name in ((mcm, "samplemcm"), (alice, "alice"), (bob, "bob")):
        ndis.load_driver(driver, name)
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    vc = alice.make_call(alice.afs("open")[0], called_party(sap))
    ndis.run()
    assert vc is not None and vc.handle is not None
    assert alice.modify_qos(vc, called_party(sap)) == NDIS_STATUS_PENDING
    (op,) = ndis.operations
    record = ndis.handles.lookup(vc.handle)
    ndis.handles.close(vc.handle)  # as no DDI would: the VC still carries the call
    broken = ndis.check_invariants()
    assert (
        f"modify-qos operation #{op.id} is outstanding on {vc.handle.label}, "
        "which no longer stands for a live object"
    ) in broken
    ndis.handles.reopen(vc.handle, record)
    ndis.run()
    assert (ndis.operations, ndis.check_invariants()) == ((), [])
