"""SAPs: NdisClRegisterSap, Ndis(M)CmRegisterSapComplete, and what a SAP allows while it exists.

The contract is sap.py's docstring and the pages it names (nf-ndis-ndisclregistersap,
nc-ndis-protocol_cm_reg_sap, nf-ndis-ndiscmregistersapcomplete, guide/registering-a-sap.md).
Each test runs on the MCM path ("mcm": SampleMcm, NdisMCm* spellings) and the stand-alone call
manager path ("cm": SampleCallManager over SampleCoMiniport, NdisCm* spellings).
Deregistration (NdisClDeregisterSap) is in test_sap_deregistration.py.

The host builder, trace helpers and purpose-built drivers are in hosts/paths.py.
"""

from __future__ import annotations

import pytest

from condis import (
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_RESOURCES,
    NDIS_STATUS_SUCCESS,
    Mode,
)
from condis.samples import SampleClient
from condis.samples.mcm import called_party
from hosts.paths import (
    COMPLETIONS,
    PATHS,
    Q2931,
    SAP_BOB,
    RecordingClient,
    build,
    holding,
    refused,
    returned,
    rules,
    sap_rows,
    with_saps,
    within,
)
from util import calls, find, in_order, mark_of

# --- registration --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestRegister:
    """NdisClRegisterSap's documented returns."""

    def test_success_in_line(self, path: str) -> None:
        host = build(path)
        ndis, af = host.ndis, host.af()
        entry = host.clients["alice"].register_sap(af, SAP_BOB)
        _, cm_call, _, ret = in_order(
            ndis,
            ("call", "NdisClRegisterSap", None, "alice"),
            ("call", "ProtocolCmRegisterSap", None, host.cm_name),
            ("return", "ProtocolCmRegisterSap", NDIS_STATUS_SUCCESS),
            ("return", "NdisClRegisterSap", NDIS_STATUS_SUCCESS),
        )
        assert entry.state == "registered" and entry.handle is not None
        assert ret.handle == entry.handle.label == cm_call.handle
        # Not PENDING: the client makes the internal call; NDIS calls no completion handler.
        assert calls(ndis, "ProtocolClRegisterSapComplete") == []
        assert sap_rows(host) == [(entry.handle.label, "registered", True, True)]

    def test_pending_then_completed(self, path: str) -> None:
        host = build(path, "pended")
        ndis = host.ndis
        entry = host.clients["alice"].register_sap(host.af(), SAP_BOB)
        assert returned(ndis, "NdisClRegisterSap") == [NDIS_STATUS_PENDING]
        assert entry.state == "registering"
        label = find(ndis, "ProtocolCmRegisterSap").handle
        # Valid for the call manager already, not yet for the client.
        assert sap_rows(host) == [(label, "registering", False, True)]
        ndis.run()
        complete, handler, _ = in_order(
            ndis,
            ("call", host.name("RegisterSapComplete"), None, host.cm_name),
            ("call", "ProtocolClRegisterSapComplete", None, "alice"),
            ("return", host.name("RegisterSapComplete")),
        )
        assert within(ndis, complete, handler)
        assert entry.state == "registered" and entry.handle is not None
        assert entry.handle.label == label
        assert sap_rows(host) == [(label, "registered", True, True)]
        assert ndis.operations == ()

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_sap_of_another_client_is_invalid_data(self, path: str, completion: str) -> None:
        host = build(path, completion, clients={"alice": SampleClient, "bob": SampleClient})
        ndis = host.ndis
        first = host.clients["alice"].register_sap(host.af("alice"), SAP_BOB)
        ndis.run()
        assert first.state == "registered"
        after = mark_of(ndis)
        second = host.clients["bob"].register_sap(host.af("bob"), SAP_BOB)
        assert returned(ndis, "ProtocolCmRegisterSap", after=after) == [NDIS_STATUS_INVALID_DATA]
        ret = find(ndis, "NdisClRegisterSap", "return", after=after)
        assert ret.status == NDIS_STATUS_INVALID_DATA and ret.result is None
        assert second.state == "failed" and second.handle is None
        # NDIS released its SAP: the handle it gave ProtocolCmRegisterSap is gone.
        label = find(ndis, "ProtocolCmRegisterSap", after=after).handle
        assert label not in ndis.snapshot()["handles"]
        assert [s.handle.label for s in ndis.saps] == [first.handle.label]

    def test_resources(self, path: str) -> None:
        host = build(path)
        ndis, af = host.ndis, host.af()
        ndis.faults.fail("NdisClRegisterSap")
        before, after = ndis.snapshot(), mark_of(ndis)
        assert ndis.NdisClRegisterSap(af.handle, object(), SAP_BOB) == (
            NDIS_STATUS_RESOURCES,
            None,
        )
        assert calls(ndis, "ProtocolCmRegisterSap", after=after) == []
        assert ndis.snapshot() == before

    def test_closed_af_is_refused(self, path: str) -> None:
        host = build(path)
        af = host.af()
        handle = af.handle
        host.clients["alice"].close_af(af)
        host.ndis.run()
        refused(
            host,
            "NdisHandleStale",
            lambda: host.ndis.NdisClRegisterSap(handle, object(), SAP_BOB),
        )

    def test_closed_af_fails_in_collect_mode(self, path: str) -> None:
        host = build(path, mode=Mode.COLLECT)
        af = host.af()
        handle = af.handle
        host.clients["alice"].close_af(af)
        host.ndis.run()
        before = host.ndis.snapshot()
        assert host.ndis.NdisClRegisterSap(handle, object(), SAP_BOB) == (
            NDIS_STATUS_FAILURE,
            None,
        )
        assert rules(host.ndis) == ["NdisHandleStale"]
        assert host.ndis.snapshot() == before

    def test_af_still_opening_is_refused(self, path: str) -> None:
        host = build(path, "pended", run=False)
        (af,) = host.clients["alice"].afs("opening")
        assert af.handle is not None
        refused(
            host,
            "NdisHandleNotYetValid",
            lambda: host.ndis.NdisClRegisterSap(af.handle, object(), SAP_BOB),
        )

    def test_sap_must_be_a_co_sap(self, path: str) -> None:
        host = build(path)
        with pytest.raises(
            TypeError, match=r"^NdisClRegisterSap: Sap must be a CO_SAP, not bytes$"
        ):
            host.ndis.NdisClRegisterSap(host.af().handle, object(), b"bob")


