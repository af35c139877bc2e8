"""VC activation: NdisCmActivateVc / NdisCmDeactivateVc and their MCM spellings (vc_activation.py).

The contract is vc_activation.py's docstring and the pages it names (nf-ndis-ndiscmactivatevc,
nc-ndis-miniport_co_activate_vc, nf-ndis-ndismcoactivatevccomplete, nf-ndis-ndismcmactivatevc,
the deactivate equivalents, guide/activating-a-vc.md, deactivating-a-vc.md). The hosts
are hosts/paths.py's; the VC helpers hosts/vcs.py's.
"""

from __future__ import annotations

from typing import Any

import pytest

from condis import (
    CO_CALL_PARAMETERS,
    NDIS_STATUS_FAILURE,
    NDIS_STATUS_INVALID_DATA,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    Ndis,
)
from condis.samples.mcm import called_party
from hosts.paths import SAP_CAROL, build, refused, returned, within
from hosts.vcs import PARAMS, alice_vc, vc_rows
from util import calls, in_order, mark_of

NO_MEDIA = CO_CALL_PARAMETERS()  # SampleCoMiniport rejects these (NDIS_STATUS_INVALID_DATA)


def state_of(ndis: Ndis, handle: Any) -> str:
    return next(state for label, state, _ in vc_rows(ndis) if label == handle.label)


class TestCmActivation:
    """NdisCmActivateVc / NdisCmDeactivateVc through the miniport."""

    def test_activate_in_line(self) -> None:
        host = build("cm")
        ndis, vc = host.ndis, alice_vc(host)
        after = mark_of(ndis)
        assert ndis.NdisCmActivateVc(vc.handle, PARAMS) == NDIS_STATUS_SUCCESS
        call, mp = in_order(
            ndis,
            ("call", "NdisCmActivateVc", None, "samplecallmanager"),
            ("call", "MiniportCoActivateVc", None, "samplecominiport"),
            after=after,
        )
        assert within(ndis, call, mp)
        # Not PENDING: the call manager makes the internal call; NDIS calls nothing.
        assert calls(ndis, "ProtocolCmActivateVcComplete") == []
        assert state_of(ndis, vc.handle) == "active" and ndis.operations == ()

    def test_activate_pended(self) -> None:
        host = build("cm", "pended")
        ndis, vc = host.ndis, alice_vc(host)
        after = mark_of(ndis)
        assert ndis.NdisCmActivateVc(vc.handle, PARAMS) == NDIS_STATUS_PENDING
        assert state_of(ndis, vc.handle) == "activating"
        assert [op.kind for op in ndis.operations] == ["activate-vc"]
        # A second request while one is in progress fails.
        assert ndis.NdisCmActivateVc(vc.handle, PARAMS) == NDIS_STATUS_FAILURE
        ndis.run()
        complete, handler = in_order(
            ndis,
            ("call", "NdisMCoActivateVcComplete", None, "samplecominiport"),
            ("call", "ProtocolCmActivateVcComplete", None, "samplecallmanager"),
            after=after,
        )
        assert within(ndis, complete, handler)
        assert state_of(ndis, vc.handle) == "active" and ndis.operations == ()

    def test_invalid_parameters(self) -> None:
        host = build("cm")
        ndis, vc = host.ndis, alice_vc(host)
        assert ndis.NdisCmActivateVc(vc.handle, NO_MEDIA) == NDIS_STATUS_INVALID_DATA
        assert returned(ndis, "MiniportCoActivateVc") == [NDIS_STATUS_INVALID_DATA]
        assert state_of(ndis, vc.handle) == "created"

    @pytest.mark.parametrize("completion", ["sync", "pended"])
    def test_failed_reactivation_keeps_the_vc_active(self, completion: str) -> None:
        host = build("cm", completion)
        ndis, vc = host.ndis, alice_vc(host)
        ndis.NdisCmActivateVc(vc.handle, PARAMS)
        ndis.run()
        assert state_of(ndis, vc.handle) == "active"
        assert ndis.NdisCmActivateVc(vc.handle, NO_MEDIA) == NDIS_STATUS_INVALID_DATA
        assert state_of(ndis, vc.handle) == "active"
        (entry,) = ndis.vcs
        assert entry.call_parameters is PARAMS

    def test_reactivation_with_new_parameters(self) -> None:
        host = build("cm", "pended")
        ndis, vc = host.ndis, alice_vc(host)
        ndis.NdisCmActivateVc(vc.handle, PARAMS)
        ndis.run()
        new = called_party(SAP_CAROL)
        assert ndis.NdisCmActivateVc(vc.handle, new) == NDIS_STATUS_PENDING
        assert state_of(ndis, vc.handle) == "reactivating"
        ndis.run()
        assert state_of(ndis, vc.handle) == "active"
        assert ndis.vcs[0].call_parameters is new

    @pytest.mark.parametrize("completion", ["sync", "pended"])
    def test_deactivate(self, completion: str) -> None:
        host = build("cm", completion)
        ndis, vc = host.ndis, alice_vc(host)
        ndis.NdisCmActivateVc(vc.handle, PARAMS)
        ndis.run()
        after = mark_of(ndis)
        status = ndis.NdisCmDeactivateVc(vc.handle)
        call, mp = in_order(
            ndis,
            ("call", "NdisCmDeactivateVc", None, "samplecallmanager"),
            ("call", "MiniportCoDeactivateVc", None, "samplecominiport"),
            after=after,
        )
        assert within(ndis, call, mp)
        if completion == "sync":
            assert status == NDIS_STATUS_SUCCESS
            assert calls(ndis, "ProtocolCmDeactivateVcComplete") == []
        else:
            assert status == NDIS_STATUS_PENDING
            assert state_of(ndis, vc.handle) == "deactivating"
            ndis.run()
            complete, handler = in_order(
                ndis,
                ("call", "NdisMCoDeactivateVcComplete", None, "samplecominiport"),
                ("call", "ProtocolCmDeactivateVcComplete", None, "samplecallmanager"),
                after=after,
            )
            assert within(ndis, complete, handler)
        assert state_of(ndis, vc.handle) == "created" and ndis.operations == ()
        # The handle stays valid: the VC can be activated again.
        assert ndis.NdisCmDeactivateVc(vc.handle) == NDIS_STATUS_NOT_ACCEPTED
        ndis.NdisCmActivateVc(vc.handle, PARAMS)
        ndis.run()
        assert state_of(ndis, vc.handle) == "active"

    def test_mcm_spelling_on_a_miniport_vc_is_refused(self) -> None:
        host = build("cm")
        ndis, vc = host.ndis, alice_vc(host)
        refused(host, "CoNdisMcmSpelling", lambda: ndis.NdisMCmActivateVc(vc.handle, PARAMS))
        ndis.NdisCmActivateVc(vc.handle, PARAMS)
        refused(host, "CoNdisMcmSpelling", lambda: ndis.NdisMCmDeactivateVc(vc.handle))


