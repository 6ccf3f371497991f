"""The same sweep on a local process pool and on a Dask cluster gives exactly the in-process table."""

from __future__ import annotations

import pandas as pd
import pytest

from nmsim.explore.spec import make_spec
from nmsim.explore.sweep import run_sweep
from tests.explore.synthetic import toy_trace

SPEC = make_spec(
    traces=[toy_trace(), "wmt_transformer_1x8"],
    nm=["recorded", "1:4", "2:4"],
    hw=["stc_2x4_like", "vegeta_like"],
    params={"rows": [32, 128], "dataflow": ["os", "ws"]},
)


@pytest.fixture(scope="module")
def local_table() -> pd.DataFrame:
    return run_sweep(SPEC, scheduler="inline").table


def test_local_process_pool_matches(local_table: pd.DataFrame) -> None:
    res = run_sweep(SPEC, scheduler="processes", workers=2, chunk_points=8)
    pd.testing.assert_frame_equal(res.table, local_table, check_exact=True)


def test_dask_cluster_matches_by_client_and_by_address(local_table: pd.DataFrame, tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        by_client = run_sweep(SPEC, client=client, chunk_points=8)
        pd.testing.assert_frame_equal(by_client.table, local_table, check_exact=True)
        ran = client.run(lambda: len(__import__("nmsim.explore.batch").explore.batch._EVALUATORS))
        assert len(ran) == 2 and sum(ran.values()) >= 1  # the chunks ran in the worker processes
        out = tmp_path / "dask.parquet"
        by_address = run_sweep(SPEC, out, scheduler=cluster.scheduler_address, chunk_points=8)
        pd.testing.assert_frame_equal(pd.read_parquet(out), local_table, check_exact=True)
        assert by_address.computed == len(local_table)
