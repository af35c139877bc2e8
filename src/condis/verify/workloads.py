"""The conformance workload: what condis does to a driver under test, by role.

condis pairs the driver under test with its own sample drivers for the
other roles and walks a standard sequence through it. Each workload can
stop after any stage (`STAGES`); the runner then shuts the host down, so
the driver's teardown is exercised from every stage, not only from a tidy
end.

    mcm          two sample clients on the MCM's adapter: AFs open, a SAP,
                 a call from one to the other, data both ways, a QoS change,
                 close, VC deletion, SAP deregistration, AF close.
    callmanager  the same over the sample CoNDIS miniport.
    client       the sample MCM's loopback network and a sample peer: the
                 driver opens AFs as it is told of them; the peer calls every
                 SAP the driver registered, sends data, closes the call. A
                 client under test that implements the hooks below is also
                 asked to make its own calls, send on them and hang up.
    miniport     the sample call manager and a sample client over the
                 driver's adapter: AF open, an outgoing call (the call
                 manager activates the VC on the miniport), data sent on it,
                 close (deactivation), VC deleted, AF closed.

Client hooks. NDIS itself never tells a client to make a call: an upper
layer does (TAPI, a socket, a service). The client workload plays that
layer through three optional methods a client under test may implement,
each doing what it names with the client's own code (NdisCoCreateVc and
NdisClMakeCall, NdisCoSendNetBufferLists, NdisClCloseCall):

    condis_make_call(NdisAfHandle, CallParameters)   make an outgoing call on
        this open AF to the peer's SAP (CallParameters say where)
    condis_send(packets)          send these byte strings on the calls it made
    condis_hang_up()              close the calls it made

A client without them is verified on incoming calls only.

Addresses follow the sample MCM's convention (`called_party`): a call
manager under test that cannot route them fails the call, which is its
right; the workload then goes on with teardown.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from condis.constants import CO_ADDRESS_FAMILY_Q2931
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.mcm import called_party
from condis.status import NDIS_STATUS_SUCCESS
from condis.structs import CO_SAP

__all__ = ["CLIENT_HOOKS", "ROLES", "STAGES", "Setup", "run_workload"]

#: what the client workload asks a client under test to do, if it implements them
CLIENT_HOOKS = ("condis_make_call", "condis_send", "condis_hang_up")

STAGES = ("init", "open", "call", "data", "end")
ROLES = ("mcm", "callmanager", "client", "miniport")

Completion = Literal["sync", "pended"]


@dataclass(frozen=True, slots=True)
class Setup:
    """One variant of the workload."""

    role: str
    #: how the sample drivers paired with the target complete what they may pend
    peers: Completion
    #: the last stage run before shutdown
    stop: str
    #: low-resources simulation (probability, seed), switched on once the
    #: network is up, as Driver Verifier starts it only after boot
    low_resources: tuple[float, int] | None = None


class _Stop(Exception):
    """Raised by `_stage` to end the workload after the stop stage."""


def _up(ndis: Any, setup: Setup) -> None:
    """The network is up: start low-resources simulation, then maybe stop."""
    if setup.low_resources is not None:
        ndis.faults.low_resources(*setup.low_resources)
    _stage(setup, "init")


def _stage(setup: Setup, name: str) -> None:
    if STAGES.index(name) >= STAGES.index(setup.stop):
        raise _Stop


def _load(ndis: Any, driver: Any, name: str) -> None:
    """Load a sample peer; if its DriverEntry fails (low on resources), the run ends."""
    if ndis.load_driver(driver, name) != NDIS_STATUS_SUCCESS:
        raise _Stop


def run_workload(ndis: Any, targets: Sequence[Any], names: Sequence[str], setup: Setup) -> None:
    """Load `targets` under `names`, pair them with samples and run `setup`."""
    if setup.role not in ROLES:
        raise ValueError(f"verify: role must be one of {', '.join(ROLES)}, not {setup.role!r}")
    if setup.stop not in STAGES:
        raise ValueError(f"verify: stop must be one of {', '.join(STAGES)}, not {setup.stop!r}")
    for driver, name in zip(targets, names, strict=True):
        if ndis.load_driver(driver, name) != NDIS_STATUS_SUCCESS:
            return  # DriverEntry failed (as it may, low on resources): nothing left to run
    workload: Callable[[Any, Sequence[Any], Sequence[str], Setup], None] = {
        "mcm": _mcm,
        "callmanager": _callmanager,
        "client": _client,
        "miniport": _miniport,
    }[setup.role]
    with contextlib.suppress(_Stop):
        workload(ndis, targets, names, setup)


# --- two sample clients calling each other through the target ------------------------

BOB = CO_SAP(SapType=1, Sap=b"bob")


def _two_clients(ndis: Any) -> tuple[SampleClient, SampleClient]:
    alice = SampleClient(ndis)
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [BOB]})
    _load(ndis, alice, "alice")
    _load(ndis, bob, "bob")
    return alice, bob


def _send_on(client: SampleClient, calls: Sequence[Any], *packets: bytes) -> None:
    for vc in calls:
        if vc.call == "connected":
            client.send(vc, *packets)


def _hang_up(ndis: Any, client: SampleClient, calls: Sequence[Any]) -> None:
    """Close the calls that are up, then delete every VC whose call is over."""
    for vc in calls:
        if vc.call == "connected":
            client.close_call(vc)
    ndis.run()
    for vc in calls:
        if vc.handle is not None and vc.call in ("closed", "failed", None):
            client.delete_vc(vc)
    ndis.run()


def _call_between(ndis: Any, alice: SampleClient, bob: SampleClient, setup: Setup) -> None:
    ndis.run()
    _stage(setup, "open")
    calls = []
    for af in alice.afs("open"):
        vc = alice.make_call(af, called_party(BOB))
        if vc is not None:
            calls.append(vc)
    ndis.run()
    _stage(setup, "call")
    _send_on(alice, calls, b"ping", b"pong")
    _send_on(bob, [vc for af in bob.afs("open") for vc in af.vcs], b"back")
    ndis.run()
    for vc in calls:
        if vc.call == "connected" and vc.parameters is not None:
            alice.modify_qos(vc, vc.parameters)
    ndis.run()
    _stage(setup, "data")
    _hang_up(ndis, alice, calls)
    for af in bob.afs("open"):
        for sap in list(af.saps):
            bob.deregister_sap(sap)
    ndis.run()
    for client in (alice, bob):
        for af in client.afs("open"):
            client.close_af(af)
    ndis.run()
    _stage(setup, "end")


def _mcm(ndis: Any, targets: Sequence[Any], names: Sequence[str], setup: Setup) -> None:
    alice, bob = _two_clients(ndis)
    for i, name in enumerate(names):
        ndis.add_adapter(name, f"mcm{i}")
    ndis.run()
    _up(ndis, setup)
    _call_between(ndis, alice, bob, setup)


def _callmanager(ndis: Any, targets: Sequence[Any], names: Sequence[str], setup: Setup) -> None:
    _load(ndis, SampleCoMiniport(ndis, completion=setup.peers), "samplecominiport")
    alice, bob = _two_clients(ndis)
    ndis.add_adapter("samplecominiport", "atm0")
    ndis.run()
    _up(ndis, setup)
    _call_between(ndis, alice, bob, setup)


# --- the target as a client -------------------------------------------------------------

PEER = CO_SAP(SapType=1, Sap=b"peer")


def _client(ndis: Any, targets: Sequence[Any], names: Sequence[str], setup: Setup) -> None:
    mcm = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion=setup.peers)
    peer = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [PEER]})
    _load(ndis, mcm, "samplemcm")
    _load(ndis, peer, "peer")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    _up(ndis, setup)
    _stage(setup, "open")
    theirs = [s for s in ndis.saps if s.af.client.protocol.name in names and s.client_valid]
    calls = []
    for af in peer.afs("open"):
        for sap in theirs:
            vc = peer.make_call(af, called_party(sap.sap))
            if vc is not None:
                calls.append(vc)
    for handle in _their_afs(ndis, names):
        _ask(targets, "condis_make_call", handle, called_party(PEER))
    ndis.run()
    _stage(setup, "call")
    _send_on(peer, calls, b"hello", b"there")
    _ask(targets, "condis_send", [b"from", b"the client"])
    ndis.run()
    _stage(setup, "data")
    _ask(targets, "condis_hang_up")
    ndis.run()
    _hang_up(ndis, peer, calls)
    _stage(setup, "end")


def _their_afs(ndis: Any, names: Sequence[str]) -> list[Any]:
    """The handles of the AFs the drivers under test have open."""
    return [af.handle for af in ndis.address_families if af.client.protocol.name in names]


def _ask(targets: Sequence[Any], hook: str, *arguments: Any) -> None:
    """Ask each driver under test that implements `hook` to do what it names (CLIENT_HOOKS)."""
    for target in targets:
        method = getattr(target, hook, None)
        if callable(method):
            method(*arguments)


# --- the target as a CoNDIS miniport ----------------------------------------------------


def _miniport(ndis: Any, targets: Sequence[Any], names: Sequence[str], setup: Setup) -> None:
    cm = SampleCallManager(ndis, completion=setup.peers)
    client = SampleClient(ndis)
    _load(ndis, cm, "samplecallmanager")
    _load(ndis, client, "sampleclient")
    for i, name in enumerate(names):
        ndis.add_adapter(name, f"nic{i}")
    ndis.run()
    _up(ndis, setup)
    _stage(setup, "open")
    # The sample call manager activates the VC on the miniport for each call.
    calls = [vc for af in client.afs("open") if (vc := client.make_call(af, called_party(PEER)))]
    ndis.run()
    _stage(setup, "call")
    _send_on(client, calls, b"frame", b"another")
    ndis.run()
    _stage(setup, "data")
    _hang_up(ndis, client, calls)
    for af in client.afs("open"):
        client.close_af(af)
    ndis.run()
    _stage(setup, "end")
