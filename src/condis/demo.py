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
from condis.scheduler import Policy
from condis.verifier import Mode

__all__ = ["af_lifecycle"]


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
