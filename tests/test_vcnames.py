"""Names for VCs (vcnames.py): TAPI call IDs and WMI instance names.

NdisCoGetTapiCallId fills a VAR_STRING with the UTF-16LE string "VC:<n>" and a NUL;
NdisClGetProtocolVcContextFromTapiCallId turns such a string back into the calling
client's VC context; NdisCoAssignInstanceName names a VC "<base> #<k>". Their pages
give the IRQL as DISPATCH_LEVEL exactly, so every call here runs inside
ndis.driver_context(block, DISPATCH_LEVEL).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    DISPATCH_LEVEL,
    DRIVER_VERIFIER_DETECTED_VIOLATION,
    NDIS_STATUS_BUFFER_TOO_SHORT,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    BugCheck,
    Ndis,
)
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.mcm import called_party
from condis.vcnames import STRINGFORMAT_UNICODE, VAR_STRING

HEADER = 24  # VAR_STRING's six ULONGs
BOB = CO_SAP(SapType=1, Sap=b"bob")


def tapi_string(vc_handle: Any) -> bytes:
    return f"VC:{vc_handle.serial}\0".encode("utf-16-le")


def cm_host(*adapters: str) -> SimpleNamespace:
    """A plain CoNDIS miniport with `adapters` (default 'atm0'), the sample call manager and
    two sample clients, alice and bob, each with the call manager's AF open on each."""
    ndis = Ndis()
    ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
    ndis.load_driver(SampleCallManager(ndis), "samplecallmanager")
    h = SimpleNamespace(ndis=ndis, alice=SampleClient(ndis), bob=SampleClient(ndis))
    ndis.load_driver(h.alice, "alice")
    ndis.load_driver(h.bob, "bob")
    for name in adapters or ("atm0",):
        ndis.add_adapter("samplecominiport", name)
    ndis.run()
    return h


def at_dispatch(ndis: Ndis, driver: str) -> Any:
    return ndis.driver_context(ndis.driver(driver), DISPATCH_LEVEL)


def new_vc(client: SampleClient, index: int = 0) -> Any:
    vc = client.create_vc(client.afs("open")[index])
    assert vc is not None and vc.handle is not None
    return vc


def records(ndis: Ndis, name: str) -> list[tuple[str, str | None, Any, Any, str | None]]:
    return [
        (r.phase.value, r.driver, r.irql, r.status, r.result) for r in ndis.trace if r.name == name
    ]


