"""condis benchmarks: the cost of playing NDIS, as ratios against a CPython floor.

Run from the repository root with ``python -m bench`` (``--help`` for the
options). `floor` is the yardstick, `scenarios` the workloads both hosts run,
`measure` the timing and memory methods, `__main__` the table and the JSON.
"""
