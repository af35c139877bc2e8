"""Incoming calls and incoming drops in the other kind's spelling (CoNdisMcmSpelling).

An MCM dispatches with the NdisMCm* macros and a stand-alone call manager with the
NdisCm* functions (vc_activation.py, `_spelled_for`). NdisCmDispatchIncomingCall and
NdisCmDispatchIncomingDropParty on an MCM's VC, and the NdisMCm* spellings on a
stand-alone call manager's, are refused: BugCheck 0xC4 in strict mode, the host left
as it was, and the right spelling then works. The violation names the VC (for a drop,
the VC of the party's call). test_checks_completion.py covers the other dispatches.

SampleCallManager makes outgoing point-to-point calls only; the stand-alone cases
use it as it is for the offer (it registers SAPs, and the test creates and activates
its VC as the call manager would) and a small subclass for the multipoint call.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    Ndis,
)
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.callmanager import CmVc
from condis.samples.mcm import McmVc, called_party
from util import expect_bugcheck, records

BOB = CO_SAP(SapType=1, Sap=b"bob")
CAROL = CO_SAP(SapType=1, Sap=b"carol")
RULE = "CoNdisMcmSpelling"
ADAPTER = {"mcm": "mcm0", "cm": "atm0"}


def spelled(vc: Any, kind: str, right_kind: str) -> str:
    """The detail of the violation: where the VC is, and the spelling to use."""
    return f"{vc.handle.label} is on {ADAPTER[kind]}; use the {right_kind} spelling"


def offer_host(kind: str) -> tuple[Ndis, Any, SampleClient]:
    """The MCM ('samplemcm') or the miniport and stand-alone call manager
    ('samplecallmanager'), and client bob, who registers SAP 'bob' and pends offers."""
    ndis = Ndis()
    if kind == "mcm":
        cm: Any = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,))
        ndis.load_driver(cm, "samplemcm")
    else:
        ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
        cm = SampleCallManager(ndis)
        ndis.load_driver(cm, "samplecallmanager")
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [BOB]}, incoming="pend")  # type: ignore[arg-type]
    ndis.load_driver(bob, "bob")
    ndis.add_adapter("samplemcm" if kind == "mcm" else "samplecominiport", ADAPTER[kind])
    ndis.run()
    return ndis, cm, bob


def call_managers_vc(ndis: Ndis, kind: str, cm: Any, af_handle: Any) -> Any:
    """A VC the call manager creates on bob's AF and activates, ready for an offer."""
    name = cm.driver_object.DriverName
    with ndis.driver_context(ndis.driver(name)):
        if kind == "mcm":
            (adapter,) = cm.adapters.values()
            vc: Any = McmVc(af=adapter.afs[af_handle], incoming=True)
            status, handle = ndis.NdisMCmCreateVc(adapter.handle, af_handle, vc)
            adapter.vcs[handle] = vc
        else:
            (binding,) = cm.bindings
            vc = CmVc(binding=binding, af=binding.afs[af_handle])
            status, handle = ndis.NdisCoCreateVc(binding.handle, af_handle, vc)
            binding.vcs[handle] = vc
        assert status == NDIS_STATUS_SUCCESS and handle is not None
        vc.handle = handle
        assert cm.activate_vc(vc, called_party(BOB)) == NDIS_STATUS_SUCCESS
    return vc


class TestDispatchIncomingCall:
    def check(self, kind: str, wrong_kind: str, right_kind: str) -> None:
        wrong, right = wrong_kind + "DispatchIncomingCall", right_kind + "DispatchIncomingCall"
        ndis, cm, bob = offer_host(kind)
        af = bob.afs("open")[0]
        sap = af.saps[0].handle
        vc = call_managers_vc(ndis, kind, cm, af.handle)
        name = cm.driver_object.DriverName
        with ndis.driver_context(ndis.driver(name)):
            bc = expect_bugcheck(
                ndis,
                partial(getattr(ndis, wrong), sap, vc.handle, called_party(BOB)),
                RULE,
                wrong,
                name,
                vc.handle.label,
            )
            assert bc.detail == spelled(vc, kind, right_kind)
            assert records(ndis, "ProtocolClIncomingCall") == []
            # the VC was fit for an offer: in the right spelling bob hears of it
            assert getattr(ndis, right)(sap, vc.handle, called_party(BOB)) == NDIS_STATUS_PENDING
        (offered,) = records(ndis, "ProtocolClIncomingCall", "call")
        assert (offered.driver, offered.handle) == ("bob", vc.handle.label)
        assert ndis.check_invariants() == []

    def test_an_mcm_with_ndis_cm_dispatch_incoming_call(self) -> None:
        self.check("mcm", "NdisCm", "NdisMCm")

    def test_a_stand_alone_call_manager_with_ndis_mcm_dispatch_incoming_call(self) -> None:
        self.check("cm", "NdisMCm", "NdisCm")


