"""Bad input never escapes as condis's own exception, never hangs, never changes state.

Each case here was an escape, a hang or a silent corruption: NBL and
NET_BUFFER chains that are cyclic or hold the wrong types, statuses out of
the 32-bit range, objects of another host given to host operations, and a
VC created on an AF whose close is under way.
"""

from __future__ import annotations

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    DISPATCH_LEVEL,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_PENDING,
    Mode,
    Ndis,
)
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm_state import called_party
from condis.structs import CO_SAP, NET_BUFFER, NET_BUFFER_LIST

SAP = CO_SAP(SapType=1, Sap=b"bob")


def connected(
    completion: str = "sync", mode: Mode = Mode.STRICT, mcm_class: type[SampleMcm] = SampleMcm
) -> tuple[Ndis, SampleClient, object]:
    ndis = Ndis(mode=mode)
    mcm = mcm_class(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion=completion)
    alice = SampleClient(ndis)
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})
    for driver, name in ((mcm, "samplemcm"), (alice, "alice"), (bob, "bob")):
        ndis.load_driver(driver, name)
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    vc = alice.make_call(alice.afs("open")[0], called_party(SAP))
    ndis.run()
    assert vc is not None and vc.call == "connected"
    return ndis, alice, vc


def _cyclic_nbls(vc_handle: object) -> NET_BUFFER_LIST:
    a = NET_BUFFER_LIST.of(b"a", SourceHandle=vc_handle)  # type: ignore[arg-type]
    b = NET_BUFFER_LIST.of(b"b", SourceHandle=vc_handle)  # type: ignore[arg-type]
    a.Next, b.Next = b, a
    return a


def _cyclic_buffers(vc_handle: object) -> NET_BUFFER_LIST:
    nb = NET_BUFFER(b"x")
    nb.Next = nb
    return NET_BUFFER_LIST(FirstNetBuffer=nb, SourceHandle=vc_handle)  # type: ignore[arg-type]


BAD_CHAINS = {
    "cyclic NBLs": (_cyclic_nbls, ValueError, "NetBufferLists is a cycle"),
    "cyclic NET_BUFFERs": (_cyclic_buffers, ValueError, "NET_BUFFERs form a cycle"),
    "a Next that is not an NBL": (
        lambda h: NET_BUFFER_LIST(Next="x", SourceHandle=h),  # type: ignore[arg-type]
        TypeError,
        r"NetBufferLists\[1\] \(a Next link\) must be a NET_BUFFER_LIST",
    ),
    "a FirstNetBuffer that is not a NET_BUFFER": (
        lambda h: NET_BUFFER_LIST(FirstNetBuffer="nb", SourceHandle=h),  # type: ignore[arg-type]
        TypeError,
        r"FirstNetBuffer, buffer 0, must be a NET_BUFFER",
    ),
    "Data that is not bytes": (
        lambda h: NET_BUFFER_LIST(FirstNetBuffer=NET_BUFFER(Data=7), SourceHandle=h),  # type: ignore[arg-type]
        TypeError,
        r"Data must be bytes",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CHAINS))
@pytest.mark.parametrize(
    "ddi",
    [
        "NdisCoSendNetBufferLists",
        "NdisMCoSendNetBufferListsComplete",
        "NdisMCoIndicateReceiveNetBufferLists",
        "NdisReturnNetBufferLists",
    ],
)
def test_a_bad_chain_is_refused_before_anything_happens(case: str, ddi: str) -> None:
    ndis, alice, vc = connected()
    make, error, words = BAD_CHAINS[case]
    chain = make(vc.handle)  # type: ignore[attr-defined]
    before, seen = ndis.snapshot(), len(ndis.trace)
    args: tuple[object, ...]
    if ddi in ("NdisCoSendNetBufferLists", "NdisMCoSendNetBufferListsComplete"):
        args = (vc.handle, chain, 0)  # type: ignore[attr-defined]
    elif ddi == "NdisMCoIndicateReceiveNetBufferLists":
        args = (vc.handle, chain, 1, 0)  # type: ignore[attr-defined]
    else:
        args = (alice.bindings[0].handle, chain, 0)
    with pytest.raises(error, match=f"^{ddi}: .*{words}"):
        getattr(ndis, ddi)(*args)
    assert ndis.snapshot() == before and len(ndis.trace) == seen
    assert ndis.check_invariants() == []


@pytest.mark.parametrize(
    ("ddi", "status_param"),
    [("NdisMCmDispatchIncomingCloseCall", "CloseStatus")],
)
def test_a_status_out_of_range_is_refused_before_the_call_moves(
    ddi: str, status_param: str
) -> None:
    ndis, _alice, _vc = connected()
    bob_vc = ndis.vcs[-1]
    before = ndis.snapshot()
    with pytest.raises(
        ValueError, match=f"^{ddi}: {status_param} 0x100000000 is not an NDIS_STATUS"
    ):
        getattr(ndis, ddi)(1 << 32, bob_vc.handle, None, 0)
    assert ndis.snapshot() == before


