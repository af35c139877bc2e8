"""condis explore on a Dask cluster (a LocalCluster of two processes).

The same search, its pieces run by the workers: an exhaustive dfs gives the
same counts and verdict as in one process, and a race is found, shrunk and
replayed as it is locally.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

distributed = pytest.importorskip("dask.distributed", reason="the [dask] extra is not installed")

from condis.explore import explore, load_replay, replay, save_replay  # noqa: E402
from condis.explore.distributed import explore_on_dask  # noqa: E402
from condis.samples import SampleClient  # noqa: E402

TARGETS = Path(__file__).resolve().parent / "targets"


@pytest.fixture(scope="module")
def scheduler() -> Iterator[str]:
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_an_exhaustive_search_is_the_same_on_the_cluster(scheduler: str) -> None:
    local = explore(SampleClient, "client", budget=2000)
    remote = explore_on_dask(
        "condis.samples:SampleClient", "client", scheduler=scheduler, budget=2000
    )
    assert local.exhaustive and remote.exhaustive
    assert (remote.schedules, remote.distinct, remote.setups) == (
        local.schedules,
        local.distinct,
        local.setups,
    )


def test_a_race_is_found_shrunk_and_replayed(scheduler: str, tmp_path: Path) -> None:
    target = f"{TARGETS / 'timer_race_client.py'}:factory"
    result = explore_on_dask(target, "client", scheduler=scheduler, budget=500)
    found = result.counterexample
    assert found is not None and len(found.deviations) == 2
    assert found.run.signature[1] == "NdisHandleStale"
    out = tmp_path / "race.json"
    save_replay(out, target, found)
    run, _ = replay(load_replay(out))
    assert run.signature == found.run.signature


def test_random_schedules_are_spread_over_seed_ranges(scheduler: str) -> None:
    result = explore_on_dask(
        "condis.samples:SampleClient",
        "client",
        scheduler=scheduler,
        strategy="random",
        budget=40,
        peers=("pended",),
    )
    assert result.schedules == 40 and result.counterexample is None
