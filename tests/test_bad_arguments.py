"""Every DDI, every parameter, bad values, several host states: nothing gets past.

For each DDI of `Ndis` and each of its parameters, the call is made with
that parameter replaced by a bad value (None, a wrong type, an integer out
of range, another host's handle, a handle this host closed) and every other
parameter as a driver would pass it. Only the documented outcomes may come
out: TypeError or ValueError naming the DDI, KeyError, or a BugCheck; a
refused call leaves the host exactly as it was; and in collect mode the
host's own tables stay consistent whatever was called.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytest

from condis import (
    CO_ADDRESS_FAMILY_Q2931,
    CO_SAP,
    NDIS_STATUS_SUCCESS,
    Mode,
    Ndis,
)
from condis.errors import BugCheck, SystemCrashed
from condis.handles import AfHandle, HandleTable, VcHandle, new_host_id
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm_state import called_party
from condis.structs import CO_ADDRESS_FAMILY, NET_BUFFER_LIST

SAP = CO_SAP(SapType=1, Sap=b"bob")
_OTHER = HandleTable(new_host_id())
BAD: list[object] = [
    None,
    7,
    -1,
    1 << 40,
    "x",
    object(),
    True,
    3.5,
    _OTHER.issue(AfHandle, None),
    _OTHER.issue(VcHandle, None),
]
DOCUMENTED = (TypeError, ValueError, KeyError, BugCheck, SystemCrashed)


def connected(mode: Mode) -> tuple[Ndis, dict[str, Any]]:
    """alice has called bob; what a driver would pass for each parameter name."""
    ndis = Ndis(mode=mode)
    mcm = SampleMcm(ndis, address_families=(CO_ADDRESS_FAMILY_Q2931,))
    alice = SampleClient(ndis)
    bob = SampleClient(ndis, saps={CO_ADDRESS_FAMILY_Q2931: [SAP]})
    for driver, name in ((mcm, "samplemcm"), (alice, "alice"), (bob, "bob")):
        ndis.load_driver(driver, name)
    ndis.add_adapter("samplemcm", "mcm0")
    ndis.run()
    vc = alice.make_call(alice.afs("open")[0], called_party(SAP))
    ndis.run()
    assert vc is not None and vc.handle is not None
    af = next(a for a in ndis.address_families if a.client.protocol.name == "alice")
    good: dict[str, Any] = {
        "NdisAfHandle": af.handle,
        "NdisVcHandle": vc.handle,
        "NdisSapHandle": ndis.saps[0].handle,
        "NdisBindingHandle": ndis.bindings[0].handle,
        "MiniportAdapterHandle": ndis.adapters[0].handle,
        "NdisMiniportHandle": ndis.adapters[0].handle,
        "Status": NDIS_STATUS_SUCCESS,
        "Size": 0,
        "Buffer": None,
        "CallParameters": called_party(SAP),
        "NetBufferLists": NET_BUFFER_LIST.of(b"x", SourceHandle=vc.handle),
        "NumberOfNetBufferLists": 1,
        "AddressFamily": CO_ADDRESS_FAMILY(AddressFamily=1, MajorVersion=3, MinorVersion=1),
    }
    return ndis, good


def halted(mode: Mode) -> tuple[Ndis, dict[str, Any]]:
    """The same host after its adapter halted: every handle above is stale."""
    ndis, good = connected(mode)
    ndis.halt_adapter("mcm0")
    ndis.run()
    return ndis, good


STATES: dict[str, Callable[[Mode], tuple[Ndis, dict[str, Any]]]] = {
    "connected": connected,
    "halted": halted,
}


def _positional(ddi_name: str) -> list[str]:
    """The DDI's parameters, by the engine method that implements it (less `self`)."""
    method = Ndis.routes()[ddi_name].method
    return [
        p.name
        for p in inspect.signature(method).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"
    ]


@pytest.mark.parametrize("state", sorted(STATES))
@pytest.mark.parametrize("mode", [Mode.STRICT, Mode.COLLECT], ids=lambda m: m.value)
def test_bad_arguments_to_every_ddi(state: str, mode: Mode) -> None:
    found: list[str] = []
    for ddi_name in sorted(Ndis.routes()):
        params = _positional(ddi_name)
        for index, name in enumerate(params):
            for bad in BAD:
                ndis, good = STATES[state](mode)
                args = [bad if i == index else good.get(p) for i, p in enumerate(params)]
                before = ndis.snapshot()
                try:
                    getattr(ndis, ddi_name)(*args)
                except DOCUMENTED as exc:
                    if isinstance(exc, TypeError | ValueError) and not str(exc).startswith(
                        ddi_name
                    ):
                        found.append(f"{ddi_name}({name}={bad!r}): message {exc}")
                    if not isinstance(exc, BugCheck | SystemCrashed) and ndis.snapshot() != before:
                        found.append(f"{ddi_name}({name}={bad!r}): changed state, then {exc!r}")
                except Exception as exc:  # anything else is condis's own failure
                    found.append(f"{ddi_name}({name}={bad!r}): {type(exc).__name__}: {exc}")
                    continue
                if ndis.crashed is None and mode is Mode.COLLECT:
                    broken = ndis.check_invariants()
                    if broken:
                        found.append(f"{ddi_name}({name}={bad!r}): invariants {broken}")
    assert found == []
