"""The state machine over the sample MCM's loopback network."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import initialize, precondition, rule

from condis import CO_ADDRESS_FAMILY_PSCHED, CO_ADDRESS_FAMILY_Q2931, KIRQL, Mode
from condis.handles import VcHandle
from condis.samples import SampleClient, SampleMcm
from condis.samples.client_state import ClientParty, ClientVc
from condis.samples.mcm import McmVc
from machines.host import HostMachine
from machines.vocabulary import (
    AF_STATES,
    COMPLETION,
    INCOMING,
    INDEX,
    IRQLS,
    MODES,
    SEEDS,
    Completion,
    Incoming,
    bare,
    nth,
    step,
    to,
)


class McmNetworkMachine(HostMachine):
    """The sample MCM with two to four sample clients calling each other."""

    SPELLING = "M"

    def __init__(self) -> None:
        super().__init__()
        self.mcm: SampleMcm | None = None

    @initialize(
        completion=COMPLETION,
        clients=st.integers(min_value=2, max_value=4),
        incoming=st.lists(INCOMING, min_size=4, max_size=4),
        families=st.sampled_from(
            [(CO_ADDRESS_FAMILY_Q2931,), (CO_ADDRESS_FAMILY_Q2931, CO_ADDRESS_FAMILY_PSCHED)]
        ),
        adapters=st.integers(min_value=1, max_value=2),
        seed=SEEDS,
        mode=MODES,
    )
    def build(
        self,
        completion: Completion,
        clients: int,
        incoming: list[Incoming],
        families: tuple[int, ...],
        adapters: int,
        seed: int | None,
        mode: Mode,
    ) -> None:
        """The MCM ("samplemcm"; adapter mcm0, maybe mcm1) and the clients, AFs open."""
        ndis = self.start(seed=seed, mode=mode)
        self.mcm = SampleMcm(ndis, address_families=families, completion=completion)
        ndis.load_driver(self.mcm, "samplemcm")
        self.load_clients(clients, families, incoming)
        self.miniport_name = "samplemcm"
        self.adapter_names = [f"mcm{i}" for i in range(adapters)]
        for name in self.adapter_names:
            ndis.add_adapter("samplemcm", name)
        ndis.run()

    # --- what the MCM knows and the client does not (yet) --------------------------------------

    def mcm_vc(self, handle: VcHandle | None) -> McmVc | None:
        assert self.mcm is not None
        for adapter in self.mcm.adapters.values():
            found = adapter.vcs.get(handle) if handle is not None else None
            if found is not None:
                return found
        return None

    def hang_up_on_its_way(self, vc: ClientVc) -> bool:
        """The other end of the call on `vc` hung up (or dropped the party) and the
        MCM's work item that tells this client has not run yet."""
        mine = self.mcm_vc(vc.handle)
        if mine is None or vc.call not in ("connected", "accepted"):
            return False
        if vc.parties:  # a multipoint root: a leaf that left
            leaves = {p.handle: p for p in mine.parties}
            return any(
                p.state == "connected" and not getattr(leaves.get(p.handle), "connected", False)
                for p in vc.parties
            )
        if mine.party is not None:  # a leaf whose root hung up
            return not mine.party.connected
        return mine.peer is None  # point-to-point: the peer hung up; a leaf: it was dropped

    def other_ends(self, vc: ClientVc) -> list[ClientVc]:
        """The clients' VCs at the other end(s) of the call on `vc`, as the MCM links them."""
        here = self.mcm_vc(vc.handle)
        if here is None or vc.call in (None, "closed", "failed"):
            return []
        linked = [here.peer, *(p.leaf for p in here.parties)]
        if here.party is not None:
            linked.append(here.party.root)
        handles = {id(m.handle) for m in linked if m is not None and m.handle is not None}
        every = self.client_vcs(bool, af_states=AF_STATES)
        return [other for _, other in every if id(other.handle) in handles]

    # --- what the clients hold ------------------------------------------------------------------

    def callee(self, index: int) -> str:
        """The name of a SAP some client registered or, one time in five, "nobody"."""
        names = sorted({s.sap.Sap.decode() for _, s in self.client_saps("registered")})
        return nth(names, index) if names and index % 5 else "nobody"

    def roots(self) -> list[tuple[SampleClient, ClientVc]]:
        """Multipoint calls a client made that are up, with no party on its way."""
        return self.client_vcs(
            lambda vc: (
                self.connected(vc)
                and bool(vc.parties)
                and all(p.state == "connected" for p in vc.parties)
            )
        )

    def droppable(self) -> list[tuple[SampleClient, ClientParty]]:
        """Parties of an up multipoint call that are not its last."""
        out: list[tuple[SampleClient, ClientParty]] = []
        for client, vc in self.connected_vcs():
            parties = [p for p in vc.parties if p.state == "connected"]
            if len(parties) > 1 and len(parties) == len(vc.parties):
                out.extend((client, p) for p in parties)
        return out

    # --- valid actions ------------------------------------------------------------------------

    @precondition(lambda self: bool(self.client_afs("open")))
    @rule(
        index=INDEX,
        callee=INDEX,
        multipoint=st.booleans(),
        priority=st.integers(min_value=0, max_value=7),
        irql=IRQLS,
        settle=st.booleans(),
    )
    @step
    def make_call(
        self, index: int, callee: int, multipoint: bool, priority: int, irql: KIRQL, settle: bool
    ) -> None:
        """A client calls a registered SAP, or one nobody registered, point-to-point or
        multipoint; with `settle`, the scheduler then runs until the call is answered."""
        client, af = nth(self.client_afs("open"), index)
        parameters = to(self.callee(callee), priority)
        with self.as_driver(self.name_of(client), irql):
            self.valid("make_call", lambda: client.make_call(af, parameters, multipoint=multipoint))
        if settle:
            self.valid("ndis.run()", self.host.run)

    @precondition(lambda self: bool(self.roots()))
    @rule(index=INDEX, callee=INDEX, irql=IRQLS, settle=st.booleans())
    @step
    def add_party(self, index: int, callee: int, irql: KIRQL, settle: bool) -> None:
        """A client adds a party (a registered SAP, or one nobody registered) to its
        multipoint call; with `settle`, the scheduler then runs until it is answered."""
        client, vc = nth(self.roots(), index)
        parameters = to(self.callee(callee))
        with self.as_driver(self.name_of(client), irql):
            self.valid("add_party", lambda: client.add_party(vc, parameters))
        if settle:
            self.valid("ndis.run()", self.host.run)

    @precondition(lambda self: bool(self.droppable()))
    @rule(index=INDEX, irql=IRQLS)
    @step
    def drop_party(self, index: int, irql: KIRQL) -> None:
        """A client drops a party that is not its call's last."""
        client, party = nth(self.droppable(), index)
        with self.as_driver(self.name_of(client), irql):
            self.valid("drop_party", lambda: client.drop_party(party))

    def qos_vcs(self) -> list[tuple[SampleClient, ClientVc]]:
        """Connected calls whose QoS a client may change now."""
        return self.connected_vcs()

    @precondition(lambda self: bool(self.qos_vcs()))
    @rule(
        index=INDEX,
        priority=st.integers(min_value=0, max_value=7),
        with_media=st.booleans(),
        irql=IRQLS,
    )
    @step
    def modify_qos(self, index: int, priority: int, with_media: bool, irql: KIRQL) -> None:
        """A client asks for new call parameters (without media ones the MCM refuses)."""
        client, vc = nth(self.qos_vcs(), index)
        parameters = to("bob", priority) if with_media else bare()
        with self.as_driver(self.name_of(client), irql):
            self.valid("modify_qos", lambda: client.modify_qos(vc, parameters))

    @rule(completion=COMPLETION, index=INDEX, incoming=INCOMING)
    @step
    def change_behaviour(self, completion: Completion, index: int, incoming: Incoming) -> None:
        """The MCM switches between sync and pended completion; a client changes how it
        answers incoming calls."""
        assert self.mcm is not None
        self.mcm.completion = completion
        nth(list(self.clients.values()), index).incoming = incoming
