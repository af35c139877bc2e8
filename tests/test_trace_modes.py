"""Trace modes: the whole trace, the last N records, none, and a JSON Lines stream.

Every mode numbers the same crossings the same way, reports the same
violations at the same seq, and places the same leaks; they differ only in
what they keep. Records are built when read and are then the same objects.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from condis import CO_ADDRESS_FAMILY_Q2931, Mode, Ndis
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm_state import called_party
from condis.structs import CO_SAP
from condis.trace import Phase, Trace, to_jsonl


def workload(**options: Any) -> Ndis:
    """A call, data both ways, a stale-handle violation, and bob's AF left open (leaks)."""
    ndis = Ndis(mode=Mode.COLLECT, **options)
    sap = CO_SAP(SapType=1, Sap=b"bob")
    mcm = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion="pended")
    alice = SampleClient(ndis)
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [sap]})
    for driver, name in ((mcm, "samplemcm"), (alice, "alice"), (bob, "bob")):
        ndis.load_driver(driver, name)
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    vc = alice.make_call(alice.afs("open")[0], called_party(sap))
    ndis.run()
    assert vc is not None and vc.handle is not None
    alice.send(vc, b"hello", b"bob")
    ndis.run()
    alice.close_call(vc)
    ndis.run()
    handle = vc.handle
    alice.delete_vc(vc)
    ndis.run()
    ndis.NdisCoDeleteVc(handle)  # stale: NdisHandleStale, collected
    return ndis


@pytest.fixture(scope="module")
def whole() -> Ndis:
    return workload()


def test_the_default_keeps_every_record(whole: Ndis) -> None:
    trace = whole.trace
    assert len(trace) == trace.next_seq > 100
    assert trace.first_seq == 0 and trace.dropped == 0
    assert [r.seq for r in trace] == list(range(len(trace)))


def test_a_record_is_built_once(whole: Ndis) -> None:
    assert whole.trace[5] is whole.trace[5]
    assert whole.trace[-1] is whole.trace[len(whole.trace) - 1]
    assert whole.trace[3:6] == tuple(whole.trace[i] for i in (3, 4, 5))


@pytest.mark.parametrize("options", [{"trace": False}, {"trace_limit": 40}, {"trace_limit": 1}])
def test_every_mode_numbers_reports_and_places_alike(whole: Ndis, options: dict) -> None:
    ndis = workload(**options)
    assert ndis.trace.next_seq == whole.trace.next_seq
    assert [(v.rule, v.seq, v.ddi, v.handle) for v in ndis.verifier.violations] == [
        (v.rule, v.seq, v.ddi, v.handle) for v in whole.verifier.violations
    ]
    assert [v.rule for v in ndis.verifier.violations] == ["NdisHandleStale"]
    assert ndis.leaks() == whole.leaks()
    assert all(leak.allocated_seq is not None for leak in ndis.leaks())
    assert ndis.snapshot() == whole.snapshot()


def test_trace_off_keeps_nothing() -> None:
    ndis = workload(trace=False)
    assert len(ndis.trace) == 0 and list(ndis.trace) == []
    assert ndis.trace.dropped == ndis.trace.next_seq
    (violation,) = ndis.verifier.violations
    assert violation.excerpt == ()


def test_a_limit_keeps_the_last_records(whole: Ndis) -> None:
    ndis = workload(trace_limit=40)
    trace = ndis.trace
    assert len(trace) == 40
    assert trace.first_seq == whole.trace.next_seq - 40
    assert list(trace) == list(whole.trace[-40:])
    assert trace.since(trace.next_seq - 3) == tuple(whole.trace[-3:])
    (violation,) = ndis.verifier.violations
    assert violation.excerpt == whole.verifier.violations[0].excerpt != ()


