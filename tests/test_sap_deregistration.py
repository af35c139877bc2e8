"""SAP deregistration: NdisClDeregisterSap, Ndis(M)CmDeregisterSapComplete (sap.py).

The contract is sap.py's docstring and the pages it names (nf-ndis-ndisclderegistersap,
nc-ndis-protocol_cm_deregister_sap, guide/deregistering-a-sap.md). Each test runs on the MCM
path ("mcm") and the stand-alone call manager path ("cm"), built by hosts/paths.py.
"""

from __future__ import annotations

import pytest

from condis import NDIS_STATUS_FAILURE, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS
from hosts.paths import (
    COMPLETIONS,
    PATHS,
    SAP_BOB,
    Host,
    RecordingClient,
    build,
    holding,
    refused,
    returned,
    sap_rows,
    with_saps,
    within,
)
from util import calls, find, mark_of


@pytest.mark.parametrize("path", PATHS)
class TestDeregister:
    """NdisClDeregisterSap: always PENDING, then ProtocolClDeregisterSapComplete."""

    @pytest.mark.parametrize("completion", COMPLETIONS)
    def test_always_pending_with_completion_handler(self, path: str, completion: str) -> None:
        host = build(path, completion, clients={"alice": with_saps(SAP_BOB)})
        ndis = host.ndis
        (entry,) = host.af().saps
        label, after = entry.handle.label, mark_of(ndis)
        entry.state = "deregistering"  # what the sample's deregister_sap does before the call
        assert ndis.NdisClDeregisterSap(entry.handle) == NDIS_STATUS_PENDING
        ddi_call = find(ndis, "NdisClDeregisterSap", after=after)
        assert returned(ndis, "NdisClDeregisterSap", after=after) == [NDIS_STATUS_PENDING]
        expected = NDIS_STATUS_SUCCESS if completion == "sync" else NDIS_STATUS_PENDING
        assert returned(ndis, "ProtocolCmDeregisterSap", after=after) == [expected]
        ndis.run()
        done = find(ndis, "ProtocolClDeregisterSapComplete", after=after, driver="alice")
        if completion == "sync":
            # NDIS calls the completion handler itself, before NdisClDeregisterSap returns.
            assert within(ndis, ddi_call, done)
            assert calls(ndis, host.name("DeregisterSapComplete")) == []
        else:
            complete = find(ndis, host.name("DeregisterSapComplete"), after=after)
            assert within(ndis, complete, done) and not within(ndis, ddi_call, done)
        assert len(calls(ndis, "ProtocolClDeregisterSapComplete")) == 1
        assert entry.state == "deregistered" and entry.last_status == NDIS_STATUS_SUCCESS
        assert ndis.saps == () and label not in ndis.snapshot()["handles"]
        assert ndis.operations == ()
        # Once deregistered, the handle is stale.
        refused(host, "NdisHandleStale", lambda: ndis.NdisClDeregisterSap(entry.handle))

    def test_redundant_call_while_deregistering_fails(self, path: str) -> None:
        host = build(path, "pended", clients={"alice": with_saps(SAP_BOB)})
        ndis = host.ndis
        (entry,) = host.af().saps
        after = mark_of(ndis)
        host.clients["alice"].deregister_sap(entry)
        assert ndis.NdisClDeregisterSap(entry.handle) == NDIS_STATUS_FAILURE
        assert returned(ndis, "NdisClDeregisterSap", after=after) == [
            NDIS_STATUS_PENDING,
            NDIS_STATUS_FAILURE,
        ]
        assert len(calls(ndis, "ProtocolCmDeregisterSap", after=after)) == 1
        ndis.run()
        assert len(calls(ndis, "ProtocolClDeregisterSapComplete", after=after)) == 1
        assert entry.state == "deregistered" and ndis.saps == ()

    @pytest.mark.parametrize("pended", [False, True], ids=["in-line", "pended"])
    def test_call_manager_failing_keeps_the_sap(self, path: str, pended: bool) -> None:
        host = holding(path, clients={"alice": RecordingClient})
        self._failed_deregistration(host, pended=pended)

    @staticmethod
    def _failed_deregistration(host: Host, *, pended: bool) -> None:
        ndis, alice = host.ndis, host.clients["alice"]
        host.cm.hold_register = False
        entry = alice.register_sap(host.af(), SAP_BOB)
        assert entry.state == "registered"
        if pended:
            host.cm.hold_deregister = True
        else:
            host.cm.deregister_reply = NDIS_STATUS_FAILURE
        alice.deregister_sap(entry)
        if pended:
            assert returned(ndis, "NdisClDeregisterSap") == [NDIS_STATUS_PENDING]
            assert alice.deregister_completions == []
            host.ddi("DeregisterSapComplete")(NDIS_STATUS_FAILURE, entry.handle)
        assert alice.deregister_completions == [NDIS_STATUS_FAILURE]
        # The SAP stays registered and its handle valid for the client.
        assert entry.state == "registered"
        assert sap_rows(host) == [(entry.handle.label, "registered", True, True)]
        host.cm.hold_deregister = False
        after = mark_of(ndis)
        alice.deregister_sap(entry)
        ndis.run()
        assert returned(ndis, "NdisClDeregisterSap", after=after) == [NDIS_STATUS_PENDING]
        assert alice.deregister_completions == [NDIS_STATUS_FAILURE, NDIS_STATUS_SUCCESS]
        assert ndis.saps == ()