def test_driver_context_takes_only_a_driver_of_this_host() -> None:
    ndis, _alice, _vc = connected()
    other = Ndis()
    other.load_driver(SampleClient(other), "carol")
    with pytest.raises(TypeError, match=r"^driver_context: driver must be a loaded driver"):
        ndis.driver_context(7)  # type: ignore[arg-type]
    with pytest.raises(KeyError, match=r"driver_context: no driver named 'nobody' is loaded"):
        ndis.driver_context("nobody")
    with pytest.raises(
        ValueError, match=r"^driver_context: 'carol' is not a driver loaded on this host"
    ):
        ndis.driver_context(other.driver("carol"))
    with ndis.driver_context("alice"):
        pass


def test_host_operations_reject_another_hosts_objects() -> None:
    ndis, _alice, _vc = connected()
    other, _, _ = connected()
    before = ndis.snapshot(), other.snapshot()
    with pytest.raises(
        ValueError, match=r"^add_adapter: 'samplemcm' is not a driver loaded on this host"
    ):
        ndis.add_adapter(other.driver("samplemcm"), "stolen")
    with pytest.raises(ValueError, match=r"^halt_adapter: 'mcm0' is not an adapter of this host"):
        ndis.halt_adapter(other.adapter("mcm0"))
    with pytest.raises(ValueError, match="is not a binding of this host"):
        ndis.unbind_adapter(other.bindings[0])
    assert (ndis.snapshot(), other.snapshot()) == before


def test_an_mcm_cannot_create_a_vc_on_an_af_whose_close_is_under_way() -> None:
    ndis, alice, vc = connected(completion="pended")
    alice.close_call(vc)  # type: ignore[arg-type]
    ndis.run()
    alice.delete_vc(vc)  # type: ignore[arg-type]
    ndis.run()
    af = alice.afs("open")[0]
    assert alice.close_af(af) == NDIS_STATUS_PENDING  # the MCM completes it from a work item
    before = ndis.snapshot()
    status = ndis.NdisMCmCreateVc(ndis.adapter("mcm0").handle, af.handle, object())
    assert status == (NDIS_STATUS_FAILURE, None)
    assert ndis.snapshot() == before
    ndis.run()
    assert ndis.check_invariants() == [] and af.state == "closed"


def test_data_on_a_vc_whose_creator_has_unbound_is_refused_in_collect_mode() -> None:
    """The call manager leaves its own VC behind when it unbinds (reported at the
    close); the VC has no protocol end, so data indicated on it is refused."""
    from buggy.cm_keeps_signalling_vc import LeakyVcCallManager
    from condis.samples import SampleCoMiniport

    ndis = Ndis(mode=Mode.COLLECT)
    ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
    cm = LeakyVcCallManager(ndis)
    ndis.load_driver(cm, "leaky")
    ndis.add_adapter("samplecominiport", "atm0")
    ndis.run()
    (vc,) = ndis.vcs
    ndis.unbind_adapter(ndis.bindings[0])
    ndis.run()
    assert "CoNdisVcOpenOnTeardown" in {v.rule for v in ndis.verifier.violations}
    assert ndis.bindings == ()
    nbl = NET_BUFFER_LIST.of(b"late", SourceHandle=vc.handle)
    with ndis.driver_context("samplecominiport", DISPATCH_LEVEL):
        ndis.NdisMCoIndicateReceiveNetBufferLists(vc.handle, nbl, 1, 0)
    last = ndis.verifier.violations[-1]
    assert last.rule == "NdisHandleStale" and "no longer bound to atm0" in last.detail


def test_a_characteristics_structure_without_a_header_is_a_type_error() -> None:
    from condis.structs import NDIS_MINIPORT_DRIVER_CHARACTERISTICS

    ndis = Ndis()

    class Headless:
        def DriverEntry(self, DriverObject: object, RegistryPath: object) -> object:
            chars = NDIS_MINIPORT_DRIVER_CHARACTERISTICS()
            chars.Header = None  # type: ignore[assignment]
            return ndis.NdisMRegisterMiniportDriver(DriverObject, RegistryPath, None, chars)[0]

    with pytest.raises(
        TypeError,
        match=r"^NdisMRegisterMiniportDriver: MiniportDriverCharacteristics.Header must be an "
        r"NDIS_OBJECT_HEADER, not NoneType$",
    ):
        ndis.load_driver(Headless(), "headless")


