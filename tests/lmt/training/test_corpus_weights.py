"""Weighing training records by corpus name (synthetic pairs excluded, thinned or repeated)."""

from __future__ import annotations

import pytest

from lmt.errors import DataError
from lmt.training.corpus_weights import corpus_weight, weigh_corpora


@pytest.fixture
def records():
    import datasets

    rows = [{"src": f"s{i}", "tgt": f"t{i}", "corpus": c} for i, c in enumerate(["opus"] * 4 + ["synth_m"] * 200 + ["toy+synth_m"] * 2)]
    return datasets.Dataset.from_list(rows)


def test_first_matching_pattern_wins():
    weights = {"toy+*": 2.0, "*synth_*": 0.0}
    assert [corpus_weight(c, weights) for c in ("opus", "synth_m", "toy+synth_m", None)] == [1.0, 0.0, 2.0, 1.0]


def test_exclude_repeat_and_thin(records):
    assert weigh_corpora(records, {}, 1) is records
    assert weigh_corpora(records, {"*synth_*": 0}, 1)["corpus"] == ["opus"] * 4
    doubled = weigh_corpora(records, {"opus": 2, "*synth*": 0}, 1)
    assert doubled["src"] == ["s0", "s0", "s1", "s1", "s2", "s2", "s3", "s3"]
    half = weigh_corpora(records, {"synth_*": 0.5}, 1)
    synth = [s for s, c in zip(half["src"], half["corpus"]) if c == "synth_m"]
    assert 70 < len(synth) < 130 and half["corpus"].count("opus") == 4
    assert weigh_corpora(records, {"synth_*": 0.5}, 1)["src"] == half["src"]  # a pure function of (records, seed)
    assert weigh_corpora(records, {"synth_*": 0.5}, 2)["src"] != half["src"]


def test_weights_need_a_corpus_column():
    import datasets

    with pytest.raises(DataError, match="no 'corpus' column"):
        weigh_corpora(datasets.Dataset.from_list([{"src": "a", "tgt": "b"}]), {"x": 0}, 1)
