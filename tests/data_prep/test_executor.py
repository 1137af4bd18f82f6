"""The local executor: results in unit order, one progress bar, errors as raised."""

from __future__ import annotations

import pytest

from data_prep.pipeline.executor import LocalExecutor, make_executor
from lmt.config.prep import PrepConfig
from lmt.errors import DataError


class Plan:
    """The least a step needs: ``setup()`` (run in every worker first)."""

    def setup(self) -> None:
        pass


def pairs_step(plan, unit):
    if unit == "bad":
        raise DataError("corpus x.de: line 3: bad input")
    return {"pairs": unit, "unit": unit}


def chunks_ingest(plan, corpus, on_chunk=None):
    for k in range(corpus):
        on_chunk(k)
    return {"chunks": corpus, "pairs": 10 * corpus}


def test_inline_map_and_ingest_count_units_and_pairs():
    with LocalExecutor(1) as ex:
        assert [r["unit"] for r in ex.map(pairs_step, Plan(), [3, 1, 2], "filter", count_pairs=True)] == [3, 1, 2]
        assert (ex.progress.units, ex.progress.pairs) == (3, 6)
        ingested, ids, handles = ex.ingest(chunks_ingest, Plan(), [2, 0, 1], then=lambda plan, u: {"pairs": 5})
        assert [r["chunks"] for r in ingested] == [2, 0, 1] and ids == [(2, 0), (2, 1), (1, 0)]
        assert ex.gather(handles, "filter", count_pairs=True) == [{"pairs": 5}] * 3
        assert (ex.progress.units, ex.progress.pairs) == (3 + 3 + 3, 6 + 15)


def test_pool_raises_the_units_own_error():
    with LocalExecutor(2) as ex, pytest.raises(DataError, match="line 3"):
        ex.map(pairs_step, Plan(), [1, "bad", 2], "filter")


def test_make_executor_follows_the_config():
    ex = make_executor(PrepConfig(num_workers=3))
    assert isinstance(ex, LocalExecutor) and ex.num_workers == 3
    assert make_executor(PrepConfig(num_workers=3), num_workers=1).num_workers == 1
