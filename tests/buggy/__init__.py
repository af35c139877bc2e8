"""A catalogue of buggy CoNDIS drivers, one mistake each.

Every module here holds one small driver, written as a subclass of the
sample for its role, that breaks exactly one rule, and says so:

* ``ROLE``: the role `condis verify` runs it in ("mcm", "client",
  "callmanager" or "miniport");
* ``RULE``: the id of the rule the mistake breaks (condis.verifier.rules);
* ``factory(ndis)``: returns the driver, as a `condis verify` target does;
* optionally ``SKIP``: (peers, stop) variants of the workload to leave out;
* optionally ``WATCHDOG_MS``: the watchdog to verify with (None: off), for
  a mistake that is reported at teardown only when no watchdog expires first.

tests/test_buggy_drivers.py runs each through the conformance workload and
checks that condis reports that rule and no other.

``SKIP`` is for a fault of a sample peer that breaks a rule whatever the
driver under test does, in some variants of the workload; no module needs
one today.
"""
