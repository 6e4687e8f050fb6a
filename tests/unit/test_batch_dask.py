"""The same chunk function on a real Dask LocalCluster (two worker processes on 127.0.0.1)
gives exactly the in-process results."""

from __future__ import annotations

import numpy as np
import pytest

from app.batch.dask_executor import DaskExecutor, dask_client
from app.batch.inputs import candidate_side, query_set, rank_spec
from app.batch.rerank import LocalExecutor
from app.ranking import FilterSpec, Tokenizer
from tests.factories import RANKER_WEIGHTINGS, make_ranker

# Real processes or large inputs: more than ~5 s each in a full run on two cores.
pytestmark = pytest.mark.slow


def test_dask_local_cluster_equals_in_process() -> None:
    ranker = make_ranker(Tokenizer(backend="jieba"), RANKER_WEIGHTINGS[0], seed=3)
    filters = FilterSpec()
    with dask_client(None, workers=2) as client:
        executor = DaskExecutor.for_client(client)
        assert len(client.scheduler_info()["workers"]) == 2 and executor.threads == 1
        for direction in ("jobs", "graduates"):
            side = candidate_side(ranker, direction, filters)
            queries = query_set(ranker, direction, filters)
            spec = rank_spec(ranker, k=6, pool=10, threads=2, filters=filters)
            chunks = [(n, queries.chunk(n, 25)) for n in range(queries.chunk_count(25))]
            remote = dict(executor.run(side, chunks, spec))
            local = dict(LocalExecutor(threads=2).run(side, chunks, spec))
            assert sorted(remote) == sorted(local) == list(range(len(chunks)))
            for number, expected in local.items():
                got = remote[number]
                assert np.array_equal(got.query_ids, expected.query_ids)
                assert np.array_equal(got.candidate_ids, expected.candidate_ids)
                assert np.array_equal(got.scores, expected.scores)
                assert np.array_equal(got.parts.major, expected.parts.major)
            assert sum(len(result) for result in remote.values()) > 100
