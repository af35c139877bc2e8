"""The workloads, each runnable on the floor and on condis in any configuration.

A scenario builds a host with the sample drivers (SampleMcm and one or two
SampleClients), brings it to a steady state, and returns `op`, one unit of
work to repeat: an AF opened and closed, a call set up, used and torn down,
a batch of NBLs sent. `crossings()` returns the crossing names one `op`
makes on a host, which is how `same_crossings` proves that the floor and
condis do the same work before anything is timed.

A condis configuration is a name and the keyword arguments of `Ndis`; the
configurations whose arguments this version of `Ndis` does not take are left
out (`available_configs`), so the same bench measures before and after a
change to the host's options.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.floor import Floor
from condis import CO_ADDRESS_FAMILY_Q2931, Ndis
from condis.samples import SampleClient, SampleMcm
from condis.samples.mcm_state import called_party
from condis.structs import CO_SAP
from condis.trace import Phase
from condis.verifier import Mode

__all__ = [
    "CONFIGS",
    "SCENARIOS",
    "Config",
    "Sample",
    "Scenario",
    "available_configs",
    "crossings",
    "same_crossings",
]

Op = Callable[[], None]


@dataclass(frozen=True)
class Config:
    """A host to run a scenario on: the floor, or condis with these options."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)
    floor: bool = False

    def host(self) -> Any:
        return Floor() if self.floor else Ndis(**self.options)

    def recording_host(self) -> Any:
        """The same host, keeping what `crossings()` reads."""
        if self.floor:
            return Floor(record=True)
        options = {k: v for k, v in self.options.items() if not k.startswith("trace")}
        return Ndis(**options)


FLOOR = Config("floor", floor=True)
CONFIGS = [
    FLOOR,
    Config("condis trace=off", {"trace": False}),
    Config("condis trace_limit=1000", {"trace_limit": 1000}),
    Config("condis", {}),
    Config("condis collect", {"mode": Mode.COLLECT}),
    Config("condis watchdog", {"watchdog_ms": 60_000}),
]


def available_configs(configs: list[Config] = CONFIGS) -> list[Config]:
    """The configurations this `Ndis` accepts."""
    accepted = set(inspect.signature(Ndis).parameters)
    return [c for c in configs if c.floor or set(c.options) <= accepted]


@dataclass
class Sample:
    """A host with the sample MCM and clients alice and bob (bob offers a SAP).

    With `crowd`, carol and dave (who offers SAP "dave") are loaded too: the
    scale cases fill the host through them, so that what alice and bob do
    is measured against a full host while the samples' own per-AF lists
    stay short (a sample client keeps its VCs in a list).
    """

    host: Any
    mcm: SampleMcm
    alice: SampleClient
    bob: SampleClient | None
    sap: CO_SAP
    carol: SampleClient | None = None
    dave_sap: CO_SAP | None = None

    @classmethod
    def build(cls, host: Any, completion: str, *, callee: bool, crowd: bool = False) -> Sample:
        sap = CO_SAP(SapType=1, Sap=b"bob")
        mcm = SampleMcm(host, address_families=(CO_ADDRESS_FAMILY_Q2931,), completion=completion)  # type: ignore[arg-type]
        clients = {"alice": SampleClient(host)}
        if callee:
            clients["bob"] = SampleClient(host, saps={CO_ADDRESS_FAMILY_Q2931: [sap]})
        dave_sap = CO_SAP(SapType=1, Sap=b"dave") if crowd else None
        if dave_sap is not None:
            clients["carol"] = SampleClient(host)
            clients["dave"] = SampleClient(host, saps={CO_ADDRESS_FAMILY_Q2931: [dave_sap]})
        host.load_driver(mcm, "samplemcm")
        for name, client in clients.items():
            host.load_driver(client, name)
        host.add_adapter("samplemcm", "mcm0")
        host.run()
        return cls(
            host, mcm, clients["alice"], clients.get("bob"), sap, clients.get("carol"), dave_sap
        )

    def call(self) -> Any:
        """alice calls bob; the connected VC."""
        vc = self.alice.make_call(self.alice.afs("open")[0], called_party(self.sap))
        self.host.run()
        assert vc is not None and vc.call == "connected", vc
        return vc

    def hang_up(self, vc: Any) -> None:
        self.alice.close_call(vc)
        self.host.run()
        self.alice.delete_vc(vc)
        self.host.run()


@dataclass(frozen=True)
class Scenario:
    """A named workload: `setup(host)` returns the op to repeat; `unit` divides its cost."""

    name: str
    setup: Callable[[Any], Op]
    #: how many of what one op is (an NBL batch reports per NBL)
    unit: int = 1
    #: ops per timing, enough to take the measurement well above the clock's grain
    ops: int = 1000


def _af(completion: str) -> Callable[[Any], Op]:
    def setup(host: Any) -> Op:
        s = Sample.build(host, completion, callee=False)
        alice, run = s.alice, host.run
        binding = alice.bindings[0]
        family = alice.afs("open")[0].family
        alice.close_af(alice.afs("open")[0])
        run()

        def op() -> None:
            alice.ProtocolCoAfRegisterNotify(binding, family)
            run()
            alice.close_af(alice.afs("open")[0])
            run()

        return op

    return setup


def _call(completion: str) -> Callable[[Any], Op]:
    def setup(host: Any) -> Op:
        s = Sample.build(host, completion, callee=True)

        def op() -> None:
            s.hang_up(s.call())

        return op

    return setup


BATCH = 64


def _data(completion: str) -> Callable[[Any], Op]:
    def setup(host: Any) -> Op:
        s = Sample.build(host, completion, callee=True)
        vc = s.call()
        packets = [b"x" * 64] * BATCH
        send, run = s.alice.send, host.run

        def op() -> None:
            send(vc, *packets)
            run()

        return op

    return setup


SCENARIOS = [
    Scenario("AF open+close, sync", _af("sync"), ops=2000),
    Scenario("AF open+close, pended", _af("pended"), ops=1000),
    Scenario("call setup+teardown, sync MCM", _call("sync"), ops=300),
    Scenario("call setup+teardown, pended MCM", _call("pended"), ops=300),
    Scenario("64-NBL batch per NBL, sync MCM", _data("sync"), unit=BATCH, ops=100),
    Scenario("64-NBL batch per NBL, pended MCM", _data("pended"), unit=BATCH, ops=100),
]


def crossings(host: Any, op: Op) -> list[str]:
    """The names of the crossings one `op` makes on a recording host."""
    if isinstance(host, Floor):
        assert host.log is not None
        start = len(host.log)
        op()
        return host.log[start:]
    start = len(host.trace)
    op()
    return [r.name for r in host.trace[start:] if r.phase is Phase.CALL]


def same_crossings(scenario: Scenario, config: Config) -> list[str]:
    """One op's crossings, proved identical on the floor and on `config`.

    Raises AssertionError naming the first crossing where they part.
    """
    seen = []
    for c in (FLOOR, config):
        host = c.recording_host()
        op = scenario.setup(host)
        op()  # the first op may differ from the steady state (e.g. a first work item)
        seen.append(crossings(host, op))
    floor, condis = seen
    if floor != condis:
        at = next(
            (i for i, (a, b) in enumerate(zip(floor, condis, strict=False)) if a != b),
            min(len(floor), len(condis)),
        )
        raise AssertionError(
            f"{scenario.name}: the floor and {config.name} part at crossing {at}: "
            f"{floor[at : at + 3]} vs {condis[at : at + 3]}"
        )
    return floor
