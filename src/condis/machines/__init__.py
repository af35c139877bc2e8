"""Every entity's state machine, as data: the tables the DDIs' guards read.

Each NDIS object condis tracks (adapter, binding and its adapter open, AF,
SAP, VC, call, party) has a `State` enum, an `Input` enum and one table of
rows, h2-style: ``(state, input) -> Transition``. All transition logic of the
objects is in this package (base.py: the shape of a machine and the one
transition function; host.py: adapters and bindings; conn.py: AFs, SAPs,
VCs, calls and parties); the entity engines take rows, they do not decide.
The pend/complete contract every operation follows (ops.py's
`OP_TRANSITIONS`) is listed here with the others, as `OPERATION`.

Inputs are of two kinds:

* what NDIS observes and moves on (an open completed, a close refused): a
  state without a row for such an input means condis itself went wrong;
* what a driver asks for with a DDI (NdisClCloseAddressFamily, a send on a
  VC). For those, every state has a row. A row with a `target` is legal and
  gives the next state (a self-loop when the DDI only needs the state, like
  NdisClRegisterSap needing an open AF). A row without a target refuses the
  DDI and leaves the state as it was: its `status` is what the DDI returns,
  its `rule` the rule the driver broke, if any, and its `page` where the WDK
  says so. The DDI's precondition is that lookup (`Machine.guard`); the
  verifier, `condis states`, the docs and the tests read the same rows.

`step` is the one transition function; each record's `move` calls it with
the message its entity has always given.

Choices the pages leave open, and what the tables say:

* "No call on a VC" reads as `CallState.CLOSED`: a VC whose last call closed
  and a VC that never carried one answer every call DDI alike.
* A party whose drop the call manager fails stays on its call, connected,
  whether the client dropped it of its own accord or after
  ProtocolClIncomingDropParty. The drop pages say only what a successful
  drop does (the NdisPartyHandle becomes invalid); the client may drop the
  party again.
* `PartyState` is a `StrEnum`, so a party's state still compares equal to
  the strings ("connected", "dropped") it was before it had a table.
"""

from __future__ import annotations

from typing import Any, Final

from condis.machines.base import Machine, Row, Transition, step
from condis.machines.conn import (
    AF,
    CALL,
    PARTY,
    SAP,
    VC,
    AfInput,
    AfState,
    AfTransition,
    CallInput,
    CallState,
    PartyInput,
    PartyState,
    SapInput,
    SapState,
    VcInput,
    VcState,
)
from condis.machines.host import (
    ADAPTER,
    BINDING,
    BINDING_OPEN,
    AdapterInput,
    AdapterState,
    BindingInput,
    BindingState,
    OpenInput,
    OpenState,
)
from condis.ops import OP_TRANSITIONS, OpInput, OpState

__all__ = [
    "ADAPTER",
    "AF",
    "BINDING",
    "BINDING_OPEN",
    "CALL",
    "MACHINES",
    "OPERATION",
    "PARTY",
    "SAP",
    "VC",
    "AdapterInput",
    "AdapterState",
    "AfInput",
    "AfState",
    "AfTransition",
    "BindingInput",
    "BindingState",
    "CallInput",
    "CallState",
    "Machine",
    "OpenInput",
    "OpenState",
    "PartyInput",
    "PartyState",
    "Row",
    "SapInput",
    "SapState",
    "Transition",
    "VcInput",
    "VcState",
    "step",
]

# --- pendable operations (ops.py) ----------------------------------------------------------------

OPERATION: Final = Machine(
    "operation",
    "pendable operation (the completion contract)",
    OpState,
    OpInput,
    OpState.IN_HANDLER,
    OP_TRANSITIONS,
)

#: Every machine, in the order the layers stack them.
MACHINES: Final[tuple[Machine[Any, Any], ...]] = (
    ADAPTER,
    BINDING,
    BINDING_OPEN,
    AF,
    SAP,
    VC,
    CALL,
    PARTY,
    OPERATION,
)
