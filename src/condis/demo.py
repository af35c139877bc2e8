"""The demonstration scenarios behind `condis demo`.

`af_lifecycle()` runs the whole life of an address family with the sample
drivers on one host, in two parts:

1. An MCM (SampleMcm, completions pended to work items) on adapter `mcm0`
   registers two AF types from MiniportInitializeEx. A CoNDIS client binds,
   is told of both AFs, and opens them; the MCM pends the opens and completes
   them with NdisMCmOpenAddressFamilyComplete. The client closes the
   Q.2931 AF; the MCM pends the close and completes it with
   NdisMCmCloseAddressFamilyComplete. The adapter halts with the packet
   scheduler AF still open, so MiniportHaltEx asks the client to close it
   (NdisMCmNotifyCloseAddressFamily).
2. A stand-alone call manager (SampleCallManager, completions pended to a
   timer) binds to a plain CoNDIS miniport's adapter `atm0` and registers an
   AF; the client opens it. The adapter is removed: NDIS unbinds the call
   manager first, whose ProtocolUnbindAdapterEx asks the client to close the
   AF (NdisCmNotifyCloseAddressFamily), then unbinds the client and halts the
   miniport.

It uses only public DDIs and host operations; the trace is the product.
"""

from __future__ import annotations

from condis.constants import CO_ADDRESS_FAMILY_PSCHED, CO_ADDRESS_FAMILY_Q2931
from condis.ndis import Ndis
from condis.samples import SampleCallManager, SampleClient, SampleCoMiniport, SampleMcm
from condis.samples.mcm import called_party
from condis.scheduler import Policy
from condis.structs import CO_SAP
from condis.verifier import Mode

__all__ = ["af_lifecycle", "call_lifecycle"]


def af_lifecycle(*, policy: Policy | None = None, mode: Mode = Mode.STRICT) -> Ndis:
    """Run the AF lifecycle scenario (module docstring) and return the host."""
    ndis = Ndis(policy=policy, mode=mode)
    mcm = SampleMcm(
        ndis,
        address_families=(CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED),
        completion="pended",
    )
    client = SampleClient(ndis)
    ndis.load_driver(mcm, "samplemcm")
    ndis.load_driver(client, "sampleclient")

    # Part 1: the MCM.
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()  # the MCM completes the pended opens from its work items
    q2931 = next(
        af for af in client.afs("open") if af.family.AddressFamily == CO_ADDRESS_FAMILY_Q2931
    )
    client.close_af(q2931)
    ndis.run()  # ... and the pended close
    ndis.halt_adapter("mcm0")

    # Part 2: a stand-alone call manager over a plain CoNDIS miniport.
    miniport = SampleCoMiniport(ndis)
    callmanager = SampleCallManager(ndis, completion="pended")
    ndis.load_driver(miniport, "samplecominiport")
    ndis.load_driver(callmanager, "samplecallmanager")
    ndis.add_adapter("samplecominiport", "atm0")
    ndis.run()
    ndis.halt_adapter("atm0")
    return ndis


def call_lifecycle(*, policy: Policy | None = None, mode: Mode = Mode.STRICT) -> Ndis:
    """A complete call between two clients of the sample MCM's loopback network.

    `bob` registers a SAP; `alice` makes a call to it (NdisCoCreateVc,
    NdisClMakeCall); the MCM offers it to bob (ProtocolClIncomingCall), who
    accepts; alice's call completes (ProtocolClMakeCallComplete) and bob's is
    connected (ProtocolClCallConnected). Data crosses both ways, alice changes
    the call's QoS (NdisClModifyCallQoS; bob hears of it through
    ProtocolClIncomingCallQoSChange), alice closes the call (NdisClCloseCall)
    and deletes her VC (NdisCoDeleteVc), bob deregisters his SAP
    (NdisClDeregisterSap), both close their AFs (NdisClCloseAddressFamily),
    and the adapter halts with nothing left.
    """
    ndis = Ndis(policy=policy, mode=mode)
    sap = CO_SAP(SapType=1, Sap=b"bob")
    mcm = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion="pended")
    alice = SampleClient(ndis)
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [sap]})
    ndis.load_driver(mcm, "samplemcm")
    ndis.load_driver(alice, "alice")
    ndis.load_driver(bob, "bob")
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()  # AFs open, bob's SAP registered

    vc = alice.make_call(alice.afs("open")[0], called_party(sap))
    ndis.run()  # offered to bob, accepted, connected
    assert vc is not None and vc.call == "connected"
    bob_vc = bob.afs("open")[0].vcs[0]
    alice.send(vc, b"hello, bob")
    bob.send(bob_vc, b"hello, alice")
    ndis.run()

    # alice asks for a higher receive priority; the MCM agrees and tells bob
    alice.modify_qos(vc, called_party(sap, ReceivePriority=1))
    ndis.run()

    alice.close_call(vc)
    ndis.run()  # bob is told (ProtocolClIncomingCloseCall) and closes his end
    alice.delete_vc(vc)
    bob_af = bob.afs("open")[0]
    bob.deregister_sap(bob_af.saps[0])
    ndis.run()
    alice.close_af(alice.afs("open")[0])
    bob.close_af(bob_af)
    ndis.run()
    ndis.halt_adapter("mcm0")
    return ndis