def test_a_sink_streams_every_record_as_json_lines(whole: Ndis) -> None:
    for keep in (True, False):
        sink = io.StringIO()
        ndis = workload(trace=keep, trace_sink=sink)
        assert sink.getvalue() == to_jsonl(whole.trace)
        assert len(ndis.trace) == (len(whole.trace) if keep else 0)
        first = json.loads(sink.getvalue().splitlines()[0])
        assert first["seq"] == 0 and first["phase"] == Phase.CALL.value


def test_a_trace_of_ones_own_is_recorded_into(whole: Ndis) -> None:
    mine = Trace(limit=10)
    ndis = workload(trace=mine)
    assert ndis.trace is mine and list(mine) == list(whole.trace[-10:])


def test_names_reads_the_kept_records(whole: Ndis) -> None:
    assert whole.trace.names(Phase.CALL) == [r.name for r in whole.trace if r.phase is Phase.CALL]


@pytest.mark.parametrize(
    ("options", "error", "words"),
    [
        ({"trace_limit": 0}, ValueError, "trace_limit must be a positive int"),
        ({"trace_limit": True}, ValueError, "trace_limit must be a positive int"),
        ({"trace": False, "trace_limit": 5}, ValueError, "trace=False keeps no records"),
        ({"trace": "yes"}, TypeError, "trace must be True, False or a Trace"),
        ({"trace_sink": object()}, TypeError, "trace_sink must be a text stream"),
        ({"trace": Trace(), "trace_limit": 5}, ValueError, "give trace_limit and trace_sink"),
    ],
)
def test_bad_trace_options_are_refused(options: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=f"Ndis: {words}"):
        Ndis(**options)


def test_the_trace_cannot_be_swapped_under_a_running_host(whole: Ndis) -> None:
    with pytest.raises(AttributeError):
        whole.trace = Trace()  # type: ignore[misc]


def test_clear_drops_records_and_keeps_numbering() -> None:
    ndis = workload()
    seq = ndis.trace.next_seq
    ndis.trace.clear()
    assert len(ndis.trace) == 0 and ndis.trace.next_seq == seq and ndis.trace.first_seq == seq


def test_every_return_names_its_call(whole: Ndis) -> None:
    records = list(whole.trace)
    for r in records:
        if r.phase is Phase.RETURN:
            assert r.call is not None
            call = records[r.call]
            assert (call.phase, call.kind, call.name, call.depth) == (
                Phase.CALL,
                r.kind,
                r.name,
                r.depth,
            )
            assert r.to_json()["call"] == r.call
        else:
            assert r.call is None and "call" not in r.to_json()


def test_handler_calls_carry_their_arguments(whole: Ndis) -> None:
    by_name: dict[str, dict[str, str]] = {}
    for r in whole.trace:
        if r.phase is Phase.CALL and r.kind.value == "handler":
            by_name.setdefault(r.name, dict(r.args))
    assert by_name["ProtocolCoAfRegisterNotify"]["AddressFamily"] == "AF 0x1 v3.1"
    assert by_name["ProtocolClOpenAfCompleteEx"]["Status"] == "NDIS_STATUS_SUCCESS"
    assert by_name["ProtocolClOpenAfCompleteEx"]["NdisAfHandle"].startswith("NdisAfHandle#")
    assert by_name["ProtocolCmOpenAf"]["NdisAfHandle"].startswith("NdisAfHandle#")
    # a driver's context is shown by its type: it may change after the call
    assert by_name["ProtocolClOpenAfCompleteEx"]["ProtocolAfContext"] == "ClientAf"
    assert by_name["ProtocolCmMakeCall"]["CallParameters"] == "CO_CALL_PARAMETERS"


def test_the_trace_keeps_no_argument_alive() -> None:
    import gc
    import weakref

    from condis.trace.records import keep_args

    class Context:
        pass

    context = Context()
    kept = keep_args((context, None, 3))
    ref = weakref.ref(context)
    del context
    gc.collect()
    assert ref() is None and kept == ("Context", None, 3)