class TestMcmActivation:
    """NdisMCmActivateVc / NdisMCmDeactivateVc: synchronous, no handler called."""

    def test_activate_then_deactivate(self) -> None:
        host = build("mcm")
        ndis, vc = host.ndis, alice_vc(host)
        after = mark_of(ndis)
        assert ndis.NdisMCmActivateVc(vc.handle, PARAMS) == NDIS_STATUS_SUCCESS
        assert state_of(ndis, vc.handle) == "active"
        assert ndis.NdisMCmActivateVc(vc.handle, PARAMS) == NDIS_STATUS_SUCCESS  # reactivation
        assert ndis.NdisMCmDeactivateVc(vc.handle) == NDIS_STATUS_SUCCESS
        assert state_of(ndis, vc.handle) == "created"
        assert ndis.NdisMCmDeactivateVc(vc.handle) == NDIS_STATUS_NOT_ACCEPTED
        assert {r.kind.value for r in ndis.trace if r.seq > after} == {"ddi"}
        assert ndis.operations == ()

    def test_deactivating_a_vc_never_activated_is_not_accepted(self) -> None:
        host = build("mcm")
        vc = alice_vc(host)
        assert host.ndis.NdisMCmDeactivateVc(vc.handle) == NDIS_STATUS_NOT_ACCEPTED

    def test_call_manager_spelling_on_an_mcm_vc_is_refused(self) -> None:
        host = build("mcm")
        ndis, vc = host.ndis, alice_vc(host)
        refused(host, "CoNdisMcmSpelling", lambda: ndis.NdisCmActivateVc(vc.handle, PARAMS))
        ndis.NdisMCmActivateVc(vc.handle, PARAMS)
        refused(host, "CoNdisMcmSpelling", lambda: ndis.NdisCmDeactivateVc(vc.handle))
