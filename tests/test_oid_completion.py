"""Who may complete an OID request, and how NDIS remembers completed ones (oid.py).

Only the driver a request is pending on completes it: another driver's completion is
NdisInvalidOidCompletion (0x7C, 0x26), refused with the host unchanged. A completed
request is remembered as such (completing it again is NdisOidDoubleComplete) while it
exists and until it is issued again, and is never confused with a new request. The hosts
and drivers are hosts/oid.py's.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from condis import BUGCODE_NDIS_DRIVER, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS
from condis.samples import SampleCoMiniport, SampleMcm
from hosts.oid import ParkingMcm, bugcheck, cm_host, mcm_host, query


class TestOnlyTheTargetCompletes:
    """NdisInvalidOidCompletion for a completion by a driver the request is not pending on."""

    def test_a_client_completing_a_request_pending_on_the_miniport(self) -> None:
        h = mcm_host(mcm=ParkingMcm)
        ndis, request = h.ndis, query()
        assert ndis.NdisCoOidRequest(h.binding, None, None, None, request) == NDIS_STATUS_PENDING
        run = lambda: ndis.NdisCoOidRequestComplete(h.q2931.handle, None, None, request, 0)  # noqa: E731
        with ndis.driver_context(ndis.driver("bob")):
            bc = bugcheck(
                ndis,
                run,
                BUGCODE_NDIS_DRIVER,
                "NdisInvalidOidCompletion",
                "NdisCoOidRequestComplete",
                "bob",
            )
        assert bc.parameters[0] == 0x26
        assert "pending on samplemcm, not on bob" in str(bc)
        assert h.mcm.parked == [request] and h.alice.oid_results == []
        ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]

    def test_another_miniport_completing_it(self) -> None:
        h = mcm_host(mcm=ParkingMcm)
        ndis, request = h.ndis, query()
        ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
        ndis.add_adapter("samplecominiport", "atm0")
        ndis.run()
        assert ndis.NdisCoOidRequest(h.binding, None, None, None, request) == NDIS_STATUS_PENDING
        other = ndis.adapter("atm0").handle
        run = lambda: ndis.NdisMCoOidRequestComplete(other, None, request, NDIS_STATUS_SUCCESS)  # noqa: E731
        bugcheck(
            ndis,
            run,
            BUGCODE_NDIS_DRIVER,
            "NdisInvalidOidCompletion",
            "NdisMCoOidRequestComplete",
            "samplecominiport",
        )
        assert h.alice.oid_results == []
        ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]

    def test_the_miniport_completing_through_another_of_its_adapters(self) -> None:
        h = mcm_host(mcm=ParkingMcm)
        ndis, request = h.ndis, query()
        ndis.add_adapter("samplemcm", "mcm1")
        ndis.run()
        assert ndis.NdisCoOidRequest(h.binding, None, None, None, request) == NDIS_STATUS_PENDING
        other = ndis.adapter("mcm1").handle
        run = lambda: ndis.NdisMCoOidRequestComplete(other, None, request, NDIS_STATUS_SUCCESS)  # noqa: E731
        bc = bugcheck(
            ndis,
            run,
            BUGCODE_NDIS_DRIVER,
            "NdisInvalidOidCompletion",
            "NdisMCoOidRequestComplete",
            "samplemcm",
        )
        assert f"passes {other.label}; the request is pending on {h.adapter.label}" in str(bc)
        assert h.alice.oid_results == []
        ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]

    def test_the_call_manager_naming_another_af(self) -> None:
        h = mcm_host(mcm=ParkingMcm)
        ndis, request = h.ndis, query()
        status = ndis.NdisCoOidRequest(h.binding, h.q2931.handle, None, None, request)
        assert status == NDIS_STATUS_PENDING
        run = lambda: ndis.NdisMCmOidRequestComplete(h.psched.handle, None, None, request, 0)  # noqa: E731
        with ndis.driver_context(ndis.driver("samplemcm")):
            bugcheck(
                ndis,
                run,
                BUGCODE_NDIS_DRIVER,
                "NdisInvalidOidCompletion",
                "NdisMCmOidRequestComplete",
                "samplemcm",
            )
            ndis.NdisMCmOidRequestComplete(h.q2931.handle, None, None, request, 0)
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]

    def test_the_requester_completing_its_own_pended_request(self) -> None:
        h = cm_host()
        ndis, request = h.ndis, query()
        binding = h.alice.bindings[0].handle
        assert ndis.NdisCoOidRequest(binding, h.af.handle, None, None, request) == (
            NDIS_STATUS_PENDING
        )
        assert h.cm.parked == [request]
        run = lambda: ndis.NdisCoOidRequestComplete(h.af.handle, None, None, request, 0)  # noqa: E731
        with ndis.driver_context(ndis.driver("alice")):
            bugcheck(
                ndis,
                run,
                BUGCODE_NDIS_DRIVER,
                "NdisInvalidOidCompletion",
                "NdisCoOidRequestComplete",
                "alice",
            )
        assert h.alice.oid_results == []
        with ndis.driver_context(ndis.driver("oidcm")):
            ndis.NdisCoOidRequestComplete(h.cm_af.handle, None, None, request, 0)
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]
        assert ndis.pending_oid_requests == () and ndis.operations == ()


class OncePendingMcm(ParkingMcm):
    """Pends the first request to the miniport and answers the others at once."""

    def MiniportCoOidRequest(self, MiniportAdapterContext: Any, Vc: Any, Request: Any) -> Any:
        if getattr(self, "parked", []):
            return SampleMcm.MiniportCoOidRequest(self, MiniportAdapterContext, Vc, Request)
        return super().MiniportCoOidRequest(MiniportAdapterContext, Vc, Request)


class TestCompletedRequests:
    """NDIS remembers a completed request by the object itself, while the object lives."""

    def completed(self) -> tuple[Any, int]:
        """A host whose miniport pended and completed one request; the request is then
        dropped by everyone, and its id() returned."""
        h = mcm_host(mcm=ParkingMcm)
        request = query()
        assert h.ndis.NdisCoOidRequest(h.binding, None, None, None, request) == (
            NDIS_STATUS_PENDING
        )
        h.ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        assert h.alice.oid_results == [(request, NDIS_STATUS_SUCCESS)]
        h.alice.oid_results.clear()
        h.mcm.parked.clear()
        return h, id(request)

    def test_a_new_request_at_a_freed_ones_address_is_not_taken_for_it(self) -> None:
        h, old = self.completed()
        made = [query() for _ in range(64)]  # CPython hands the freed memory out again
        reused = [r for r in made if id(r) == old]
        if not reused:
            pytest.skip("the interpreter did not reuse the freed request's address")
        [fresh] = reused
        run = lambda: h.ndis.NdisMCoOidRequestComplete(h.adapter, None, fresh, 0)  # noqa: E731
        bc = bugcheck(
            h.ndis,
            run,
            BUGCODE_NDIS_DRIVER,
            "NdisInvalidOidCompletion",
            "NdisMCoOidRequestComplete",
            "samplemcm",
        )
        assert "already completed" not in str(bc)

    def test_a_completed_request_is_not_kept_alive(self) -> None:
        h = mcm_host(mcm=ParkingMcm)
        request = query()
        h.ndis.NdisCoOidRequest(h.binding, None, None, None, request)
        h.ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        h.alice.oid_results.clear()
        h.mcm.parked.clear()
        ref = weakref.ref(request)
        del request
        gc.collect()
        assert ref() is None

    def test_reissued_and_answered_at_once_it_is_no_longer_completed(self) -> None:
        h = mcm_host(mcm=OncePendingMcm)
        ndis, request = h.ndis, query()
        assert ndis.NdisCoOidRequest(h.binding, None, None, None, request) == NDIS_STATUS_PENDING
        ndis.NdisMCoOidRequestComplete(h.adapter, None, request, NDIS_STATUS_SUCCESS)
        assert ndis.NdisCoOidRequest(h.binding, None, None, None, request) == NDIS_STATUS_SUCCESS
        run = lambda: ndis.NdisMCoOidRequestComplete(h.adapter, None, request, 0)  # noqa: E731
        bugcheck(
            ndis,
            run,
            BUGCODE_NDIS_DRIVER,
            "NdisInvalidOidCompletion",
            "NdisMCoOidRequestComplete",
            "samplemcm",
        )