class TestGetTapiCallId:
    """NdisCoGetTapiCallId."""

    def test_success_fills_the_var_string(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        text = tapi_string(vc.handle)
        out = VAR_STRING(ulTotalSize=100)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoGetTapiCallId(vc.handle, out) == NDIS_STATUS_SUCCESS
        assert out == VAR_STRING(
            ulTotalSize=100,
            ulNeededSize=HEADER + len(text),
            ulUsedSize=HEADER + len(text),
            ulStringFormat=STRINGFORMAT_UNICODE,
            ulStringSize=len(text),
            ulStringOffset=HEADER,
            String=text,
        )
        assert out.String.decode("utf-16-le") == f"VC:{vc.handle.serial}\0"
        assert records(h.ndis, "NdisCoGetTapiCallId") == [
            ("call", "alice", DISPATCH_LEVEL, None, None),
            ("return", "alice", DISPATCH_LEVEL, NDIS_STATUS_SUCCESS, None),
        ]

    def test_exactly_big_enough(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        size = HEADER + len(tapi_string(vc.handle))
        out = VAR_STRING(ulTotalSize=size)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoGetTapiCallId(vc.handle, out) == NDIS_STATUS_SUCCESS
        assert out.ulUsedSize == size

    def test_buffer_too_short_says_what_is_needed(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        needed = HEADER + len(tapi_string(vc.handle))
        out = VAR_STRING(ulTotalSize=needed - 1)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoGetTapiCallId(vc.handle, out) == NDIS_STATUS_BUFFER_TOO_SHORT
        assert out.ulNeededSize == needed
        assert (out.ulStringSize, out.String) == (0, b"")
        # a second try with ulTotalSize = ulNeededSize succeeds
        out.ulTotalSize = out.ulNeededSize
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoGetTapiCallId(vc.handle, out) == NDIS_STATUS_SUCCESS

    def test_a_deleted_vc_is_invalid_data(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        assert h.alice.delete_vc(vc) == NDIS_STATUS_SUCCESS
        out = VAR_STRING(ulTotalSize=100)
        before = h.ndis.snapshot()
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoGetTapiCallId(vc.handle, out) == NDIS_STATUS_INVALID_DATA
        assert out == VAR_STRING(ulTotalSize=100)
        assert h.ndis.snapshot() == before and h.ndis.crashed is None

    def test_the_ids_of_two_vcs_differ(self) -> None:
        h = cm_host()
        first, second = new_vc(h.alice), new_vc(h.alice)
        strings = []
        for vc in (first, second):
            out = VAR_STRING(ulTotalSize=100)
            with at_dispatch(h.ndis, "alice"):
                h.ndis.NdisCoGetTapiCallId(vc.handle, out)
            strings.append(out.String)
        assert strings[0] != strings[1]

    def test_at_passive_level_is_an_irql_violation(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        out = VAR_STRING(ulTotalSize=100)
        with pytest.raises(BugCheck) as info:
            h.ndis.NdisCoGetTapiCallId(vc.handle, out)
        bc = info.value
        assert (bc.code, bc.rule, bc.ddi, bc.driver) == (
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            "Irql_Connection_Function",
            "NdisCoGetTapiCallId",
            "alice",
        )
        assert str(PASSIVE_LEVEL) in bc.detail
        assert out == VAR_STRING(ulTotalSize=100)

    def test_bad_arguments(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        with pytest.raises(
            TypeError, match=r"^NdisCoGetTapiCallId: TapiCallId must be a VAR_STRING, not int$"
        ):
            h.ndis.NdisCoGetTapiCallId(vc.handle, 100)


class TestProtocolVcContextFromTapiCallId:
    """NdisClGetProtocolVcContextFromTapiCallId."""

    def test_round_trip_returns_the_clients_context(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        out = VAR_STRING(ulTotalSize=100)
        with at_dispatch(h.ndis, "alice"):
            h.ndis.NdisCoGetTapiCallId(vc.handle, out)
            text = out.String.decode("utf-16-le")
            status, context = h.ndis.NdisClGetProtocolVcContextFromTapiCallId(text)
        assert status == NDIS_STATUS_SUCCESS and context is vc
        name = "NdisClGetProtocolVcContextFromTapiCallId"
        assert [r[:4] for r in records(h.ndis, name)] == [
            ("call", "alice", DISPATCH_LEVEL, None),
            ("return", "alice", DISPATCH_LEVEL, NDIS_STATUS_SUCCESS),
        ]

    def test_a_vc_the_call_manager_created_for_an_incoming_call(self) -> None:
        # The client's context is the one its ProtocolCoCreateVc gave NDIS.
        ndis = Ndis()
        ndis.load_driver(SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,)), "mcm")
        alice = SampleClient(ndis)
        bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [BOB]})
        ndis.load_driver(alice, "alice")
        ndis.load_driver(bob, "bob")
        ndis.add_adapter("mcm", "mcm0")
        ndis.run()
        alice.make_call(alice.afs("open")[0], called_party(BOB))
        ndis.run()
        (incoming,) = bob.afs("open")[0].vcs
        assert incoming.incoming
        with at_dispatch(ndis, "bob"):
            got = ndis.NdisClGetProtocolVcContextFromTapiCallId(f"VC:{incoming.handle.serial}")
        assert got == (NDIS_STATUS_SUCCESS, incoming)

    @pytest.mark.parametrize("text", ["VC:999", "", "vc:1", "VC:1 "])
    def test_an_unknown_id_fails(self, text: str) -> None:
        h = cm_host()
        new_vc(h.alice)
        with at_dispatch(h.ndis, "alice"):
            got = h.ndis.NdisClGetProtocolVcContextFromTapiCallId(text)
        assert got == (NDIS_STATUS_FAILURE, None)

    def test_another_clients_vc_fails(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        with at_dispatch(h.ndis, "bob"):
            got = h.ndis.NdisClGetProtocolVcContextFromTapiCallId(f"VC:{vc.handle.serial}")
        assert got == (NDIS_STATUS_FAILURE, None)
        with at_dispatch(h.ndis, "alice"):
            got = h.ndis.NdisClGetProtocolVcContextFromTapiCallId(f"VC:{vc.handle.serial}")
        assert got == (NDIS_STATUS_SUCCESS, vc)

    def test_a_deleted_vc_fails(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        text = f"VC:{vc.handle.serial}"
        h.alice.delete_vc(vc)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisClGetProtocolVcContextFromTapiCallId(text) == (
                NDIS_STATUS_FAILURE,
                None,
            )

    def test_bad_arguments(self) -> None:
        h = cm_host()
        with pytest.raises(
            TypeError,
            match=r"^NdisClGetProtocolVcContextFromTapiCallId: TapiCallId must be a str "
            r"\(a UNICODE_STRING\), not bytes$",
        ):
            h.ndis.NdisClGetProtocolVcContextFromTapiCallId(b"VC:1")


class TestAssignInstanceName:
    """NdisCoAssignInstanceName."""

    def test_names_count_the_vcs_named_on_the_adapter(self) -> None:
        h = cm_host()
        first, second = new_vc(h.alice), new_vc(h.bob)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoAssignInstanceName(first.handle, "ATM VC") == (
                NDIS_STATUS_SUCCESS,
                "ATM VC #1",
            )
        with at_dispatch(h.ndis, "bob"):
            assert h.ndis.NdisCoAssignInstanceName(second.handle, "ATM VC") == (
                NDIS_STATUS_SUCCESS,
                "ATM VC #2",
            )
        assert records(h.ndis, "NdisCoAssignInstanceName")[1] == (
            "return",
            "alice",
            DISPATCH_LEVEL,
            NDIS_STATUS_SUCCESS,
            "ATM VC #1",
        )

    def test_a_named_vc_keeps_its_name(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        with at_dispatch(h.ndis, "alice"):
            first = h.ndis.NdisCoAssignInstanceName(vc.handle, "ATM VC")
            again = h.ndis.NdisCoAssignInstanceName(vc.handle, "Another base")
        assert first == again == (NDIS_STATUS_SUCCESS, "ATM VC #1")
        other = new_vc(h.alice)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoAssignInstanceName(other.handle, "ATM VC")[1] == "ATM VC #2"

    def test_each_adapter_counts_its_own(self) -> None:
        h = cm_host("atm0", "atm1")
        on_atm0 = new_vc(h.alice, 0)
        on_atm1 = new_vc(h.alice, 1)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoAssignInstanceName(on_atm0.handle, "VC")[1] == "VC #1"
            assert h.ndis.NdisCoAssignInstanceName(on_atm1.handle, "VC")[1] == "VC #1"

    def test_resources_when_ndis_cannot_allocate(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        h.ndis.faults.fail("NdisCoAssignInstanceName")
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoAssignInstanceName(vc.handle, "ATM VC") == (
                NDIS_STATUS_RESOURCES,
                None,
            )
            # nothing was named: the next try gets the first index
            assert h.ndis.NdisCoAssignInstanceName(vc.handle, "ATM VC") == (
                NDIS_STATUS_SUCCESS,
                "ATM VC #1",
            )
        assert [name for name, _ in h.ndis.faults.injected] == ["NdisCoAssignInstanceName"]

    def test_an_mcm_cannot_name_vcs_but_its_clients_can(self) -> None:
        # "An integrated miniport call manager (MCM) driver cannot use
        # NdisCoAssignInstanceName to name its VCs."
        ndis = Ndis()
        ndis.load_driver(SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,)), "mcm")
        alice = SampleClient(ndis)
        bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [BOB]})
        ndis.load_driver(alice, "alice")
        ndis.load_driver(bob, "bob")
        ndis.add_adapter("mcm", "mcm0")
        ndis.run()
        alice.make_call(alice.afs("open")[0], called_party(BOB))
        ndis.run()
        (made_by_mcm,) = bob.afs("open")[0].vcs
        with at_dispatch(ndis, "mcm"):
            got = ndis.NdisCoAssignInstanceName(made_by_mcm.handle, "MCM VC")
        assert got == (NDIS_STATUS_FAILURE, None)
        assert records(ndis, "NdisCoAssignInstanceName")[-1][:4] == (
            "return",
            "mcm",
            DISPATCH_LEVEL,
            NDIS_STATUS_FAILURE,
        )
        (outgoing,) = alice.afs("open")[0].vcs
        for client, vc in (("bob", made_by_mcm), ("alice", outgoing)):
            with at_dispatch(ndis, client):
                ndis.NdisCoAssignInstanceName(vc.handle, "Q.2931 VC")
        returns = [r for r in records(ndis, "NdisCoAssignInstanceName") if r[0] == "return"]
        assert [(r[1], r[3], r[4]) for r in returns[1:]] == [
            ("bob", NDIS_STATUS_SUCCESS, "Q.2931 VC #1"),
            ("alice", NDIS_STATUS_SUCCESS, "Q.2931 VC #2"),
        ]

    def test_an_empty_base_name_fails(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoAssignInstanceName(vc.handle, "") == (NDIS_STATUS_FAILURE, None)

    def test_the_name_goes_with_the_vc(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        with at_dispatch(h.ndis, "alice"):
            h.ndis.NdisCoAssignInstanceName(vc.handle, "ATM VC")
        h.alice.delete_vc(vc)
        with at_dispatch(h.ndis, "alice"), pytest.raises(BugCheck) as info:
            h.ndis.NdisCoAssignInstanceName(vc.handle, "ATM VC")
        assert (info.value.rule, info.value.ddi, info.value.handle) == (
            "NdisHandleStale",
            "NdisCoAssignInstanceName",
            vc.handle.label,
        )
        later = new_vc(h.alice)
        with at_dispatch(h.ndis, "alice"):
            assert h.ndis.NdisCoAssignInstanceName(later.handle, "ATM VC")[1] == "ATM VC #2"

    def test_bad_arguments(self) -> None:
        h = cm_host()
        vc = new_vc(h.alice)
        with pytest.raises(
            TypeError,
            match=r"^NdisCoAssignInstanceName: BaseInstanceName must be a str "
            r"\(an NDIS_STRING\), not bytes$",
        ):
            h.ndis.NdisCoAssignInstanceName(vc.handle, b"ATM VC")