class MultipointCallManager(SampleCallManager):
    """The sample call manager with point-to-multipoint calls that the network accepts
    at once: the call's VC is activated and the call and each party connect."""

    def ProtocolCmMakeCall(self, CallMgrVcContext: Any, CallParameters: Any, Party: Any) -> Any:
        assert self.activate_vc(CallMgrVcContext, CallParameters) == NDIS_STATUS_SUCCESS
        return NDIS_STATUS_SUCCESS, object()

    def ProtocolCmAddParty(self, CallMgrVcContext: Any, CallParameters: Any, Party: Any) -> Any:
        return NDIS_STATUS_SUCCESS, object()

    def ProtocolCmDropParty(self, CallMgrPartyContext: Any, CloseData: Any, Size: int) -> Any:
        return NDIS_STATUS_SUCCESS


def multipoint_host(kind: str) -> tuple[Ndis, str, Any]:
    """Alice's connected multipoint call to bob with carol added, on the MCM (bob and
    carol are clients with those SAPs) or on MultipointCallManager (no callee clients)."""
    ndis = Ndis()
    if kind == "mcm":
        ndis.load_driver(SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,)), "samplemcm")
        name = "samplemcm"
    else:
        ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
        name = "multipointcm"
        ndis.load_driver(MultipointCallManager(ndis), name)
    alice = SampleClient(ndis)
    ndis.load_driver(alice, "alice")
    if kind == "mcm":
        for sap in (BOB, CAROL):
            callee = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [sap]})
            ndis.load_driver(callee, sap.Sap.decode())
    ndis.add_adapter("samplemcm" if kind == "mcm" else "samplecominiport", ADAPTER[kind])
    ndis.run()
    af = alice.afs("open")[0]
    vc = alice.make_call(af, called_party(BOB), multipoint=True)
    ndis.run()
    assert vc is not None
    alice.add_party(vc, called_party(CAROL))
    ndis.run()
    assert [p.state for p in vc.parties] == ["connected", "connected"]
    return ndis, name, vc


class TestDispatchIncomingDropParty:
    def check(self, kind: str, wrong_kind: str, right_kind: str) -> None:
        drop = "DispatchIncomingDropParty"
        wrong, right = wrong_kind + drop, right_kind + drop
        ndis, name, vc = multipoint_host(kind)
        carol = vc.parties[1].handle
        with ndis.driver_context(ndis.driver(name)):
            bc = expect_bugcheck(
                ndis,
                partial(getattr(ndis, wrong), NDIS_STATUS_SUCCESS, carol, None, 0),
                RULE,
                wrong,
                name,
                vc.handle.label,  # the VC of the party's call
            )
            prefix = right.removesuffix("DispatchIncomingDropParty")
            assert (
                bc.detail == f"{vc.handle.label} is on {ADAPTER[kind]}; use the {prefix} spelling"
            )
            assert records(ndis, "ProtocolClIncomingDropParty") == []
            # in the right spelling alice hears of it, and drops the party
            getattr(ndis, right)(NDIS_STATUS_SUCCESS, carol, None, 0)
        (told,) = records(ndis, "ProtocolClIncomingDropParty", "call")
        assert (told.driver, told.handle) == ("alice", carol.label)
        (dropped,) = records(ndis, "NdisClDropParty", "call")
        assert (dropped.driver, dropped.handle) == ("alice", carol.label)
        ndis.run()
        assert [p.state for p in ndis.parties] == ["connected"]
        assert ndis.check_invariants() == []

    def test_an_mcm_with_ndis_cm_dispatch_incoming_drop_party(self) -> None:
        self.check("mcm", "NdisCm", "NdisMCm")

    def test_a_stand_alone_call_manager_with_ndis_mcm_dispatch_incoming_drop_party(self) -> None:
        self.check("cm", "NdisMCm", "NdisCm")
