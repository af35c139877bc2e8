"""OID requests between CoNDIS drivers (oid.py).

NdisCoOidRequest goes to the miniport (no AF handle: MiniportCoOidRequest) or to the
other protocol of the AF (ProtocolCoOidRequest); NdisMCmOidRequest takes an MCM's
request to a client. A pended request comes back once through
NdisMCoOidRequestComplete / NdisCoOidRequestComplete / NdisMCmOidRequestComplete as
the requester's ProtocolCoOidRequestComplete. Driver Verifier's OID rules:
NdisOidDoubleComplete, NdisInvalidOidCompletion (0x7C), NdisOidComplete and
NdisOidDoubleRequest. The hosts and trace helpers are in hosts/oid.py, shared with
test_oid_completion.py and test_status_indications.py (NdisMCoIndicateStatusEx).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from condis import (
    BUGCODE_NDIS_DRIVER,
    DRIVER_VERIFIER_DETECTED_VIOLATION,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_PARAMETER,
    NDIS_STATUS_NOT_SUPPORTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    PASSIVE_LEVEL,
    BugCheck,
    Ndis,
)
from condis.oid import NDIS_OID_REQUEST, NDIS_REQUEST_TYPE
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm import OID_SAMPLE_LINK_SPEED, called_party
from hosts.oid import ParkingMcm, bugcheck, calls_since, cm_host, mcm_host, query
from hosts.paths import SAP_BOB
from util import mark_of

OID_CLIENT_VALUE = 0xFF020001  # a vendor OID the test clients answer from `oid_values`
SET = NDIS_REQUEST_TYPE.NdisRequestSetInformation


def ops_since(ndis: Ndis, mark: int) -> set[int | None]:
    """The operation ids of every record since `mark` but the first (the request's call)."""
    return {r.op for r in ndis.trace if r.seq > mark + 1}


class TwiceMcm(SampleMcm):
    """Completes a pended OID request twice from one work item."""

    def MiniportCoOidRequest(self, MiniportAdapterContext: Any, Vc: Any, Request: Any) -> Any:
        handle = MiniportAdapterContext.handle

        def complete() -> None:
            for _ in range(2):
                self.ndis.NdisMCoOidRequestComplete(handle, None, Request, NDIS_STATUS_SUCCESS)

        self._defer(MiniportAdapterContext, complete)
        return NDIS_STATUS_PENDING


class RecordingClient(SampleClient):
    """The sample client, also remembering the contexts of each ProtocolCoOidRequestComplete."""

    def ProtocolCoOidRequestComplete(
        self, Af: Any, Vc: Any, Party: Any, OidRequest: Any, Status: Any
    ) -> None:
        self.contexts = [*getattr(self, "contexts", []), (Af, Vc, Party)]
        super().ProtocolCoOidRequestComplete(Af, Vc, Party, OidRequest, Status)


class PendingClient(SampleClient):
    """Pends every OID request a call manager makes of it."""

    def ProtocolCoOidRequest(self, Af: Any, Vc: Any, Party: Any, OidRequest: Any) -> Any:
        self.parked = [*getattr(self, "parked", []), OidRequest]
        return NDIS_STATUS_PENDING


class TestToTheMiniport:
    """NdisCoOidRequest with NdisAfHandle NULL: the miniport's MiniportCoOidRequest."""

    def test_synchronous_query(self) -> None:
        h = mcm_host()
        ndis, request = h.ndis, query()
        mark = mark_of(ndis)
        assert ndis.NdisCoOidRequest(h.binding, None, None, None, request) == NDIS_STATUS_SUCCESS
        label = h.binding.label
        assert calls_since(ndis, mark) == [
            ("call", "NdisCoOidRequest", "alice", label, None),
            ("call", "MiniportCoOidRequest", "samplemcm", label, None),
            ("return", "MiniportCoOidRequest", "samplemcm", label, NDIS_STATUS_SUCCESS),
            ("return", "NdisCoOidRequest", "alice", label, NDIS_STATUS_SUCCESS),
        ]
        assert all(r.irql == PASSIVE_LEVEL for r in ndis.trace if r.seq > mark)
        assert (request.InformationBuffer, request.BytesWritten) == (155_520_000, 4)
        assert h.alice.oid_results == []  # no completion handler for a synchronous answer
        assert ndis.pending_oid_requests == () and ndis.operations == ()

    def test_set_then_query(self) -> None:
        h = mcm_host()
        setting = NDIS_OID_REQUEST(Oid=OID_SAMPLE_LINK_SPEED, RequestType=SET, InformationBuffer=7)
        assert h.ndis.NdisCoOidRequest(h.binding, None, None, None, setting) == NDIS_STATUS_SUCCESS
        assert setting.BytesRead == 4
        request = query()
        h.ndis.NdisCoOidRequest(h.binding, None, None, None, request)
        assert request.InformationBuffer == 7

    def test_pended_request_completes_through_protocol_co_oid_request_complete(self) -> None:
        h = mcm_host(completion="pended", alice=RecordingClient)
        ndis, request = h.ndis, query()
        mark = mark_of(ndis)
        assert ndis.NdisCoOidRequest(h.binding, None, None, None, request) == NDIS_STATUS_PENDING
        assert ndis.pending_oid_requests == (request,)
        (op,) = ndis.operations
        assert (op.handler, op.completers) == (
            "MiniportCoOidRequest",
            ("NdisMCoOidRequestComplete",),
        )
        ndis.run()
        names = ("NdisMCoOidRequestComplete", "ProtocolCoOidRequestComplete")
        got = [c for c in calls_since(ndis, mark) if c[1] in names]
        assert got == [
            ("call", names[0], "samplemcm", h.adapter.label, None),
            ("call", names[1], "alice", h.binding.label, None),
            ("return", names[1], "alice", h.binding.label, None),
            ("return", names[0], "samplemcm", h.adapter.label, None),
        ]
        assert ops_since(ndis, mark) <= {op.id, None}
        assert {r.op for r in ndis.trace if r.name in names} == {op.id}
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]
        assert h.alice.contexts == [(None, None, None)]
        assert request.InformationBuffer == 155_520_000
        assert ndis.pending_oid_requests == ()

    def test_a_vc_specific_request(self) -> None:
        h = mcm_host(completion="pended", alice=RecordingClient)
        vc = h.alice.create_vc(h.q2931)
        assert vc is not None
        request = query()
        assert h.ndis.NdisCoOidRequest(h.binding, None, vc.handle, None, request) == (
            NDIS_STATUS_PENDING
        )
        h.ndis.run()
        assert h.alice.contexts == [(None, vc, None)]  # alice's own VC context comes back

    def test_an_unknown_oid_is_not_supported(self) -> None:
        h = mcm_host()
        status = h.ndis.NdisCoOidRequest(h.binding, None, None, None, query(0x00010101))
        assert status == NDIS_STATUS_NOT_SUPPORTED

    def test_a_party_without_an_af_is_invalid(self) -> None:
        # "If NdisAfHandle is NULL, NdisPartyHandle also is NULL."
        h = mcm_host()
        vc = h.alice.make_call(h.q2931, called_party(SAP_BOB), multipoint=True)
        h.ndis.run()
        assert vc is not None and vc.party_handle is not None
        ndis = h.ndis
        mark = mark_of(ndis)
        status = ndis.NdisCoOidRequest(h.binding, None, vc.handle, vc.party_handle, query())
        assert status == NDIS_STATUS_INVALID_PARAMETER
        assert [c[1] for c in calls_since(ndis, mark)] == ["NdisCoOidRequest"] * 2
        # with the AF, the party-specific request goes to the call manager
        status = ndis.NdisCoOidRequest(
            h.binding, h.q2931.handle, vc.handle, vc.party_handle, query()
        )
        assert status == NDIS_STATUS_SUCCESS

    def test_bad_arguments(self) -> None:
        h = mcm_host()
        with pytest.raises(
            ValueError, match=r"^NdisCoOidRequest: OidRequest is required \(got None\)$"
        ):
            h.ndis.NdisCoOidRequest(h.binding, None, None, None, None)
        with pytest.raises(
            TypeError, match=r"^NdisCoOidRequest: OidRequest must be an NDIS_OID_REQUEST, not int$"
        ):
            h.ndis.NdisCoOidRequest(h.binding, None, None, None, OID_SAMPLE_LINK_SPEED)