@pytest.mark.parametrize("path", PATHS)
class TestPendedRegistrationOutcome:
    """Ndis(M)CmRegisterSapComplete decides what the client gets."""

    def test_failure_gives_the_client_no_handle(self, path: str) -> None:
        host = holding(path, clients={"alice": RecordingClient})
        ndis, alice = host.ndis, host.clients["alice"]
        entry = alice.register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        host.ddi("RegisterSapComplete")(NDIS_STATUS_FAILURE, handle, None)
        assert alice.register_completions == [(NDIS_STATUS_FAILURE, None)]
        assert entry.state == "failed"
        assert ndis.saps == () and handle.label not in ndis.snapshot()["handles"]
        assert ndis.operations == ()
        # The handle is stale for both sides now.
        refused(
            host,
            "NdisHandleStale",
            lambda: host.ddi("RegisterSapComplete")(NDIS_STATUS_SUCCESS, handle, None),
        )
        refused(host, "NdisHandleStale", lambda: ndis.NdisClDeregisterSap(handle))

    def test_success_gives_the_client_the_handle(self, path: str) -> None:
        host = holding(path, clients={"alice": RecordingClient})
        alice = host.clients["alice"]
        entry = alice.register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        host.ddi("RegisterSapComplete")(NDIS_STATUS_SUCCESS, handle, object())
        assert alice.register_completions == [(NDIS_STATUS_SUCCESS, handle)]
        assert entry.state == "registered" and entry.handle is handle
        assert sap_rows(host) == [(handle.label, "registered", True, True)]

    def test_completion_in_the_other_role_s_spelling(self, path: str) -> None:
        host = holding(path, clients={"alice": RecordingClient}, mode=Mode.COLLECT)
        host.clients["alice"].register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        wrong = "NdisCmRegisterSapComplete" if path == "mcm" else "NdisMCmRegisterSapComplete"
        getattr(host.ndis, wrong)(NDIS_STATUS_SUCCESS, handle, object())
        (violation,) = host.ndis.verifier.violations
        assert (violation.rule, violation.ddi, violation.driver) == (
            "CoNdisMcmSpelling",
            wrong,
            host.cm_name,
        )
        # Collect mode carries on: the registration completes.
        assert host.clients["alice"].register_completions == [(NDIS_STATUS_SUCCESS, handle)]

    def test_client_cannot_deregister_before_completion(self, path: str) -> None:
        host = holding(path)
        host.clients["alice"].register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        refused(host, "NdisHandleNotYetValid", lambda: host.ndis.NdisClDeregisterSap(handle))

    def test_second_completion_is_refused(self, path: str) -> None:
        host = holding(path)
        host.clients["alice"].register_sap(host.af(), SAP_BOB)
        (handle,) = host.cm.held
        host.ddi("RegisterSapComplete")(NDIS_STATUS_SUCCESS, handle, object())
        refused(
            host,
            "CoNdisDoubleComplete",
            lambda: host.ddi("RegisterSapComplete")(NDIS_STATUS_SUCCESS, handle, object()),
        )


