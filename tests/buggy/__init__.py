"""A catalogue of buggy CoNDIS drivers, one mistake each.

Every module here holds one small driver, written as a subclass of the
sample for its role, that breaks exactly one rule, and says so:

* ``ROLE``: the role `condis verify` runs it in ("mcm", "client",
  "callmanager" or "miniport");
* ``RULE``: the id of the rule the mistake breaks (condis.verifier.rules);
* ``factory(ndis)``: returns the driver, as a `condis verify` target does;
* optionally ``SKIP``: (peers, stop) variants of the workload to leave out;
* optionally ``WATCHDOG_MS``: the watchdog to verify with (None: off), for
  a mistake that is reported at teardown only when no watchdog expires first;
* optionally ``STRICT = True``: verify in strict mode, where a run ends at
  its first violation as Windows stops at its first bug check, for a
  mistake whose later consequences break other rules too.

tests/test_buggy_drivers.py runs each through the conformance workload and
checks that condis reports that rule and no other.

``SKIP`` leaves out the variants where the mistake cannot show and
something else is found instead (a driver that leaks the sends it holds
has nothing to leak in the stages before data is sent).
"""