class TestBetweenClientAndCallManager:
    """NdisCoOidRequest with an AF handle, and NdisMCmOidRequest."""

    def test_client_to_the_mcm_call_manager_half(self) -> None:
        h = mcm_host()
        ndis, request = h.ndis, query()
        mark = mark_of(ndis)
        status = ndis.NdisCoOidRequest(h.binding, h.q2931.handle, None, None, request)
        assert status == NDIS_STATUS_SUCCESS
        af = h.q2931.handle.label
        assert calls_since(ndis, mark) == [
            ("call", "NdisCoOidRequest", "alice", h.binding.label, None),
            ("call", "ProtocolCoOidRequest", "samplemcm", af, None),
            ("return", "ProtocolCoOidRequest", "samplemcm", af, NDIS_STATUS_SUCCESS),
            ("return", "NdisCoOidRequest", "alice", h.binding.label, NDIS_STATUS_SUCCESS),
        ]
        assert request.InformationBuffer == 155_520_000

    @pytest.mark.parametrize("spelling", ["NdisMCmOidRequestComplete", "NdisCoOidRequestComplete"])
    def test_pended_by_the_mcm(self, spelling: str) -> None:
        # NdisMCmOidRequestComplete is a macro for NdisCoOidRequestComplete: both are right.
        h = mcm_host(mcm=ParkingMcm)
        ndis, request = h.ndis, query()
        status = ndis.NdisCoOidRequest(h.binding, h.q2931.handle, None, None, request)
        assert status == NDIS_STATUS_PENDING
        assert h.mcm.parked == [request]
        mark = mark_of(ndis)
        getattr(ndis, spelling)(h.q2931.handle, None, None, request, NDIS_STATUS_FAILURE)
        assert [c[:3] for c in calls_since(ndis, mark) if c[0] == "call"] == [
            ("call", spelling, "samplemcm"),
            ("call", "ProtocolCoOidRequestComplete", "alice"),
        ]
        assert h.alice.oid_results == [(request, NDIS_STATUS_FAILURE)]

    def test_a_vc_of_another_af_is_invalid_parameter(self) -> None:
        h = mcm_host()
        vc = h.alice.create_vc(h.q2931)
        assert vc is not None
        ndis = h.ndis
        before = ndis.snapshot()
        mark = mark_of(ndis)
        status = ndis.NdisCoOidRequest(h.binding, h.psched.handle, vc.handle, None, query())
        assert status == NDIS_STATUS_INVALID_PARAMETER
        assert [c[1] for c in calls_since(ndis, mark)] == ["NdisCoOidRequest"] * 2
        assert ndis.snapshot() == before

    def test_stand_alone_call_manager_to_the_client(self) -> None:
        h = cm_host()
        h.alice.oid_values[OID_CLIENT_VALUE] = "abc"
        ndis, request = h.ndis, query(OID_CLIENT_VALUE)
        mark = mark_of(ndis)
        status = ndis.NdisCoOidRequest(h.cm_binding.handle, h.cm_af.handle, None, None, request)
        assert status == NDIS_STATUS_SUCCESS
        assert [c[:3] for c in calls_since(ndis, mark) if c[0] == "call"] == [
            ("call", "NdisCoOidRequest", "oidcm"),
            ("call", "ProtocolCoOidRequest", "alice"),
        ]
        assert request.InformationBuffer == "abc"
        setting = NDIS_OID_REQUEST(Oid=OID_CLIENT_VALUE, RequestType=SET, InformationBuffer="x")
        ndis.NdisCoOidRequest(h.cm_binding.handle, h.cm_af.handle, None, None, setting)
        assert h.alice.oid_values[OID_CLIENT_VALUE] == "x"
        unknown = ndis.NdisCoOidRequest(h.cm_binding.handle, h.cm_af.handle, None, None, query(1))
        assert unknown == NDIS_STATUS_NOT_SUPPORTED

    def test_client_to_a_stand_alone_call_manager_pended(self) -> None:
        h = cm_host()
        ndis, request = h.ndis, query()
        af = h.af.handle
        assert ndis.NdisCoOidRequest(h.af.binding.handle, af, None, None, request) == (
            NDIS_STATUS_PENDING
        )
        assert h.cm.parked == [request]
        wrong = lambda: ndis.NdisMCmOidRequestComplete(af, None, None, request, 0)  # noqa: E731
        bc = bugcheck(
            ndis,
            wrong,
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            "CoNdisMcmSpelling",
            "NdisMCmOidRequestComplete",
            "oidcm",
        )
        assert "NdisCoOidRequestComplete" in bc.detail
        ndis.NdisCoOidRequestComplete(af, None, None, request, NDIS_STATUS_SUCCESS)
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]

    def test_mcm_to_a_client(self) -> None:
        h = mcm_host()
        h.alice.oid_values[OID_CLIENT_VALUE] = 42
        ndis, request = h.ndis, query(OID_CLIENT_VALUE)
        mark = mark_of(ndis)
        assert ndis.NdisMCmOidRequest(h.q2931.handle, None, None, request) == NDIS_STATUS_SUCCESS
        af = h.q2931.handle.label
        assert calls_since(ndis, mark) == [
            ("call", "NdisMCmOidRequest", "samplemcm", af, None),
            ("call", "ProtocolCoOidRequest", "alice", af, None),
            ("return", "ProtocolCoOidRequest", "alice", af, NDIS_STATUS_SUCCESS),
            ("return", "NdisMCmOidRequest", "samplemcm", af, NDIS_STATUS_SUCCESS),
        ]
        assert request.InformationBuffer == 42

    def test_mcm_to_a_client_that_pends(self) -> None:
        h = mcm_host(alice=PendingClient)
        ndis, request = h.ndis, query(OID_CLIENT_VALUE)
        af = h.q2931.handle
        assert ndis.NdisMCmOidRequest(af, None, None, request) == NDIS_STATUS_PENDING
        assert h.alice.parked == [request]
        mark = mark_of(ndis)
        with ndis.driver_context(ndis.driver("alice")):
            ndis.NdisCoOidRequestComplete(af, None, None, request, NDIS_STATUS_NOT_SUPPORTED)
        assert [c[:3] for c in calls_since(ndis, mark)] == [
            ("call", "NdisCoOidRequestComplete", "alice"),
            ("call", "ProtocolCoOidRequestComplete", "samplemcm"),
            ("return", "ProtocolCoOidRequestComplete", "samplemcm"),
            ("return", "NdisCoOidRequestComplete", "alice"),
        ]
        assert ndis.pending_oid_requests == ()

    def test_mcm_request_with_a_vc_of_another_af(self) -> None:
        h = mcm_host()
        vc = h.alice.create_vc(h.q2931)
        assert vc is not None
        status = h.ndis.NdisMCmOidRequest(h.psched.handle, vc.handle, None, query())
        assert status == NDIS_STATUS_INVALID_PARAMETER

    def test_a_stand_alone_call_manager_may_not_use_the_mcm_spelling(self) -> None:
        h = cm_host()
        run = lambda: h.ndis.NdisMCmOidRequest(h.cm_af.handle, None, None, query())  # noqa: E731
        bc = bugcheck(
            h.ndis,
            run,
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            "CoNdisMcmSpelling",
            "NdisMCmOidRequest",
            "oidcm",
        )
        assert bc.handle == h.cm_af.handle.label


