"""Random walks through condis with hypothesis state machines.

Two machines drive the public API with random sequences of valid and invalid
actions, under random driver behaviour (sync or pended completion, how a
client answers incoming calls, the IRQL a client runs at) and random
interleavings of deferred work (`RandomPolicy`, and `ndis.step()` as a rule of
its own):

* `McmNetworkMachine`: the sample MCM's loopback network with two to four
  sample clients: AFs, SAPs, VCs, point-to-point and multipoint calls,
  parties, QoS changes, data, unbinding and adapter restarts;
* `CallManagerMachine`: the sample stand-alone call manager over the sample
  CoNDIS miniport, with sample clients: AFs, SAPs, VCs, VC activation,
  outgoing calls and data.

For every example they check that:

1. after every step the host's tables agree (`ndis.check_invariants() == []`),
   the host runs, and no violation was recorded that the step did not provoke
   on purpose;
2. nothing escapes a valid action, and only `BugCheck` (strict hosts),
   `TypeError` or `ValueError` escape an invalid one;
3. an invalid DDI call that the runtime rejects leaves `ndis.snapshot()` as it
   was: a strict host raises `BugCheck`, a collect-mode host records a
   violation and returns a failure status or None;
4. closing everything at the end (calls, VCs, SAPs, AFs, then halting the
   adapters and unloading the drivers) leaves no driver, AF, SAP, VC, call,
   party, NBL, operation, work item, timer or handle behind, and a run of
   valid actions only records no violation at all.

CONDIS_HYPOTHESIS_PROFILE picks the settings: "ci" (the default) or "soak".
The machines themselves are in tests/machines/.
"""

from __future__ import annotations

from machines.callmanager import CallManagerMachine
from machines.mcm_network import McmNetworkMachine
from machines.vocabulary import PROFILE

McmNetworkMachine.TestCase.settings = PROFILE
CallManagerMachine.TestCase.settings = PROFILE
TestMcmNetwork = McmNetworkMachine.TestCase
TestCallManager = CallManagerMachine.TestCase
