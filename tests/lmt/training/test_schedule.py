"""Steps from epochs and max_steps, warm-up, learning-rate schedule."""

from __future__ import annotations

import pytest

from lmt.training.schedule import lr_lambda, plan_steps


def test_steps_follow_from_the_data_without_max_steps():
    s = plan_steps(567_000 / 1024, epochs=1, max_steps=None, warmup_ratio=0.01)
    assert s.total == 554 and s.warmup == 6 and s.epochs == pytest.approx(1.0, abs=0.002) and s.warning is None
    assert plan_steps(10.5, epochs=2, max_steps=None, warmup_ratio=0).total == 21


def test_max_steps_wins_and_a_disagreement_is_reported():
    s = plan_steps(554.0, epochs=1, max_steps=500, warmup_ratio=0.01)
    assert s.total == 500 and s.warning and "disagree" in s.warning and "554" in s.warning
    assert plan_steps(554.0, epochs=1, max_steps=540, warmup_ratio=0.01).warning is None  # within 5%
    assert plan_steps(554.0, epochs=1, max_steps=500, warmup_ratio=0.01, epochs_given=False).warning is None


def test_lr_schedule():
    fn = lr_lambda(100, 10, "cosine", 0.1)
    assert fn(0) == pytest.approx(1 / 11) and fn(10) == pytest.approx(1.0)
    assert fn(100) == pytest.approx(0.1) and 0.1 < fn(55) < 1.0
    assert lr_lambda(100, 0, "constant", 0.0)(70) == 1.0
