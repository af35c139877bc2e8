"""Close notifications that meet another AF operation half-way.

The contract is af.py's and af_close.py's docstrings and the WDK pages:
Ndis(M)CmNotifyCloseAddressFamily, ProtocolClNotifyCloseAf, NdisClNotifyCloseAddressFamilyComplete,
NdisCmOpenAddressFamilyComplete and ProtocolClOpenAfCompleteEx. The helpers and drivers live in
hosts/af.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from condis import NDIS_STATUS_FAILURE, NDIS_STATUS_PENDING, NDIS_STATUS_SUCCESS, Ndis
from condis.samples import SampleCallManager, SampleCoMiniport
from hosts.af import RecordingClient, build, inside
from hosts.paths import PATHS
from util import calls, find, in_order


def opened_at_dispatch(client: type[RecordingClient] = RecordingClient) -> tuple[Ndis, Any]:
    """The sample call manager completes a client's AF open from its timer (DISPATCH_LEVEL);
    the host stops while NDIS's work item for ProtocolClOpenAfCompleteEx is still queued."""
    ndis = Ndis()
    ndis.load_driver(SampleCoMiniport(ndis), "samplecominiport")
    ndis.load_driver(SampleCallManager(ndis, completion="pended"), "samplecallmanager")
    cl = client(ndis)
    ndis.load_driver(cl, "sampleclient")
    ndis.add_adapter("samplecominiport", "atm0")
    while not calls(ndis, "NdisCmOpenAddressFamilyComplete"):
        assert ndis.step() is not None
    complete = find(ndis, "NdisCmOpenAddressFamilyComplete")
    assert complete.irql.name == "DISPATCH_LEVEL"
    assert calls(ndis, "ProtocolClOpenAfCompleteEx") == []
    assert [i.label for i in ndis.scheduler.pending()] == ["NDIS calls ProtocolClOpenAfCompleteEx"]
    return ndis, cl


class TestOpenCompletionComesFirst:
    """NDIS delivers a pended open's completion before it asks the client to close the AF."""

    def test_halt_while_the_open_completion_is_queued(self) -> None:
        ndis, cl = opened_at_dispatch()
        ndis.halt_adapter("atm0")
        ndis.run()
        notify, deliver, *_ = in_order(
            ndis,
            ("call", "NdisCmNotifyCloseAddressFamily", None, "samplecallmanager"),
            ("call", "ProtocolClOpenAfCompleteEx", None, "sampleclient"),
            ("call", "ProtocolClNotifyCloseAf", None, "sampleclient"),
            ("return", "NdisCmNotifyCloseAddressFamily", NDIS_STATUS_PENDING),
            ("call", "ProtocolCmNotifyCloseAfComplete", None, "samplecallmanager"),
            ("call", "MiniportHaltEx", None, "samplecominiport"),
        )
        assert inside("NdisCmNotifyCloseAddressFamily", deliver, ndis)
        assert deliver.irql.name == "PASSIVE_LEVEL" and deliver.handle == notify.handle
        assert len(calls(ndis, "ProtocolClOpenAfCompleteEx")) == 1  # the work item was withdrawn
        assert cl.open_completions == [(cl.open_completions[0][0], NDIS_STATUS_SUCCESS)]
        assert ndis.address_families == () and ndis.operations == ()
        assert ndis.leaks() == [] and ndis.check_invariants() == []
        assert ndis.verifier.violations == []

    def test_notification_is_moot_when_the_client_closes_on_hearing(self) -> None:
        class ClosingClient(RecordingClient):
            """Closes each AF as soon as it hears that the AF is open."""

            def ProtocolClOpenAfCompleteEx(self, ProtocolAfContext, NdisAfHandle, Status):
                super().ProtocolClOpenAfCompleteEx(ProtocolAfContext, NdisAfHandle, Status)
                assert self.close_af(ProtocolAfContext) == NDIS_STATUS_PENDING

        ndis, _ = opened_at_dispatch(ClosingClient)
        ndis.halt_adapter("atm0")
        ndis.run()
        in_order(
            ndis,
            ("call", "NdisCmNotifyCloseAddressFamily", None, "samplecallmanager"),
            ("call", "ProtocolClOpenAfCompleteEx", None, "sampleclient"),
            ("return", "NdisClCloseAddressFamily", NDIS_STATUS_PENDING, "sampleclient"),
            ("return", "NdisCmNotifyCloseAddressFamily", NDIS_STATUS_FAILURE),
            ("call", "ProtocolClCloseAfComplete", None, "sampleclient"),
        )
        assert calls(ndis, "ProtocolClNotifyCloseAf") == []
        assert ndis.address_families == () and ndis.operations == ()
        assert ndis.leaks() == [] and ndis.check_invariants() == []
        assert ndis.verifier.violations == []


class CompletingInsideClient(RecordingClient):
    """Closes the AF and completes the notification inside ProtocolClNotifyCloseAf, then
    returns NDIS_STATUS_PENDING (as if another processor had got there first)."""

    def ProtocolClNotifyCloseAf(self, ProtocolAfContext):
        handle = ProtocolAfContext.handle
        assert self.close_af(ProtocolAfContext) == NDIS_STATUS_SUCCESS
        self.ndis.NdisClNotifyCloseAddressFamilyComplete(handle, NDIS_STATUS_SUCCESS)
        return NDIS_STATUS_PENDING


@pytest.mark.parametrize("path", PATHS)
class TestNotifyCompletedInsideTheHandler:
    """NdisClNotifyCloseAddressFamilyComplete called before ProtocolClNotifyCloseAf returns."""

    def test_the_af_handle_is_released(self, path: str) -> None:
        host = build(path, "sync", client_class=CompletingInsideClient)
        ndis, af = host.ndis, host.open_af()
        notify = host.spelled("NotifyCloseAddressFamily")
        assert host.cm.ddi("NotifyCloseAddressFamily")(af.handle) == NDIS_STATUS_PENDING
        _, _, complete, cm_complete, _, _ = in_order(
            ndis,
            ("call", notify, None, host.cm_name),
            ("return", "NdisClCloseAddressFamily", NDIS_STATUS_SUCCESS, "sampleclient"),
            ("call", "NdisClNotifyCloseAddressFamilyComplete", None, "sampleclient"),
            ("call", "ProtocolCmNotifyCloseAfComplete", None, host.cm_name),
            ("return", "ProtocolClNotifyCloseAf", NDIS_STATUS_PENDING, "sampleclient"),
            ("return", notify, NDIS_STATUS_PENDING),
        )
        assert inside("ProtocolClNotifyCloseAf", complete, ndis)
        assert complete.op == cm_complete.op is not None
        assert host.cm.notify_completions == [NDIS_STATUS_SUCCESS]
        assert not ndis.handles.is_live(af.handle)
        assert af.handle.label not in host.handles()
        assert ndis.address_families == () and ndis.operations == ()
        assert [leak for leak in ndis.leaks() if leak.kind == "AF"] == []
        assert ndis.check_invariants() == [] and ndis.verifier.violations == []
