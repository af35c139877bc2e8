"""Every CoNDIS DDI and handler in spec/INDEX.md is implemented, listed and exercised.

The CoNDIS table of INDEX.md (functions, macros and callbacks; a callback by the handler
name in parentheses) must match `condis ddi --json`: present, implemented, same kind and
IRQL text. Then a set of scenario runs, on both call-manager paths, must between them
put every one of those names in a trace, so that no DDI is implemented without a run
that reaches it:

* the `condis demo` scenarios (condis.demo): the AF lifecycle over an MCM and over a
  stand-alone call manager, including notify-close and halt, and a call with data;
* `mcm_extras`: the sample MCM with pended completions, multipoint calls, QoS, OIDs,
  status indications and VC names;
* `cm_extras`: a stand-alone call manager over a plain CoNDIS miniport that pends its
  VC activations. The sample call manager has no call signaling at all, so
  `ScriptedCallManager` below adds the least that reaches the NdisCm spellings of the
  call, party, QoS and OID DDIs: each handler pends, and the scenario plays the network
  by calling the driver's methods, which call the DDIs as its receive path would.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    DISPATCH_LEVEL,
    NDIS_STATUS_MEDIA_CONNECT,
    NDIS_STATUS_PENDING,
    NDIS_STATUS_SUCCESS,
    Ndis,
)
from condis.cli import main
from condis.demo import af_lifecycle, call_lifecycle
from condis.oid import NDIS_OID_REQUEST
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.callmanager import CmVc
from condis.samples.mcm import OID_SAMPLE_LINK_SPEED, called_party
from condis.status_ind import NDIS_STATUS_INDICATION
from condis.vcnames import VAR_STRING

INDEX = Path(__file__).resolve().parents[1].parent / "shared" / "spec" / "INDEX.md"
ROW = re.compile(
    r"^\| (?P<area>[^|]+) \| (?P<name>[^|]+) \| (?P<kind>[^|]+) \| [^|]* \| (?P<irql>[^|]*) \|"
)
SAPS = {name: CO_SAP(SapType=1, Sap=name.encode()) for name in ("bob", "carol")}
OID_CLIENT = 0xFF020001

pytestmark = pytest.mark.skipif(not INDEX.exists(), reason=f"{INDEX} is not there")


@cache
def condis_rows() -> dict[str, tuple[str, str]]:
    """name -> (kind, irql) for every function, macro and callback of the CoNDIS table."""
    text = INDEX.read_text(encoding="utf-8")
    table = text.split("## CoNDIS DDIs", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str]] = {}
    for line in table.splitlines():
        m = ROW.match(line)
        if m is None or m["area"] in ("area", "---"):
            continue
        name, kind, irql = m["name"].strip(), m["kind"].strip(), m["irql"].strip()
        if kind == "structure":
            continue
        callback = re.fullmatch(r"[A-Z0-9_]+ \((\w+)\)", name)
        rows[callback[1] if callback else name] = (kind, irql)
    return rows


@cache
def cli_rows() -> dict[str, dict[str, Any]]:
    result = CliRunner().invoke(main, ["ddi", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    return {row["name"]: row for row in rows}


class TestIndexAgainstTheCli:
    """`condis ddi --json` lists every DDI and handler of the CoNDIS table as implemented."""

    def test_the_table_parses(self) -> None:
        rows = condis_rows()
        # INDEX.md: 111 CoNDIS DDIs, 4 of them structures
        assert len(rows) == 107
        kinds = [kind for kind, _ in rows.values()]
        assert (kinds.count("function"), kinds.count("macro"), kinds.count("callback")) == (
            49,
            16,
            42,
        )
        assert rows["ProtocolCoStatusEx"] == ("callback", "<= DISPATCH_LEVEL (see Remarks section)")
        assert rows["NdisCoGetTapiCallId"] == ("function", "DISPATCH_LEVEL")

    @pytest.mark.parametrize("name", sorted(condis_rows()) if INDEX.exists() else [])
    def test_listed_and_implemented(self, name: str) -> None:
        kind, irql = condis_rows()[name]
        row = cli_rows().get(name)
        assert row is not None, f"{name} is missing from `condis ddi`"
        assert row["implemented"] is True
        assert (row["kind"], row["irql"]) == (kind, irql)


# --- scenarios ---------------------------------------------------------------------------------


class BusyMcm(SampleMcm):
    """The sample MCM (completion="pended"), also pending what the sample answers at once:
    a client's OID request to its call-manager half (NdisMCmOidRequestComplete) and a
    party drop (NdisMCmDropPartyComplete), both completed from a work item."""

    def ProtocolCoOidRequest(self, Af: Any, Vc: Any, Party: Any, OidRequest: Any) -> Any:
        status = super().ProtocolCoOidRequest(Af, Vc, Party, OidRequest)
        handle = Af.handle
        self._defer(
            Af.adapter,
            lambda: self.ndis.NdisMCmOidRequestComplete(handle, None, None, OidRequest, status),
        )
        return NDIS_STATUS_PENDING

    def ProtocolCmDropParty(self, CallMgrPartyContext: Any, CloseData: Any, Size: int) -> Any:
        status = super().ProtocolCmDropParty(CallMgrPartyContext, CloseData, Size)
        handle = CallMgrPartyContext.handle
        adapter = CallMgrPartyContext.root.af.adapter
        self._defer(adapter, lambda: self.ndis.NdisMCmDropPartyComplete(status, handle))
        return NDIS_STATUS_PENDING


class PendingOidClient(SampleClient):
    """Pends the OID requests a call manager makes of it (the scenario completes them)."""

    def ProtocolCoOidRequest(self, Af: Any, Vc: Any, Party: Any, OidRequest: Any) -> Any:
        super().ProtocolCoOidRequest(Af, Vc, Party, OidRequest)
        self.parked = OidRequest
        return NDIS_STATUS_PENDING


def mcm_extras() -> Ndis:
    """What the demos leave out on the MCM path."""
    ndis = Ndis()
    ndis.load_driver(
        BusyMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion="pended"), "mcm"
    )
    alice = PendingOidClient(ndis)
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAPS["bob"]]}, incoming="pend")
    carol = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAPS["carol"]]})
    for client, name in ((alice, "alice"), (bob, "bob"), (carol, "carol")):
        ndis.load_driver(client, name)
    ndis.add_adapter("mcm", "mcm0")
    ndis.run()
    af = alice.afs("open")[0]
    # a multipoint call; bob pends the offer and answers (ProtocolCmIncomingCallComplete)
    vc = alice.make_call(af, called_party(SAPS["bob"]), multipoint=True)
    ndis.run()
    (bob_vc,) = bob.afs("open")[0].vcs
    bob.answer(bob_vc, NDIS_STATUS_SUCCESS)
    ndis.run()
    assert vc is not None and vc.call == "connected"
    alice.add_party(vc, called_party(SAPS["carol"]))
    ndis.run()
    # QoS, pended and completed (a multipoint root has no peer to tell), and a remote
    # change indicated at bob's leaf as the MCM's receive path would
    alice.modify_qos(vc, called_party(SAPS["bob"], ReceivePriority=1))
    ndis.NdisMCmDispatchIncomingCallQoSChange(bob_vc.handle, called_party(SAPS["bob"]))
    ndis.run()
    # OIDs: to the miniport, to the call-manager half, and from the MCM to alice
    binding = alice.bindings[0].handle
    ndis.NdisCoOidRequest(binding, None, None, None, NDIS_OID_REQUEST(Oid=OID_SAMPLE_LINK_SPEED))
    ndis.NdisCoOidRequest(binding, af.handle, None, None, NDIS_OID_REQUEST(Oid=5))
    ndis.run()
    alice.oid_values[OID_CLIENT] = 1
    request = NDIS_OID_REQUEST(Oid=OID_CLIENT)
    assert ndis.NdisMCmOidRequest(af.handle, None, None, request) == NDIS_STATUS_PENDING
    with ndis.driver_context(ndis.driver("alice")):
        ndis.NdisCoOidRequestComplete(af.handle, None, None, request, NDIS_STATUS_SUCCESS)
    # status, with and without a VC
    adapter = ndis.adapter("mcm0").handle
    indication = NDIS_STATUS_INDICATION(StatusCode=NDIS_STATUS_MEDIA_CONNECT)
    ndis.NdisMCoIndicateStatusEx(adapter, None, indication)
    ndis.NdisMCoIndicateStatusEx(adapter, vc.handle, indication)
    # data to the leaves; then carol hangs up (an incoming drop, pended drop at the MCM)
    alice.send(vc, b"to the leaves")
    ndis.run()
    (carol_vc,) = carol.afs("open")[0].vcs
    carol.close_call(carol_vc)
    ndis.run()
    # VC names
    with ndis.driver_context(ndis.driver("alice"), DISPATCH_LEVEL):
        name = VAR_STRING(ulTotalSize=100)
        ndis.NdisCoGetTapiCallId(vc.handle, name)
        ndis.NdisClGetProtocolVcContextFromTapiCallId(name.String.decode("utf-16-le"))
        ndis.NdisCoAssignInstanceName(vc.handle, "root")
    alice.close_call(vc)
    ndis.run()
    ndis.halt_adapter("mcm0")
    return ndis


class ScriptedCallManager(SampleCallManager):
    """A stand-alone call manager whose call signaling the scenario drives (module doc)."""

    def ProtocolCmMakeCall(self, CallMgrVcContext: Any, CallParameters: Any, Party: Any) -> Any:
        self.activate_vc(CallMgrVcContext, CallParameters)
        return NDIS_STATUS_PENDING

    def ProtocolCmCloseCall(self, CallMgrVcContext: Any, Party: Any, Data: Any, Size: int) -> Any:
        self.deactivate_vc(CallMgrVcContext)
        return NDIS_STATUS_PENDING

    def ProtocolCmIncomingCallComplete(self, Status: Any, Vc: Any, CallParameters: Any) -> None:
        self.answered = Status

    def ProtocolCmAddParty(self, CallMgrVcContext: Any, CallParameters: Any, Handle: Any) -> Any:
        return NDIS_STATUS_PENDING

    def ProtocolCmDropParty(self, CallMgrPartyContext: Any, CloseData: Any, Size: int) -> Any:
        return NDIS_STATUS_PENDING

    def ProtocolCmModifyCallQoS(self, CallMgrVcContext: Any, CallParameters: Any) -> Any:
        self.activate_vc(CallMgrVcContext, CallParameters)  # the new QoS, to the miniport
        return NDIS_STATUS_PENDING

    def ProtocolCoOidRequest(self, Af: Any, Vc: Any, Party: Any, OidRequest: Any) -> Any:
        return NDIS_STATUS_PENDING

    def ProtocolCoOidRequestComplete(self, *args: Any) -> None:
        """Nothing waits for the requests this call manager makes."""

    # --- the network's side, called by the scenario ------------------------------------------

    def offer(self, af_handle: Any, sap: CO_SAP, parameters: Any) -> Any:
        """An incoming call for the client that registered `sap`: a VC for it, activated."""
        (binding,) = self.bindings
        vc = CmVc(binding=binding, af=binding.afs[af_handle])
        status, vc.handle = self.ndis.NdisCoCreateVc(binding.handle, af_handle, vc)
        assert status == NDIS_STATUS_SUCCESS
        binding.vcs[vc.handle] = vc
        self.activate_vc(vc, parameters)
        return vc

    def dispatch(self, sap: CO_SAP, vc: Any, parameters: Any) -> Any:
        (binding,) = self.bindings
        entry = binding.saps[(sap.SapType, sap.Sap)]
        return self.ndis.NdisCmDispatchIncomingCall(entry.handle, vc.handle, parameters)


def cm_extras() -> Ndis:
    """The NdisCm spellings: calls, parties, QoS and OIDs over a stand-alone call manager,
    with a miniport that pends its activations (NdisMCoActivateVcComplete ->
    ProtocolCmActivateVcComplete and the deactivation's pair)."""
    ndis = Ndis()
    ndis.load_driver(SampleCoMiniport(ndis, completion="pended"), "miniport")
    cm = ScriptedCallManager(ndis, completion="pended")
    ndis.load_driver(cm, "cm")
    alice = SampleClient(ndis)
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAPS["bob"]]}, incoming="pend")
    ndis.load_driver(alice, "alice")
    ndis.load_driver(bob, "bob")
    ndis.add_adapter("miniport", "atm0")
    ndis.run()  # AFs open, bob's SAP registered (all pended by the call manager)
    params = called_party(SAPS["bob"])
    af, bob_af = alice.afs("open")[0], bob.afs("open")[0]
    vc = alice.make_call(af, params, multipoint=True)
    callee = cm.offer(bob_af.handle, SAPS["bob"], params)
    ndis.run()  # both VCs activated (the miniport pends)
    assert cm.dispatch(SAPS["bob"], callee, params) == NDIS_STATUS_PENDING
    (bob_vc,) = bob_af.vcs
    bob.answer(bob_vc, NDIS_STATUS_SUCCESS)  # -> ProtocolCmIncomingCallComplete
    assert vc is not None and vc.handle is not None
    first = vc.parties[0].handle
    ndis.NdisCmMakeCallComplete(NDIS_STATUS_SUCCESS, vc.handle, first, "party 1", params)
    ndis.NdisCmDispatchCallConnected(callee.handle)
    assert vc.call == bob_vc.call == "connected"
    # a second party, then QoS both ways
    party = alice.add_party(vc, params)
    ndis.NdisCmAddPartyComplete(NDIS_STATUS_SUCCESS, party.handle, "party 2", params)
    alice.modify_qos(vc, params)
    ndis.run()
    ndis.NdisCmModifyCallQoSComplete(NDIS_STATUS_SUCCESS, vc.handle, params)
    ndis.NdisCmDispatchIncomingCallQoSChange(callee.handle, params)
    # an OID request from alice that the call manager pends
    request = NDIS_OID_REQUEST(Oid=OID_CLIENT)
    binding = alice.bindings[0].handle
    assert ndis.NdisCoOidRequest(binding, af.handle, None, None, request) == NDIS_STATUS_PENDING
    with ndis.driver_context(ndis.driver("cm")):
        ndis.NdisCoOidRequestComplete(af.handle, None, None, request, NDIS_STATUS_SUCCESS)
    # the second party hangs up: alice drops it, the call manager pends the drop
    ndis.NdisCmDispatchIncomingDropParty(NDIS_STATUS_SUCCESS, party.handle, None, 0)
    ndis.NdisCmDropPartyComplete(NDIS_STATUS_SUCCESS, party.handle)
    # status and names on this path too
    adapter = ndis.adapter("atm0").handle
    indication = NDIS_STATUS_INDICATION(StatusCode=NDIS_STATUS_MEDIA_CONNECT)
    ndis.NdisMCoIndicateStatusEx(adapter, vc.handle, indication)
    with ndis.driver_context(ndis.driver("alice"), DISPATCH_LEVEL):
        name = VAR_STRING(ulTotalSize=100)
        ndis.NdisCoGetTapiCallId(vc.handle, name)
        ndis.NdisClGetProtocolVcContextFromTapiCallId(name.String.decode("utf-16-le"))
        ndis.NdisCoAssignInstanceName(vc.handle, "root")
    # bob, the last party, hangs up: alice hears of it as an incoming close and closes with
    # the last party; each close is pended until the miniport has deactivated the VC
    ndis.NdisCmDispatchIncomingCloseCall(NDIS_STATUS_SUCCESS, vc.handle, None, 0)
    ndis.run()
    ndis.NdisCmCloseCallComplete(NDIS_STATUS_SUCCESS, vc.handle, None)
    bob.close_call(bob_vc)
    ndis.run()
    ndis.NdisCmCloseCallComplete(NDIS_STATUS_SUCCESS, callee.handle, None)
    ndis.NdisCoDeleteVc(callee.handle)  # the call manager deletes the VC it made
    ndis.run()
    ndis.halt_adapter("atm0")
    return ndis


@cache
def runs() -> dict[str, Ndis]:
    return {
        "demo af": af_lifecycle(),
        "demo call": call_lifecycle(),
        "mcm extras": mcm_extras(),
        "cm extras": cm_extras(),
    }


class TestEveryDdiIsExercised:
    """The union of the scenario traces covers the CoNDIS table."""

    def test_the_scenarios_run_clean(self) -> None:
        for name, ndis in runs().items():
            assert ndis.crashed is None, name
            assert ndis.verifier.violations == [], name
            assert ndis.operations == (), name

    def test_every_name_is_in_some_trace(self) -> None:
        seen = {r.name for ndis in runs().values() for r in ndis.trace}
        missing = sorted(set(condis_rows()) - seen)
        assert missing == []

    def test_both_spellings_are_exercised_on_their_own_path(self) -> None:
        by_run = {name: {r.name for r in ndis.trace} for name, ndis in runs().items()}
        assert "NdisCmMakeCallComplete" in by_run["cm extras"]
        assert "NdisMCmMakeCallComplete" in by_run["demo call"]
        assert not any(n.startswith("NdisCm") for n in by_run["demo call"] | by_run["mcm extras"])
        assert not any(n.startswith("NdisMCm") for n in by_run["cm extras"])
