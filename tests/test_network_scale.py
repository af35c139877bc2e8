"""The whole call path at scale, and the `condis demo call` scenario.

One SampleMcm adapter carries 1,000 SampleClient drivers, each with its own SAP; 10,000 calls
run between them with data both ways, the callers and callees chosen deterministically. A
ledger kept here says what was sent where; every byte must arrive exactly once, in order, at
the right peer. Then every AF closes, the adapter halts, and nothing is left in any table.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from click.testing import CliRunner

from condis import CO_ADDRESS_FAMILY_Q2931, CO_SAP, NDIS_STATUS_SUCCESS, Ndis
from condis.cli import main
from condis.demo import call_lifecycle
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm import called_party

CLIENTS = 1_000
CALLS = 10_000
BATCH = 250  # calls set up, carrying data and torn down together
PACKETS = 2  # each way, per call


class LedgerClient(SampleClient):
    """The sample client, writing every packet it receives into a shared arrivals list."""

    def __init__(self, ndis: Ndis, name: str, arrivals: list[tuple[str, bytes]]) -> None:
        super().__init__(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [sap_of(name)]})
        self.name = name
        self.arrivals = arrivals

    def ProtocolCoReceiveNetBufferLists(self, *args: Any) -> None:
        for nbl in args[2].chain():
            self.arrivals.append((self.name, nbl.data))
        super().ProtocolCoReceiveNetBufferLists(*args)


def sap_of(name: str) -> CO_SAP:
    return CO_SAP(SapType=1, Sap=name.encode())


def pair(call: int) -> tuple[int, int]:
    """Caller and callee of call number `call` (never the same client)."""
    caller = (call * 7) % CLIENTS
    callee = (caller + 1 + (call * 13) % (CLIENTS - 1)) % CLIENTS
    return caller, callee


def assert_nothing_left(ndis: Ndis) -> None:
    assert ndis.address_families == () and ndis.saps == () and ndis.vcs == ()
    assert ndis.calls == () and ndis.operations == () and ndis.in_flight == ()
    assert ndis.work_items == () and ndis.timers == ()
    assert all(label.startswith("NdisDriverHandle#") for label in ndis.snapshot()["handles"])
    assert ndis.verifier.violations == [] and ndis.crashed is None


def test_ten_thousand_calls_between_a_thousand_clients() -> None:
    ndis = Ndis()
    arrivals: list[tuple[str, bytes]] = []
    ndis.load_driver(SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,)), "samplemcm")
    names = [f"c{i:04d}" for i in range(CLIENTS)]
    clients = []
    for name in names:
        clients.append(LedgerClient(ndis, name, arrivals))
        ndis.load_driver(clients[-1], name)
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    afs = [c.afs("open")[0] for c in clients]
    assert all(af.saps[0].state == "registered" for af in afs)
    assert len(ndis.saps) == CLIENTS

    ledger: dict[bytes, str] = {}  # payload -> the client that must receive it
    for start in range(0, CALLS, BATCH):
        batch = range(start, min(start + BATCH, CALLS))
        made = {}
        for call in batch:
            caller, callee = pair(call)
            vc = clients[caller].make_call(afs[caller], called_party(sap_of(names[callee])))
            assert vc is not None
            made[call] = vc
        ndis.run()
        assert len(ndis.calls) == 2 * len(batch)
        for call, vc in made.items():
            assert vc.call == "connected", (call, vc.last_status)
            caller, callee = pair(call)
            for n in range(PACKETS):
                payload = f"{call}>{n}".encode()
                ledger[payload] = names[callee]
                clients[caller].send(vc, payload)
        ndis.run()
        # The callee's end of each call is the incoming VC the caller's data arrived on.
        for callee in {pair(call)[1] for call in batch}:
            for bob_vc in (v for v in afs[callee].vcs if v.incoming):
                assert bob_vc.call == "connected"
                call = int(bob_vc.received[0].split(b">")[0])
                assert pair(call)[1] == callee
                assert bob_vc.received == [f"{call}>{n}".encode() for n in range(PACKETS)]
                for n in range(PACKETS):
                    payload = f"{call}<{n}".encode()
                    ledger[payload] = names[pair(call)[0]]
                    clients[callee].send(bob_vc, payload)
        ndis.run()
        for call, vc in made.items():
            assert vc.send_statuses == [NDIS_STATUS_SUCCESS] * PACKETS
            assert clients[pair(call)[0]].close_call(vc) == NDIS_STATUS_SUCCESS
        ndis.run()
        for call, vc in made.items():
            assert clients[pair(call)[0]].delete_vc(vc) == NDIS_STATUS_SUCCESS
        assert ndis.calls == () and ndis.vcs == () and ndis.in_flight == ()

    # The ledger: every packet exactly once, at the right client, in order per call and way.
    assert len(ledger) == CALLS * PACKETS * 2
    counts = Counter(payload for _, payload in arrivals)
    assert set(counts) == set(ledger) and set(counts.values()) == {1}
    assert all(ledger[payload] == receiver for receiver, payload in arrivals)
    last: dict[bytes, int] = {}
    for _, payload in arrivals:
        key, n = payload[:-1], int(payload[-1:])
        assert last.get(key, -1) == n - 1
        last[key] = n
    assert ndis.data_counts.sent == ndis.data_counts.send_completed == len(ledger)
    assert ndis.data_counts.indicated == ndis.data_counts.returned == len(ledger)

    for client, af in zip(clients, afs, strict=True):
        client.close_af(af)
    ndis.run()
    assert all(c.afs() == [] for c in clients)
    ndis.halt_adapter("mcm0")
    assert_nothing_left(ndis)


# --- the demo ------------------------------------------------------------------------------------


DEMO_CALLS = [
    "NdisClRegisterSap",
    "NdisClMakeCall",
    "ProtocolCmMakeCall",
    "ProtocolClIncomingCall",
    "ProtocolClMakeCallComplete",
    "ProtocolClCallConnected",
    "NdisCoSendNetBufferLists",
    "ProtocolCoReceiveNetBufferLists",
    "NdisClModifyCallQoS",
    "ProtocolCmModifyCallQoS",
    "ProtocolClIncomingCallQoSChange",
    "ProtocolClModifyCallQoSComplete",
    "NdisClCloseCall",
    "ProtocolClCloseCallComplete",
    "NdisCoDeleteVc",
    "NdisClDeregisterSap",
    "NdisClCloseAddressFamily",
]


class TestDemoCall:
    """`condis demo call`: a complete call between two clients of the sample MCM."""

    def test_json_trace_in_order(self) -> None:
        result = CliRunner().invoke(main, ["demo", "call", "--json"])
        assert result.exit_code == 0, result.output
        records = [json.loads(line) for line in result.output.splitlines()]
        assert [r["seq"] for r in records] == list(range(len(records)))
        names = iter(r["name"] for r in records if r["phase"] == "call")
        missing = [name for name in DEMO_CALLS if name not in names]  # consumes in order
        assert missing == []

    def test_nothing_left_after_the_halt(self) -> None:
        ndis = call_lifecycle()
        assert_nothing_left(ndis)
        assert {r.driver for r in ndis.trace if r.name == "ProtocolCoReceiveNetBufferLists"} == {
            "alice",
            "bob",
        }
