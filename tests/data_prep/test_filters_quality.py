"""The CometKiwi-style quality filter, on tiny COMET checkpoints built offline."""

from __future__ import annotations

import pytest

from data_prep.filters import build_chain
from lmt.comet import comet_predict, load_comet
from lmt.config.filters import FiltersConfig
from lmt.errors import ConfigError, MissingResourceError
from lmt.testing.comet import build_tiny_comet

PAIRS = [
    ("The cat sleeps on the warm windowsill.", "Die Katze schläft auf der warmen Fensterbank."),
    ("We will meet at the station tomorrow morning.", "Wir treffen uns morgen früh am Bahnhof."),
    ("The museum opens at nine o'clock every day.", "Das Museum öffnet jeden Tag um neun Uhr."),
    ("Please close the door.", "Der Fluss überschwemmte das Dorf."),
    ("Yes.", "Nein, auf keinen Fall, niemals."),
    ("Scientists discovered a new frog.", "Wissenschaftler entdeckten einen neuen Frosch."),
]


def records():
    return [{"src_lang": "eng_Latn", "tgt_lang": "deu_Latn", "src": s, "tgt": t, "corpus": "c"} for s, t in PAIRS]


@pytest.fixture(scope="module")
def kiwi(tmp_path_factory) -> str:
    return build_tiny_comet(tmp_path_factory.mktemp("comet") / "kiwi", kind="unified")


def test_quality_filter_scores_with_cometkiwi_and_drops_below_threshold(kiwi):
    expected = comet_predict(load_comet(kiwi), [{"src": s, "mt": t} for s, t in PAIRS])
    assert len(set(expected)) == len(PAIRS)  # distinct scores: the threshold splits them
    cut = sorted(expected)[2:4]
    threshold = (cut[0] + cut[1]) / 2
    cfg = FiltersConfig(defaults={"quality": {"model": kiwi, "min_score": threshold, "batch_size": 4}})
    chain = build_chain(cfg, "eng_Latn", "deu_Latn", keep_scores=True)
    kept, dropped = chain.apply(records())
    assert [r["quality"] for r in kept] == pytest.approx([s for s in expected if s >= threshold], abs=1e-6)
    assert [r["src"] for r in kept] == [p[0] for p, s in zip(PAIRS, expected) if s >= threshold]
    assert len(kept) == 3 and chain.counts == {"quality:low_score": 3}
    assert {r["drop_reason"] for r in dropped} == {"quality:low_score"}
    # min_score: null scores without dropping (for later selection).
    cfg = FiltersConfig(defaults={"quality": {"model": kiwi, "min_score": None}})
    kept, dropped = build_chain(cfg, "eng_Latn", "deu_Latn", keep_scores=True).apply(records())
    assert len(kept) == len(PAIRS) and not dropped


def _counting(chain) -> list[int]:
    """Record how many pairs each call of the chain's quality filter scores."""
    quality = chain.filters[chain.names.index("quality")]
    calls: list[int] = []
    inner = quality.score
    quality.score = lambda pairs: calls.append(len(pairs)) or inner(pairs)
    return calls


def test_quality_filter_runs_after_cheap_filters_only_on_survivors(kiwi):
    cfg = FiltersConfig(defaults={"quality": {"model": kiwi, "min_score": None}, "length_ratio": {}})
    chain = build_chain(cfg, "eng_Latn", "deu_Latn")
    assert chain.names == ["length_ratio", "quality"]
    calls = _counting(chain)
    kept, dropped = chain.apply(records())
    assert [d["drop_reason"] for d in dropped] == ["length_ratio:too_high"]  # "Yes." vs 5 words
    assert calls == [len(PAIRS) - 1]  # COMET never saw the dropped pair
    # keep_scores: every filter scores every pair (the price of re-deciding later).
    chain = build_chain(cfg, "eng_Latn", "deu_Latn", keep_scores=True)
    calls = _counting(chain)
    kept, dropped = chain.apply(records())
    assert calls == [len(PAIRS)] and [d["drop_reason"] for d in dropped] == ["length_ratio:too_high"]
    assert "quality" in dropped[0] and all("quality" in r for r in kept)


def test_quality_filter_errors(tmp_path):
    reference_based = build_tiny_comet(tmp_path / "da", kind="regression")
    chain = build_chain(FiltersConfig(defaults={"quality": {"model": reference_based}}), "eng_Latn", "deu_Latn")
    with pytest.raises(ConfigError, match=r"needs a reference; use a reference-free"):
        chain.apply(records())
    chain = build_chain(FiltersConfig(defaults={"quality": {"model": str(tmp_path / "missing")}}), "eng_Latn", "deu_Latn")
    with pytest.raises(MissingResourceError):
        chain.apply(records())
