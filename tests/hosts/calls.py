"""The MCM loopback network of the call and data tests.

alice (no SAP) calls bob (SAP_BOB) over the sample MCM, and the call connects.
"""

from __future__ import annotations

from typing import Any

from condis import CO_CALL_PARAMETERS, Mode
from condis.samples import SampleClient
from condis.samples.mcm import called_party
from hosts.paths import SAP_BOB, Host, build, with_saps

TO_BOB = called_party(SAP_BOB)


def network(
    completion: str = "sync", *, incoming: str = "accept", mode: Mode = Mode.STRICT, **kwargs: Any
) -> Host:
    """The MCM loopback network: alice (no SAP) and bob (SAP_BOB, answering as `incoming`)."""
    return build(
        "mcm",
        completion,
        clients={"alice": SampleClient, "bob": with_saps(SAP_BOB, incoming=incoming)},
        mode=mode,
        **kwargs,
    )


def connect(host: Host, params: CO_CALL_PARAMETERS = TO_BOB) -> tuple[Any, Any]:
    """alice calls bob and the call connects; returns (alice's ClientVc, bob's ClientVc)."""
    vc = host.clients["alice"].make_call(host.af("alice"), params)
    host.ndis.run()
    assert vc is not None and vc.call == "connected"
    (bob_vc,) = host.af("bob").vcs
    assert bob_vc.call == "connected"
    return vc, bob_vc
