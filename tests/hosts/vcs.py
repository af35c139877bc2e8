"""VC helpers shared by the VC and activation tests.

`PARAMS` are the call parameters of a call to bob's SAP; `alice_vc` creates a
VC as alice on her open AF; `vc_rows` reads the VC table of a snapshot.
"""

from __future__ import annotations

from typing import Any

from condis import Ndis
from condis.samples.mcm import called_party
from hosts.paths import SAP_BOB, Host

PARAMS = called_party(SAP_BOB)


def vc_rows(ndis: Ndis) -> list[tuple[str, str, str]]:
    return ndis.snapshot()["vcs"]


def alice_vc(host: Host) -> Any:
    vc = host.clients["alice"].create_vc(host.af())
    assert vc is not None
    return vc