# --- incoming calls, AF close ------------------------------------------------------------------


@pytest.mark.parametrize("path", PATHS)
class TestSapInUse:
    """What a SAP allows and forbids while it exists."""

    def test_incoming_call_while_registration_pends(self, path: str) -> None:
        host = build(
            path,
            "pended",
            miniport_completion="sync",
            clients={"bob": lambda n: RecordingClient(n, saps={Q2931: [SAP_BOB]})},
            run=False,
        )
        ndis, bob = host.ndis, host.clients["bob"]
        # Run until bob's registration is with the call manager, but not completed.
        while not ndis.saps:
            assert ndis.step() is not None
        (sap,) = ndis.saps
        (entry,) = host.af("bob").saps
        assert entry.state == "registering"
        vc = host.create_incoming_vc("bob", object())
        params = called_party(SAP_BOB)
        assert host.activate(vc, params) == NDIS_STATUS_SUCCESS
        after = mark_of(ndis)
        status = host.ddi("DispatchIncomingCall")(sap.handle, vc, params)
        assert status == NDIS_STATUS_SUCCESS
        assert bob.incoming_saps == [entry]
        host.ddi("DispatchCallConnected")(vc)
        find(ndis, "ProtocolClCallConnected", after=after, driver="bob")
        ndis.run()
        in_order(
            ndis,
            ("call", "ProtocolClIncomingCall", None, "bob"),
            ("call", "ProtocolClRegisterSapComplete", None, "bob"),
        )
        assert entry.state == "registered"

    @pytest.mark.parametrize("mode", [Mode.STRICT, Mode.COLLECT])
    def test_closing_the_af_with_a_sap_left_fails(self, path: str, mode: Mode) -> None:
        host = build(path, clients={"alice": with_saps(SAP_BOB)}, mode=mode)
        ndis, af = host.ndis, host.af()
        before, after = ndis.snapshot(), mark_of(ndis)
        if mode is Mode.STRICT:
            error = refused(
                host, "CoNdisAfCloseWithChildren", lambda: ndis.NdisClCloseAddressFamily(af.handle)
            )
            assert af.saps[0].handle.label in error.detail
        else:
            assert ndis.NdisClCloseAddressFamily(af.handle) == NDIS_STATUS_FAILURE
            assert rules(ndis) == ["CoNdisAfCloseWithChildren"]
            assert ndis.snapshot() == before
        assert calls(ndis, "ProtocolCmCloseAf", after=after) == []
        # Deregistered, the AF closes.
        host.clients["alice"].close_af(af)
        ndis.run()
        assert host.clients["alice"].afs() == [] and ndis.address_families == ()
