"""The hypothesis state machines that tests/test_machine.py runs.

`vocabulary` holds their settings, strategies and helpers; `host` the machine
both build on (`HostMachine`: `base`, `actions`, `misuse` and the teardown);
`mcm_network` and `callmanager` the two machines.
"""
