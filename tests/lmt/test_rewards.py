"""GRPO rewards: chrF, COMET / CometKiwi with the tiny test checkpoints, weighted sums, custom rewards, penalties."""

from __future__ import annotations

import pytest

from lmt.config.train import RewardConfig
from lmt.errors import ConfigError, MissingResourceError
from lmt.rewards import ChrfReward, CometReward, build_reward, check_reward_config, clean_hypothesis
from lmt.training.grpo_hooks import within_group_std

SRC = ["The cat sleeps on the warm windowsill.", "We will meet at the station tomorrow morning."]
REF = ["Die Katze schläft auf der warmen Fensterbank.", "Wir treffen uns morgen früh am Bahnhof."]
CALLS: list = []


def length_reward(*, hypotheses, references, **_):
    """A custom reward loaded by dotted path: 1 - relative length difference."""
    CALLS.append(list(hypotheses))
    return [1.0 - abs(len(h) - len(r)) / max(len(h), len(r)) for h, r in zip(hypotheses, references)]


def _score(reward, hyps, tgt="deu_Latn"):
    return reward.score(SRC[: len(hyps)], hyps, REF[: len(hyps)], ["eng_Latn"] * len(hyps), [tgt] * len(hyps))


@pytest.fixture(scope="module")
def tiny_comets(tmp_path_factory):
    from lmt.testing.comet import build_tiny_comet

    root = tmp_path_factory.mktemp("comet")
    return build_tiny_comet(root / "da", "regression"), build_tiny_comet(root / "kiwi", "unified")


def test_chrf_is_sacrebleu_sentence_chrf_over_100():
    import sacrebleu

    hyps = [REF[0], "Der Hund"]
    got = ChrfReward()(hypotheses=hyps, references=REF)
    assert got[0] == pytest.approx(1.0)
    assert got[1] == pytest.approx(sacrebleu.sentence_chrf("Der Hund", [REF[1]]).score / 100)
    assert 0 < got[1] < 0.3


def test_clean_hypothesis_deletes_newlines_like_evaluation():
    assert clean_hypothesis("  Die Katze\nschläft \n") == "Die Katzeschläft"
    assert clean_hypothesis("\n \n") == ""


def test_weighted_sum_with_custom_reward_and_penalties():
    CALLS.clear()
    cfg = RewardConfig(
        terms={"chrf": 1.0, "tests.lmt.test_rewards:length_reward": 0.5}, empty_penalty=0.3, runaway_penalty=0.2,
        runaway_ratio=2.0,
    )
    reward = build_reward(cfg)
    long = REF[1] + " " + REF[1] + " " + REF[1]
    out = reward.score(SRC + SRC[:1], [REF[0], "", long], REF + REF[:1], ["eng_Latn"] * 3, ["deu_Latn"] * 3)
    # the empty output is never shown to the reward terms and gets 0 - empty_penalty
    assert CALLS == [[REF[0], long]]
    assert out.empty == [False, True, False] and out.rewards[1] == pytest.approx(-0.3)
    assert out.rewards[0] == pytest.approx(1.0 + 0.5 * 1.0)
    assert out.runaway == [False, False, True]
    chrf_long = out.terms["chrf"][2]
    assert out.rewards[2] == pytest.approx(chrf_long + 0.5 * out.terms["tests.lmt.test_rewards:length_reward"][2] - 0.2)


def test_wrong_language_penalty_uses_fasttext_lid():
    cfg = RewardConfig(terms={"chrf": 1.0}, wrong_language_penalty=1.0)
    reward = build_reward(cfg)
    out = _score(reward, [REF[0], SRC[1]])  # German for German: fine; English for German: penalised
    assert out.wrong_language == [False, True]
    assert out.rewards[1] < 0 < out.rewards[0]
    # Malay labelled Indonesian by lid.176 is accepted (as in data prep)
    malay = "Saya suka makan nasi goreng setiap pagi bersama keluarga saya."
    assert _score(reward, [malay, malay], tgt="zsm_Latn").wrong_language == [False, False]


