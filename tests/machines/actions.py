"""The valid client actions both state machines take."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from condis import (
    KIRQL,
    NDIS_STATUS_NOT_ACCEPTED,
    NDIS_STATUS_SUCCESS,
    NDIS_STATUS_VC_NOT_ACTIVATED,
    Mode,
)
from machines.base import HostBase
from machines.vocabulary import INDEX, IRQLS, SAP_NAMES, nth, sap_of, step


class ClientActions(HostBase):
    """The valid actions of the sample clients (and of NDIS on their bindings) that both
    machines share."""

    # --- valid client actions both machines share ---------------------------------------------

    @precondition(lambda self: bool(self.client_afs("open")))
    @rule(index=INDEX, sap=st.sampled_from(SAP_NAMES), irql=IRQLS)
    @step
    def register_sap(self, index: int, sap: str, irql: KIRQL) -> None:
        """A client registers a SAP on an open AF (taken already: the call manager fails it)."""
        client, af = nth(self.client_afs("open"), index)
        with self.as_driver(self.name_of(client), irql):
            self.valid("register_sap", lambda: client.register_sap(af, sap_of(sap)))

    @precondition(lambda self: bool(self.client_afs("open")))
    @rule(index=INDEX, irql=IRQLS)
    @step
    def create_vc(self, index: int, irql: KIRQL) -> None:
        """A client creates a VC on an open AF and keeps it idle."""
        client, af = nth(self.client_afs("open"), index)
        with self.as_driver(self.name_of(client), irql):
            self.valid("create_vc", lambda: client.create_vc(af))

    @precondition(lambda self: bool(self.idle_vcs()))
    @rule(index=INDEX, irql=IRQLS)
    @step
    def delete_vc(self, index: int, irql: KIRQL) -> None:
        """A client deletes a VC it created that carries no call."""
        client, vc = nth(self.idle_vcs(), index)
        with self.as_driver(self.name_of(client), irql):
            status = self.valid("delete_vc", lambda: client.delete_vc(vc))
        assert status == NDIS_STATUS_SUCCESS, f"delete_vc returned {status!r}"

    @precondition(lambda self: bool(self.client_vcs(lambda vc: vc.call == "offered")))
    @rule(index=INDEX, accept=st.booleans(), irql=IRQLS)
    @step
    def answer_call(self, index: int, accept: bool, irql: KIRQL) -> None:
        """A client that pended an incoming call accepts or rejects it."""
        client, vc = nth(self.client_vcs(lambda vc: vc.call == "offered"), index)
        status = NDIS_STATUS_SUCCESS if accept else NDIS_STATUS_NOT_ACCEPTED
        with self.as_driver(self.name_of(client), irql):
            self.valid("answer", lambda: client.answer(vc, status))

    @precondition(lambda self: bool(self.connected_vcs()))
    @rule(index=INDEX, irql=IRQLS)
    @step
    def close_call(self, index: int, irql: KIRQL) -> None:
        """A client hangs up a call (a multipoint root drops its other parties first)."""
        client, vc = nth(self.connected_vcs(), index)
        with self.as_driver(self.name_of(client), irql):
            self.valid("close_call", lambda: client.close_call(vc))

    @precondition(lambda self: bool(self.client_vcs(self.connected)))
    @rule(index=INDEX, packets=st.integers(min_value=1, max_value=3), irql=IRQLS)
    @step
    def send(self, index: int, packets: int, irql: KIRQL) -> None:
        """A client sends NBLs on a connected VC."""
        client, vc = nth(self.client_vcs(self.connected), index)
        data = [f"packet {i}".encode() for i in range(packets)]
        with self.as_driver(self.name_of(client), irql):
            self.valid("send", lambda: client.send(vc, *data))

    @rule(
        what=st.sampled_from(
            ["deregister a SAP", "close an AF", "unbind a client", "restart an adapter"]
        ),
        index=INDEX,
        irql=IRQLS,
    )
    @step
    def withdraw(self, what: str, index: int, irql: KIRQL) -> None:
        """Take something away (one rule, so that it does not happen too often): a client
        deregisters a SAP or closes an AF (its calls, VCs and SAPs go first); NDIS
        unbinds a client, or an adapter halts with whatever is open on it and starts
        again. Nothing happens when nothing fits."""
        ndis = self.host
        if what == "deregister a SAP" and self.client_saps("registered"):
            client, sap = nth(self.client_saps("registered"), index)
            with self.as_driver(self.name_of(client), irql):
                self.valid("deregister_sap", lambda: client.deregister_sap(sap))
        elif what == "close an AF" and self.closable_afs():
            client, af = nth(self.closable_afs(), index)
            with self.as_driver(self.name_of(client), irql):
                self.valid("close_af", lambda: client.close_af(af))
        elif what == "unbind a client" and self.running_bindings() and self.may_disrupt():
            binding = ndis.binding(*nth(self.running_bindings(), index))
            self.valid("unbind_adapter", lambda: ndis.unbind_adapter(binding))
        elif what == "restart an adapter" and self.may_disrupt():
            name = nth(self.adapter_names, index)
            if ndis.adapter(name).state.value == "running":
                self.valid("halt_adapter", lambda: ndis.halt_adapter(name))
            self.valid("add_adapter", lambda: ndis.add_adapter(self.miniport_name, name))

    @precondition(
        lambda self: (
            self.mode is Mode.COLLECT
            and bool(self.client_vcs(lambda vc: not vc.incoming and vc.call is None))
        )
    )
    @rule(index=INDEX)
    @step
    def send_without_a_call(self, index: int) -> None:
        """Collect mode: a client sends on a VC with no call. NDIS reports
        CoNdisSendOnInactiveVc and gives the NBL back later, failed with
        NDIS_STATUS_VC_NOT_ACTIVATED; the scheduler runs until it has."""
        client, vc = nth(self.client_vcs(lambda vc: not vc.incoming and vc.call is None), index)
        ndis = self.host
        count = len(ndis.verifier.violations)
        self.valid("send on an idle VC", lambda: client.send(vc, b"too early"))
        rules = [v.rule for v in ndis.verifier.violations[count:]]
        assert rules == ["CoNdisSendOnInactiveVc"], rules
        self.expected_violations = len(ndis.verifier.violations)
        self.misused = True
        while vc.sends_outstanding:
            assert self.valid("ndis.step()", ndis.step) is not None, "the NBL never came back"
        assert vc.send_statuses[-1] == NDIS_STATUS_VC_NOT_ACTIVATED, vc.send_statuses