class TestOidRules:
    """Driver Verifier's OID rules, each from test code that leaves the host usable."""

    def parked(self) -> tuple[SimpleNamespace, NDIS_OID_REQUEST]:
        h = mcm_host(mcm=ParkingMcm)
        request = query()
        assert h.ndis.NdisCoOidRequest(h.binding, None, None, None, request) == (
            NDIS_STATUS_PENDING
        )
        return h, request

    def test_double_complete(self) -> None:
        h, request = self.parked()
        ndis = h.ndis
        ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        again = lambda: ndis.NdisMCoOidRequestComplete(h.adapter, None, request, 0)  # noqa: E731
        bc = bugcheck(
            ndis,
            again,
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            "NdisOidDoubleComplete",
            "NdisMCoOidRequestComplete",
            "samplemcm",
        )
        assert bc.parameters[0] == 0x00091002
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]

    def test_double_complete_by_the_driver_stops_the_host(self) -> None:
        h = mcm_host(mcm=TwiceMcm)
        request = query()
        assert h.ndis.NdisCoOidRequest(h.binding, None, None, None, request) == (
            NDIS_STATUS_PENDING
        )
        with pytest.raises(BugCheck) as info:
            h.ndis.run()
        assert (info.value.rule, info.value.parameters[0]) == ("NdisOidDoubleComplete", 0x91002)
        assert h.ndis.crashed is info.value
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]

    def test_completing_a_request_that_never_pended(self) -> None:
        h = mcm_host()
        answered = query()
        h.ndis.NdisCoOidRequest(h.binding, None, None, None, answered)  # completed at once
        for request in (answered, query()):
            late = lambda r=request: h.ndis.NdisMCoOidRequestComplete(h.adapter, None, r, 0)  # noqa: E731
            bc = bugcheck(
                h.ndis,
                late,
                BUGCODE_NDIS_DRIVER,
                "NdisInvalidOidCompletion",
                "NdisMCoOidRequestComplete",
                "samplemcm",
            )
            assert bc.parameters[0] == 0x26
        assert h.alice.oid_results == []

    def test_completing_with_pending(self) -> None:
        h, request = self.parked()
        ndis = h.ndis
        run = lambda: ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_PENDING)  # noqa: E731
        bc = bugcheck(
            ndis,
            run,
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            "NdisOidComplete",
            "NdisMCoOidRequestComplete",
            "samplemcm",
        )
        assert bc.parameters[0] == 0x00091001
        ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]

    def test_issuing_a_request_that_is_still_pending(self) -> None:
        h, request = self.parked()
        ndis = h.ndis
        run = lambda: ndis.NdisCoOidRequest(h.binding, None, None, None, request)  # noqa: E731
        bc = bugcheck(
            ndis,
            run,
            DRIVER_VERIFIER_DETECTED_VIOLATION,
            "NdisOidDoubleRequest",
            "NdisCoOidRequest",
            "alice",
        )
        assert bc.parameters[0] == 0x0009100E
        assert h.mcm.parked == [request]  # the miniport saw it once
        # once completed, the same request object may be issued again
        ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        assert ndis.NdisCoOidRequest(h.binding, None, None, None, request) == NDIS_STATUS_PENDING
        assert h.mcm.parked == [request, request]

    def test_a_miniport_request_completed_with_the_mcm_spelling(self) -> None:
        h, request = self.parked()
        af = h.q2931.handle
        run = lambda: h.ndis.NdisMCmOidRequestComplete(af, None, None, request, 0)  # noqa: E731
        with h.ndis.driver_context(h.ndis.driver("samplemcm")):
            bugcheck(
                h.ndis,
                run,
                DRIVER_VERIFIER_DETECTED_VIOLATION,
                "CoNdisMcmSpelling",
                "NdisMCmOidRequestComplete",
                "samplemcm",
            )