def test_the_sample_client_survives_a_call_manager_that_refuses_every_close() -> None:
    """It used to ask again at once, for ever (RecursionError); now it asks once and
    leaves the AF closing, the call up, for the call manager to settle."""
    from condis import NDIS_STATUS_FAILURE as FAILURE

    class Stubborn(SampleMcm):
        def ProtocolCmCloseCall(self, *args: object) -> object:
            return FAILURE

    ndis, alice, vc = connected(mode=Mode.COLLECT, mcm_class=Stubborn)
    af = alice.afs("open")[0]
    assert alice.close_af(af) == NDIS_STATUS_PENDING
    ndis.run()
    assert af.state == "closing" and vc.call == "connected" and vc.close_refused
    closes = [r for r in ndis.trace if r.name == "NdisClCloseCall" and r.phase.value == "call"]
    assert len(closes) == 1
    assert ndis.check_invariants() == []


def test_only_a_vcs_ends_name_it_or_read_its_tapi_id() -> None:
    from condis import VAR_STRING, BugCheck

    ndis, _alice, vc = connected()
    carol = SampleClient(ndis)
    ndis.load_driver(carol, "carol")
    ndis.run()
    before = ndis.snapshot()
    with ndis.driver_context("carol", DISPATCH_LEVEL), pytest.raises(BugCheck) as info:
        ndis.NdisCoAssignInstanceName(vc.handle, "stolen")  # type: ignore[attr-defined]
    assert info.value.rule == "NdisHandleForeign" and "not carol" in info.value.detail
    with ndis.driver_context("carol", DISPATCH_LEVEL), pytest.raises(BugCheck) as info:
        ndis.NdisCoGetTapiCallId(vc.handle, VAR_STRING(ulTotalSize=256))  # type: ignore[attr-defined]
    assert info.value.rule == "NdisHandleForeign"
    assert ndis.snapshot() == before
    with ndis.driver_context("alice", DISPATCH_LEVEL):
        status, name = ndis.NdisCoAssignInstanceName(vc.handle, "mine")  # type: ignore[attr-defined]
    assert status == 0 and name is not None and name.startswith("mine")


def test_a_spin_lock_works_on_its_own_host_only() -> None:
    ndis, _alice, _vc = connected()
    other, _, _ = connected()
    with other.driver_context("alice"):
        lock = other.NdisAllocateSpinLock()
    with (
        ndis.driver_context("alice"),
        pytest.raises(
            ValueError,
            match=r"^NdisAcquireSpinLock: SpinLock NDIS_SPIN_LOCK#1 was allocated by another host$",
        ),
    ):
        ndis.NdisAcquireSpinLock(lock)


def test_the_sample_mcm_completes_its_sends_before_it_deletes_a_vc() -> None:
    """A client closes a call with a send still out (its mistake): the sample MCM, which
    completes sends from work items, deletes the callee's VC only after completing it."""
    from buggy.client_hangs_up_with_sends_out import factory as goodbye
    from condis.verify import plan, run_one

    variants = [
        v
        for v in plan("client", schedules=2)
        if v.setup.peers == "pended" and v.setup.stop == "end"
    ]
    for variant in variants:
        run = run_one(goodbye, variant)
        assert run.report.totals() == {"CoNdisCloseCallWithSends": 1}, variant.name


def test_another_drivers_vc_name_request_returns_failure_in_collect_mode() -> None:
    from condis import NDIS_STATUS_FAILURE, NDIS_STATUS_INVALID_DATA, VAR_STRING

    ndis, _alice, vc = connected(mode=Mode.COLLECT)
    ndis.load_driver(SampleClient(ndis), "carol")
    ndis.run()
    with ndis.driver_context("carol", DISPATCH_LEVEL):
        named = ndis.NdisCoAssignInstanceName(vc.handle, "stolen")  # type: ignore[attr-defined]
        tapi = ndis.NdisCoGetTapiCallId(vc.handle, VAR_STRING(ulTotalSize=256))  # type: ignore[attr-defined]
    assert named == (NDIS_STATUS_FAILURE, None) and tapi == NDIS_STATUS_INVALID_DATA
    returns = [
        (r.name, r.driver, r.status)
        for r in ndis.trace
        if r.phase.value == "return"
        and r.name in ("NdisCoAssignInstanceName", "NdisCoGetTapiCallId")
    ]
    assert returns == [
        ("NdisCoAssignInstanceName", "carol", NDIS_STATUS_FAILURE),
        ("NdisCoGetTapiCallId", "carol", NDIS_STATUS_INVALID_DATA),
    ]
    assert [v.rule for v in ndis.verifier.violations] == ["NdisHandleForeign"] * 2
    assert ndis.check_invariants() == []