def test_unknown_reward_names_and_bad_dotted_paths_are_config_errors():
    with pytest.raises(ConfigError, match="unknown reward 'chrff'.*did you mean chrf"):
        check_reward_config(RewardConfig(terms={"chrff": 1.0}))
    with pytest.raises(ConfigError, match="has no callable 'nope'"):
        check_reward_config(RewardConfig(terms={"tests.lmt.test_rewards:nope": 1.0}))
    with pytest.raises(ConfigError, match="cannot import module"):
        check_reward_config(RewardConfig(terms={"no_such_pkg.rewards:f": 1.0}))
    with pytest.raises(ConfigError, match="empty"):
        check_reward_config(RewardConfig(terms={}))


def test_comet_path_that_does_not_load_is_refused(tmp_path, tiny_comets):
    import shutil
    from pathlib import Path

    with pytest.raises(MissingResourceError, match="COMET"):
        check_reward_config(RewardConfig(terms={"comet": 1.0}, comet_model=str(tmp_path / "missing")))
    (tmp_path / "broken" / "checkpoints").mkdir(parents=True)
    (tmp_path / "broken" / "checkpoints" / "model.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(MissingResourceError, match="hparams.yaml"):
        check_reward_config(RewardConfig(terms={"comet": 1.0}, comet_model=str(tmp_path / "broken")))
    shutil.copy(Path(tiny_comets[0]).parents[1] / "hparams.yaml", tmp_path / "broken")
    with pytest.raises(MissingResourceError, match="does not load as a COMET checkpoint"):
        check_reward_config(RewardConfig(terms={"comet": 1.0}, comet_model=str(tmp_path / "broken")))


def test_comet_reward_scores_with_tiny_checkpoint_like_comet_predict(tiny_comets):
    from lmt.comet import comet_predict, load_comet

    da, kiwi = tiny_comets
    hyps = [REF[0], "Der Hund bellt."]
    reward = CometReward(da, batch_size=1)
    got = reward(sources=SRC, hypotheses=hyps, references=REF)
    want = comet_predict(load_comet(da), [{"src": s, "mt": h, "ref": r} for s, h, r in zip(SRC, hyps, REF)])
    assert got == pytest.approx(want, abs=1e-5)
    assert got[0] != got[1]
    # reference-free CometKiwi, and the weighted sum of both through the config
    kiwi_scores = CometReward(kiwi, reference_free=True)(sources=SRC, hypotheses=hyps, references=REF)
    assert kiwi_scores == pytest.approx(comet_predict(load_comet(kiwi), [{"src": s, "mt": h} for s, h in zip(SRC, hyps)]), abs=1e-5)
    cfg = RewardConfig(terms={"comet": 0.7, "cometkiwi": 0.3}, comet_model=da, cometkiwi_model=kiwi)
    check_reward_config(cfg)
    total = _score(build_reward(cfg), hyps).rewards
    assert total == pytest.approx([0.7 * a + 0.3 * b for a, b in zip(got, kiwi_scores)], abs=1e-5)
    # a reference-free checkpoint given as the reference-based reward is refused
    with pytest.raises(ConfigError, match="reference-free"):
        check_reward_config(RewardConfig(terms={"comet": 1.0}, comet_model=kiwi))


def test_within_group_std_is_per_prompt_not_batch():
    rewards = [0.0, 0.0, 1.0, 1.0, 0.2, 0.4, 0.2, 0.4]  # groups of 4: stds 0.5 and 0.1
    assert within_group_std(rewards, 4) == pytest.approx(0.3)
    assert within_group_std([1.0, 1.0, 3.0, 3.0], 2) == 0.0
    assert within_group_std([0.0, 2.0, 5.0, 5.0], 2) == pytest.approx(0.5)
