"""Data order (a pure function of seed and step), SFT batches in examples, CPT batches in rows."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from lmt.training.order import EpochStream, ExampleBatches, RowBatches, example_token_counts
from lmt.training.tokens import IGNORE_INDEX


def _examples(lengths, prompt=3):
    ids = [list(range(1, n + 1)) for n in lengths]
    labels = [[IGNORE_INDEX] * prompt + x[prompt:] for x in ids]
    return datasets.Dataset.from_dict({"input_ids": ids, "labels": labels})


def test_stream_is_a_function_of_position_with_one_permutation_per_epoch():
    a, b = EpochStream(10, seed=5), EpochStream(10, seed=5)
    steps = [a.take(4 * s, 4).tolist() for s in range(5)]
    assert steps == [b.take(4 * s, 4).tolist() for s in range(4, -1, -1)][::-1]  # any order of queries
    flat = [i for s in steps for i in s]
    assert sorted(flat[:10]) == list(range(10)) and sorted(flat[10:20]) == list(range(10))  # epochs
    assert flat[:10] != flat[10:20]  # reshuffled per epoch


def test_example_token_counts_skip_each_examples_first_token():
    ds = _examples([5, 8, 4], prompt=3)
    lengths, n_loss = example_token_counts(ds.select([2, 0, 1]))
    assert lengths.tolist() == [4, 5, 8] and n_loss.tolist() == [1, 2, 5]
    ds = datasets.Dataset.from_dict({"input_ids": [[1, 2, 3]], "labels": [[7, 8, 9]]})
    assert example_token_counts(ds)[1].tolist() == [2]  # all loss, but the first token opens a packed segment


def test_sft_step_takes_global_batch_examples_whatever_the_ranks():
    rng = np.random.default_rng(0)
    ds = _examples(rng.integers(20, 120, size=200).tolist())
    one = ExampleBatches(ds, micro_batch=2, world=1, examples_per_step=32, max_length=256, seed=3, total_steps=10, pad_id=0)
    two = ExampleBatches(ds, micro_batch=2, world=2, examples_per_step=32, max_length=256, seed=3, total_steps=10, pad_id=0)
    assert one.steps_per_epoch == pytest.approx(200 / 32)
    for step in (0, 6, 7):  # step 6 wraps into the second epoch
        ids = one.step_units(step)
        assert len(ids) == 32 and ids.tolist() == two.step_units(step).tolist()
        bins = one.step_bins(step)
        assert sorted(i for b in bins for i in b) == sorted(ids.tolist())  # every example once, in some row
        assert all(sum(one.lengths[i] for i in b) <= 256 for b in bins)
        rows = [r for rank in range(2) for mb in two.micro_batches(step, rank) for r in mb if r["n_real_tokens"]]
        assert len(rows) == len(bins) == len([r for mb in one.micro_batches(step, 0) for r in mb if r["n_real_tokens"]])
        assert sum(r["n_loss_tokens"] for r in rows) == one.loss_tokens(step) == two.loss_tokens(step)
        assert sum(r["n_real_tokens"] for r in rows) == one.real_tokens(step)
    # every rank runs the same number of micro-steps, sized for the fullest step
    assert two.grad_accum == -(-max(two.rows_per_step) // 4) and one.grad_accum == -(-max(one.rows_per_step) // 2)
    assert all(len(two.micro_batches(s, r)) == two.grad_accum for s in range(10) for r in range(2))
    # a micro-step with nothing for a rank gets a two-token row without loss
    empty = [mb for s in range(10) for r in range(2) for mb in two.micro_batches(s, r) if mb[0]["n_real_tokens"] == 0]
    assert all(mb[0]["input_ids"] == [0, 0] and set(mb[0]["labels"]) == {IGNORE_INDEX} for mb in empty)


def test_cpt_step_is_a_token_budget_of_rows():
    rows = datasets.Dataset.from_dict({
        "input_ids": [[i] * 8 for i in range(20)], "labels": [[i] * 8 for i in range(20)], "seq_lens": [[8]] * 20,
        "n_loss_tokens": [7] * 20, "n_real_tokens": [8] * 20,
    })
    b = RowBatches(rows, micro_batch=2, world=2, global_rows=8, seed=1)
    assert b.grad_accum == 2 and b.per_step == 8 and b.steps_per_epoch == pytest.approx(2.5)
    assert b.loss_tokens(0) == 56 and b.real_tokens(0) == 64
    ids = b.step_units(0).tolist()
    got = [r["input_ids"][0] for rank in range(2) for mb in b.micro_batches(0, rank) for r in mb]
    assert sorted(got) == sorted(ids)
    assert b.resume_key() == RowBatches(rows, 4, 1, 8, seed=1).resume_key()  # resumable across world sizes
