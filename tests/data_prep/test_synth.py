"""`lmt synth` end to end: a tiny model that knows a few translations, real prep, real training data.

The model (:func:`lmt.testing.translator.build_tiny_translator`) has learnt four
English sentences of the shared test text into German and Russian, so its
outputs are real translations that pass prep's language ID and the tests can
assert exact pairs. Two answers are wrong on purpose: one "German" output
copies the English source (synthesis drops it as ``synth:copy``) and one
"Russian" output is Kirghiz (right script, so synthesis keeps it; prep's
language ID drops it).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from lmt.cli import main as lmt_main
from lmt.datafiles import parallel_shards
from lmt.languages import Direction
from tests.data_prep.conftest import write_moses

TARGETS = ("deu_Latn", "rus_Cyrl")
CORPUS = "synth_tiny"
SENTENCES = (0, 1, 4, 5)  # the four shortest: the model learns them in seconds
COPY, KIRGHIZ = 3, 2  # positions of the wrong answers: En->De copies, En->Ru answers in Kirghiz


def text(parallel_text, lang: str) -> list[str]:
    return [parallel_text[lang][i] for i in SENTENCES]


def taught(parallel_text, tgt: str) -> list[str]:
    """What the model answers for each sentence."""
    out = text(parallel_text, tgt)
    if tgt == "deu_Latn":
        out[COPY] = text(parallel_text, "eng_Latn")[COPY]
    else:
        out[KIRGHIZ] = text(parallel_text, "kir_Cyrl")[KIRGHIZ]
    return out


@pytest.fixture(scope="module")
def translator(tmp_path_factory, tiny_tokenizer_dir, parallel_text) -> str:
    from lmt.testing.translator import build_tiny_translator

    en = text(parallel_text, "eng_Latn")
    pairs = [("eng_Latn", t, s, x) for t in TARGETS for s, x in zip(en, taught(parallel_text, t))]
    return build_tiny_translator(tiny_tokenizer_dir, pairs, tmp_path_factory.mktemp("translator"))


def write_config(tmp_path: Path, sections: dict, name: str = "syn") -> str:
    data = {"name": name, "run_dir": str(tmp_path / "run"), "seed": 5, **sections}
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"# lmt synth {path}\n" + yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return str(path)


def synth_section(model: str, inputs: list[dict], **kw) -> dict:
    base = {"model": model, "inputs": inputs, "directions": ["en-de", "en-ru"], "corpus": CORPUS, "max_new_tokens": 48}
    return {**base, **kw}


def english_input(tmp_path: Path, parallel_text, gz: bool = True) -> Path:
    en = text(parallel_text, "eng_Latn")
    lines = en[:2] + [""] + en[2:]  # a blank line is skipped
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path = tmp_path / ("en.txt.gz" if gz else "en.txt")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def moses_side(root: Path, d: str, lang: str) -> list[str]:
    return (root / f"{CORPUS}.{d}.{lang}").read_text(encoding="utf-8").splitlines()


def test_synth_two_targets_then_prep_and_training_data(tmp_path, translator, parallel_text, tiny_tokenizer_dir):
    en = text(parallel_text, "eng_Latn")
    inp = english_input(tmp_path, parallel_text)
    section = synth_section(translator, [{"path": str(inp), "lang": "en"}], shard_size=2, formats=["moses", "parquet"])
    raw = tmp_path / "opus"
    write_moses(raw, "toy", "en", "zh", en, text(parallel_text, "zho_Hans"))  # an OPUS corpus next to the synthetic one
    synth_dir = tmp_path / "run" / "data" / "synth"
    prep = {"corpora": [{"path": str(raw)}, {"path": str(synth_dir)}], "downsample": {"ratio": 1.0}}
    config = write_config(tmp_path, {"synth": section, "prep": prep})

    # A quick look first: 3 sentences per direction.
    assert lmt_main(["synth", config, "--limit", "3"]) == 0
    assert moses_side(synth_dir, "eng_Latn-deu_Latn", "deu_Latn") == text(parallel_text, "deu_Latn")[:3]
    assert moses_side(synth_dir, "eng_Latn-rus_Cyrl", "rus_Cyrl") == taught(parallel_text, "rus_Cyrl")[:3]
    assert json.loads((synth_dir / "manifest.json").read_text())["this_run"]["translated"] == 6

    # The full run keeps the first shard of each direction and redoes the second, cut short by the limit.
    assert lmt_main(["synth", config]) == 0
    man = json.loads((synth_dir / "manifest.json").read_text())
    assert man["this_run"]["translated"] == 4 and man["this_run"]["sentences_per_s"] > 0
    assert man["model"] == translator and man["corpus"] == CORPUS
    assert man["prompt"] == {"template": "released", "use_chat_template": True}
    de, ru = man["directions"]["eng_Latn-deu_Latn"], man["directions"]["eng_Latn-rus_Cyrl"]
    assert (de["sentences"], de["kept"], de["shards"], de["dropped"]) == (4, 3, 2, {"synth:copy": 1})
    assert (ru["sentences"], ru["kept"], ru["shards"], ru["dropped"]) == (4, 4, 2, {})
    for tgt, name in (("deu_Latn", "German"), ("rus_Cyrl", "Russian")):
        d = f"eng_Latn-{tgt}"
        kept = [i for i in range(4) if not (tgt == "deu_Latn" and i == COPY)]
        assert moses_side(synth_dir, d, "eng_Latn") == [en[i] for i in kept]
        assert moses_side(synth_dir, d, tgt) == [taught(parallel_text, tgt)[i] for i in kept]
        prompt = man["directions"][d]["prompt"]
        assert f"from English into {name}:\nEnglish: {{src}}\n{name}:" in prompt and prompt.startswith("<|im_start|>user\n")
    # The shard keeps the dropped output with its reason (auditable).
    shard = pq.read_table(synth_dir / "_work" / "eng_Latn-deu_Latn" / "i000-c00001.parquet").to_pylist()
    assert shard[1] == {"line": 5, "src": en[COPY], "tgt": en[COPY], "drop_reason": "copy"}
    # Parquet copy in the prep-output layout: origin points at the monolingual line (blank line 3 skipped).
    rows = pq.read_table(synth_dir / "parallel" / "eng_Latn-rus_Cyrl" / "part-00000.parquet").to_pylist()
    assert [(r["origin"], r["tgt"]) for r in rows] == [
        (f"{CORPUS}:en.txt.gz:{n}", t) for n, t in zip((1, 2, 4, 5), taught(parallel_text, "rus_Cyrl"))
    ]
    assert {r["corpus"] for r in rows} == {CORPUS}

    # `lmt prep` reads the synthetic files as an ordinary Moses corpus and filters them (LID, ratio...).
    assert lmt_main(["prep", config]) == 0
    prep_dir = tmp_path / "run" / "data" / "prep"
    shards = parallel_shards(prep_dir)
    de = [r for f in shards[Direction("eng_Latn", "deu_Latn")] for r in pq.read_table(f).to_pylist()]
    assert [(r["src"], r["tgt"], r["corpus"], r["origin"]) for r in de] == [
        (en[i], text(parallel_text, "deu_Latn")[i], CORPUS, f"{CORPUS}.eng_Latn-deu_Latn.eng_Latn:{i + 1}") for i in range(3)
    ]
    ru = [r for f in shards[Direction("eng_Latn", "rus_Cyrl")] for r in pq.read_table(f).to_pylist()]
    assert [r["origin"] for r in ru] == [f"{CORPUS}.eng_Latn-rus_Cyrl.eng_Latn:{n}" for n in (1, 2, 4)]  # Kirghiz dropped by LID
    # Zh-X through the English pivot: OPUS En-Zh joined with synthetic En-Ru.
    zh_ru = [r for f in shards[Direction("zho_Hans", "rus_Cyrl")] for r in pq.read_table(f).to_pylist()]
    assert zh_ru and all(r["corpus"] == f"toy+{CORPUS}" and r["origin"].startswith("pivot(toy.en-zh.en:") for r in zh_ru)
    assert json.loads((prep_dir / "manifest.json").read_text())["counts"]["drops"]["lid:tgt_wrong_lang"] >= 1

    # SFT/CPT data keep the origin: synthetic pairs are weighed or excluded by corpus name.
    from transformers import AutoTokenizer

    from lmt.aux_map import AuxMap
    from lmt.training.data import build_cpt_data, build_sft_data

    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    common = dict(cache_dir=tmp_path / "cache", seed=5, max_length=256)
    sft = build_sft_data(prep_dir, tok, aux_map=AuxMap.load(), **common).stats
    no_synth = build_sft_data(prep_dir, tok, aux_map=AuxMap.load(), corpus_weights={"*synth_*": 0}, **common).stats
    assert "eng_Latn-deu_Latn" in sft["directions"] and "zho_Hans-rus_Cyrl" in sft["directions"]
    assert set(no_synth["directions"]) == {"eng_Latn-zho_Hans", "zho_Hans-eng_Latn"}
    cpt = build_cpt_data(prep_dir, tok, mix={"monolingual": 0, "zh_centric": 1, "en_centric": 1}, corpus_weights={"*synth_*": 0}, **common)
    assert set(cpt.stats["available"]["en_centric"]) == {"zho_Hans"} and not cpt.stats["available"]["zh_centric"]


def test_lmt_run_plans_synth_before_prep_only_when_enabled(tmp_path):
    from lmt.config import load_experiment
    from lmt.pipeline import _stage_argv, planned_stages

    section = {"model": "unused", "inputs": [{"path": "x.txt", "lang": "en"}]}
    off = load_experiment(write_config(tmp_path, {"synth": section, "prep": {}}, "off"))
    on = load_experiment(write_config(tmp_path, {"synth": {**section, "enabled": True}, "prep": {}}, "on"))
    assert planned_stages(off) == ["prep"]
    assert planned_stages(on) == ["synth", "prep"]
    assert _stage_argv(on, "synth", "on.yaml", ["seed=3"], True) == ("synth", ["on.yaml", "seed=3"])  # never --overwrite


@pytest.mark.parametrize(
    "case, expect",
    [
        ("latin1", r"en\.txt: line 2 is not UTF-8"),
        ("empty", r"en\.txt is empty"),
        ("language", r"synth\.inputs\.0: monolingual input .*en\.txt: lang 'xx_Nope'"),
        ("missing", r"monolingual input .*absent\.txt does not exist"),
        ("parquet_column", r"en\.parquet: no column 'text'"),
        ("model", r"'/nonexistent/model' does not exist"),
        ("directions", r"no direction from an input language"),
    ],
)
def test_bad_input_errors_name_the_file(tmp_path, capsys, case, expect, tiny_model_dir):
    import pyarrow as pa

    path = tmp_path / "en.txt"
    path.write_bytes("The cat sleeps.\nCaf\xe9 au lait.\n".encode("latin-1") if case == "latin1" else b"Hello there.\n")
    inp = {"path": str(path), "lang": "en"}
    extra: dict = {}
    model = tiny_model_dir
    if case == "empty":
        path.write_bytes(b"\n  \n")
    elif case == "language":
        inp["lang"] = "xx_Nope"
    elif case == "missing":
        inp["path"] = str(tmp_path / "absent.txt")
    elif case == "parquet_column":
        pq.write_table(pa.table({"sentence": ["Hello there."]}), tmp_path / "en.parquet")
        inp["path"] = str(tmp_path / "en.parquet")
    elif case == "model":
        model = "/nonexistent/model"
    elif case == "directions":
        extra["directions"] = ["zh2x"]
    config = write_config(tmp_path, {"synth": synth_section(model, [inp], **extra)})
    assert lmt_main(["synth", config]) == 2
    assert re.search(expect, capsys.readouterr().err)
    assert not (tmp_path / "run" / "data" / "synth" / "manifest.json").exists()


@pytest.mark.slow
def test_kill_9_and_resume_never_translates_a_shard_twice(tmp_path, translator, parallel_text, monkeypatch):
    from lmt.generation import HFEngine

    inp = english_input(tmp_path, parallel_text, gz=False)
    config = write_config(tmp_path, {"synth": synth_section(translator, [{"path": str(inp), "lang": "eng_Latn"}], shard_size=1)})
    work = tmp_path / "run" / "data" / "synth" / "_work"
    env = {**os.environ, "LMT_PROGRESS": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmt.cli", "synth", config], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 300
    while not list(work.glob("*/*.done.json")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    first = {p.relative_to(work): p.read_bytes() for p in work.glob("*/*.done.json")}
    assert 0 < len(first) < 8, "the kill must land mid-run"

    seen: list[str] = []
    real = HFEngine.generate

    def spy(self, prompts, desc=""):
        seen.append(desc)
        return real(self, prompts, desc)

    monkeypatch.setattr(HFEngine, "generate", spy)
    assert lmt_main(["synth", config]) == 0
    done_before = {f"{p.parent} {p.name.split('.')[0]}" for p in first}
    every = [f"{d} i000-c{c:05d}" for d in ("eng_Latn-deu_Latn", "eng_Latn-rus_Cyrl") for c in range(4)]
    assert sorted(seen) == sorted(x for x in every if x not in done_before)
    assert len(seen) == 8 - len(first)
    for rel, data in first.items():  # finished shards were left alone
        assert (work / rel).read_bytes() == data
    root = work.parent
    assert moses_side(root, "eng_Latn-rus_Cyrl", "rus_Cyrl") == taught(parallel_text, "rus_Cyrl")
    assert moses_side(root, "eng_Latn-deu_Latn", "deu_Latn") == text(parallel_text, "deu_Latn")[:3]
    # Nothing left to do: a third run translates nothing.
    seen.clear()
    assert lmt_main(["synth", config]) == 0 and seen == []
