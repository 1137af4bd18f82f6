"""MIWV selection: loss arithmetic, retrieval, exact top share, quotas, resume, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.selection import run_selection
from data_prep.selection.miwv import Sample, miwv_scores
from data_prep.selection.ranking import budget, rank_order, select_top
from data_prep.selection.retrieval import full_matrix_neighbors, have_faiss, nearest_neighbors
from lmt.config import load_experiment
from lmt.errors import ConfigError, DataError, MissingResourceError
from lmt.prompts import build_training_text, get_template
from lmt.schemas import PARALLEL_SCHEMA

DIRECTIONS = [("eng_Latn", "deu_Latn"), ("eng_Latn", "kir_Cyrl"), ("zho_Hans", "rus_Cyrl")]


def write_prep_dir(root: Path, parallel_text: dict, directions=DIRECTIONS, duplicate_first: bool = True) -> Path:
    """A prep output (lmt.datafiles layout) built from the shared sentences."""
    for src_lang, tgt_lang in directions:
        src, tgt = parallel_text[src_lang], parallel_text[tgt_lang]
        rows = [(s, t) for s, t in zip(src, tgt)]
        if duplicate_first:
            rows.append(rows[0])  # an exact duplicate sample
        table = pa.table(
            {
                "src_lang": [src_lang] * len(rows),
                "tgt_lang": [tgt_lang] * len(rows),
                "src": [r[0] for r in rows],
                "tgt": [r[1] for r in rows],
                "corpus": ["test"] * len(rows),
                "origin": [f"test.txt:{i + 1}" for i in range(len(rows))],
                "aux_lang": [None] * len(rows),
                "aux": [None] * len(rows),
            },
            schema=PARALLEL_SCHEMA,
        )
        d = root / "parallel" / f"{src_lang}-{tgt_lang}"
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, d / "part-00000.parquet")
    return root


def hand_loss(model, tok, user: str, response: str) -> float:
    """Mean NLL of the response tokens, unbatched, from the full logits."""
    import torch

    prompt, full = build_training_text(tok, user, response)
    p_ids = tok(prompt, add_special_tokens=False)["input_ids"]
    r_ids = tok(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    ids = torch.tensor([p_ids + r_ids])
    with torch.no_grad():
        logp = torch.log_softmax(model(input_ids=ids).logits[0].double(), dim=-1)
    pos = range(len(p_ids), len(p_ids) + len(r_ids))
    return float(-sum(logp[t - 1, ids[0, t]] for t in pos) / len(r_ids))


def test_miwv_equals_hand_computation(tiny_model_dir, parallel_text):
    from lmt.modeling import load_model, load_tokenizer

    model = load_model(tiny_model_dir, dtype="float32").eval()
    tok = load_tokenizer(tiny_model_dir)
    stp = get_template("stp")
    en, ky, de = parallel_text["eng_Latn"], parallel_text["kir_Cyrl"], parallel_text["deu_Latn"]
    samples = [Sample("eng_Latn", "kir_Cyrl", en[i], ky[i]) for i in range(4)]
    samples += [Sample("eng_Latn", "deu_Latn", en[i], de[i]) for i in range(4)]
    neighbors = [5, 0, 3, 2, 1, 6, 7, 4]
    # Batched (padding, length sorting) must agree with the unbatched hand computation.
    miwv, with_ex, without = miwv_scores(model, tok, stp, samples, neighbors, range(8), batch_size=3)
    for i in (0, 6):
        s, ex = samples[i], samples[neighbors[i]]
        plain = f"Translate this from {'English'} to {'Kirghiz' if i < 4 else 'German'}:\nEnglish: {s.src}\n"
        plain += f"{'Kirghiz' if i < 4 else 'German'}:"
        ex_name = "Kirghiz" if neighbors[i] < 4 else "German"
        shot = f"Translate this from English to {ex_name}:\nEnglish: {ex.src}\n{ex_name}: {ex.tgt}\n\n{plain}"
        l0 = hand_loss(model, tok, plain, s.tgt)
        l1 = hand_loss(model, tok, shot, s.tgt)
        assert without[i] == pytest.approx(l0, abs=1e-4)
        assert with_ex[i] == pytest.approx(l1, abs=1e-4)
        assert miwv[i] == pytest.approx(l1 - l0, abs=2e-4)
    assert np.all(np.isfinite(miwv)) and len(set(np.round(miwv, 6))) > 1


def test_pair_encoder_matches_the_reference_encoding(tiny_tokenizer_dir, parallel_text):
    from data_prep.selection.miwv import PairEncoder, encode
    from lmt.modeling import load_tokenizer

    tok = load_tokenizer(tiny_tokenizer_dir)
    en, ky = parallel_text["eng_Latn"], parallel_text["kir_Cyrl"]
    pairs = [(f"Translate this from English to Kirghiz:\nEnglish: {e}\nKirghiz:", k) for e, k in zip(en, ky)]
    for chat in (True, False):
        for max_length in (1024, 24):
            enc = PairEncoder(tok, chat, max_length, pairs[0])
            assert enc.fast
            assert enc.encode_many(pairs) == [encode(tok, u, r, chat, max_length) for u, r in pairs]
    # A template that rewrites message content cannot use the shortcut: it falls back, same result.
    tok.chat_template = tok.chat_template.replace("message['content']", "message['content'] | upper")
    enc = PairEncoder(tok, True, 1024, pairs[0])
    assert not enc.fast
    assert enc.encode_many(pairs) == [encode(tok, u, r, True, 1024) for u, r in pairs]


@pytest.mark.parametrize("engine", ["blocked", "torch", "faiss"])
def test_retrieval_never_returns_the_sample_itself(engine):
    if engine == "faiss" and not have_faiss():
        pytest.skip("faiss not installed")
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(50, 16)).astype(np.float32)
    emb[10] = emb[3]  # exact duplicates: each other's neighbour, never themselves
    emb[30] = emb[31] = emb[32] = emb[7] * 2.0  # same direction, other scale
    if engine == "torch":  # the tiles on a torch device (cuda in production)
        nb, sim = nearest_neighbors(emb, engine="blocked", block_size=7, device="cpu")
    else:
        nb, sim = nearest_neighbors(emb, engine=engine, block_size=7)
    assert np.all(nb != np.arange(50))
    assert nb[3] == 10 and nb[10] == 3
    assert {nb[7], nb[30], nb[31], nb[32]} <= {7, 30, 31, 32}
    assert sim[3] == pytest.approx(1.0, abs=1e-5)
    ref_nb, ref_sim = full_matrix_neighbors(emb)
    np.testing.assert_allclose(sim, ref_sim, atol=1e-5)
    # The returned neighbour really attains the maximum cosine.
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    np.testing.assert_allclose((unit * unit[nb]).sum(1), ref_sim, atol=1e-5)
    if engine != "faiss":  # deterministic ties: lowest index, like argmax over the full matrix
        np.testing.assert_array_equal(nb, ref_nb)


def test_retrieval_all_identical_ties_to_lowest_other_index():
    emb = np.ones((6, 4), dtype=np.float32)
    nb, _ = nearest_neighbors(emb, engine="blocked", block_size=4)
    assert nb.tolist() == [1, 0, 0, 0, 0, 0]
    part, _ = nearest_neighbors(emb, engine="blocked", block_size=2, start=2, stop=5)
    assert part.tolist() == [0, 0, 0]
    nb_t, _ = nearest_neighbors(emb, engine="blocked", block_size=4, device="cpu")
    assert nb_t.tolist() == [1, 0, 0, 0, 0, 0]
    with pytest.raises(DataError, match="at least 2"):
        nearest_neighbors(emb[:1])


def test_top_share_is_exact():
    rng = np.random.default_rng(1)
    scores = rng.permutation(300).astype(float)
    keep = select_top(scores, np.zeros(300, dtype=int), share=0.01)
    assert keep.sum() == 3
    assert sorted(scores[keep].tolist()) == [297.0, 298.0, 299.0]
    assert budget(300, 0.01) == 3 and budget(301, 0.01) == 4 and budget(10, 0.001) == 1 and budget(0, 0.5) == 0
    assert budget(300, 0.05) == 15 and budget(7, 1.0) == 7
    # Ties: lower row first; NaN ranks last.
    assert rank_order(np.array([1.0, np.nan, 2.0, 2.0])).tolist() == [2, 3, 0, 1]


def test_per_direction_quotas_and_scope():
    # Direction 2 (low-resource) has the worst scores: a global top share starves it.
    groups = np.array([0] * 100 + [1] * 100 + [2] * 10)
    scores = np.concatenate([np.linspace(100, 200, 100), np.linspace(50, 150, 100), np.linspace(0, 9, 10)])
    plain = select_top(scores, groups, share=0.05)
    assert plain.sum() == 11 and plain[groups == 2].sum() == 0
    quota = select_top(scores, groups, share=0.05, min_per_group=2)
    assert quota.sum() == 11
    assert np.flatnonzero(quota & (groups == 2)).tolist() == [208, 209]  # its two best
    assert quota[groups == 1].sum() == 2 and quota[groups == 0].sum() == 7
    # Quotas above the budget grow the selection to the quotas.
    assert select_top(scores, groups, share=0.01, min_per_group=3).sum() == 9
    per = select_top(scores, groups, share=0.05, scope="per_direction")
    assert [int(per[groups == g].sum()) for g in range(3)] == [5, 5, 1]
    assert per[209] and per[99] and per[199]


def _config(tmp_path: Path, prep: Path, model: str, **select) -> Path:
    cfg = {
        "name": "seltest",
        "run_dir": str(tmp_path / "run"),
        "select": {
            "input_dir": str(prep),
            "share": 0.2,
            "chunk_size": 8,
            "device": "cpu",
            "miwv": {"model": model, "batch_size": 4, "retrieval": "blocked", "block_size": 5},
            **select,
        },
    }
    path = tmp_path / "exp.yaml"
    path.write_text("# lmt select miwv exp.yaml\n" + json.dumps(cfg), encoding="utf-8")
    return path


def test_miwv_selection_writes_layout_and_resumes(tmp_path, tiny_model_dir, parallel_text, monkeypatch):
    import data_prep.selection.miwv as miwv_mod
    from data_prep.selection.cli import main

    prep = write_prep_dir(tmp_path / "prep", parallel_text)  # 3 x 9 = 27 samples
    cfg_path = _config(tmp_path, prep, tiny_model_dir)
    assert main(["miwv", str(cfg_path), "select.min_per_direction=2"]) == 0
    out = tmp_path / "run" / "data" / "selected"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "miwv" and manifest["counts"]["before"] == 27
    assert manifest["counts"]["after"] == 6  # ceil(0.2 * 27)
    per = manifest["counts"]["per_direction"]
    assert all(v["before"] == 9 and v["after"] >= 2 for v in per.values())
    tables = {d.name: pq.read_table(next(d.glob("*.parquet"))) for d in (out / "parallel").iterdir()}
    kept = pa.concat_tables(tables.values())
    assert kept.num_rows == 6 and {"miwv", "miwv_neighbor"} <= set(kept.column_names)
    assert all(n != -1 for n in kept.column("miwv_neighbor").to_pylist())

    # The kept rows are exactly the quota + top share of the cached scores.
    cache = out / "cache" / "miwv_scores"
    scores = np.concatenate([np.load(cache / f"chunk-{c:05d}.npz")["miwv"] for c in range(4)])
    nb = np.concatenate(
        [np.load(out / "cache" / "miwv_neighbors" / f"chunk-{c:05d}.npz")["neighbor"] for c in range(4)]
    )
    assert np.all(nb != np.arange(27))
    # Duplicate rows 0 and 8 of each direction: each other's neighbour (same vector), never themselves.
    assert nb[0] == 8 and nb[8] == 0
    expected = select_top(scores, np.repeat([0, 1, 2], 9), 0.2, min_per_group=2)
    assert sorted(kept.column("miwv").to_pylist()) == pytest.approx(sorted(scores[expected].tolist()))
    stats = manifest["score_stats"]
    assert stats["all"]["n"] == 27 and stats["kept"]["max"] == pytest.approx(scores.max())

    # Resume: only the removed chunk is recomputed, and the result is identical.
    (cache / "chunk-00001.npz").unlink()
    calls = []
    real = miwv_mod.miwv_scores

    def counting(*args, **kwargs):
        calls.append(list(args[5]))
        return real(*args, **kwargs)

    monkeypatch.setattr(miwv_mod, "miwv_scores", counting)
    before = {k: t.to_pylist() for k, t in tables.items()}
    assert main(["miwv", str(cfg_path), "select.min_per_direction=2"]) == 0
    assert calls == [list(range(8, 16))]
    after = {d.name: pq.read_table(next(d.glob("*.parquet"))).to_pylist() for d in (out / "parallel").iterdir()}
    assert after == before
    # Changing a score-relevant parameter invalidates the cache.
    calls.clear()
    assert main(["miwv", str(cfg_path), "select.miwv.max_length=64"]) == 0
    assert len(calls) == 4


def test_missing_model_and_empty_input_are_clear_errors(tmp_path, parallel_text):
    prep = write_prep_dir(tmp_path / "prep", parallel_text, directions=DIRECTIONS[:1])
    cfg = load_experiment(_config(tmp_path, prep, str(tmp_path / "no_model")))
    with pytest.raises(MissingResourceError, match="no_model"):
        run_selection(cfg)
    # Default model: what SFT starts from (here the CPT output, not trained yet).
    cfg3 = load_experiment(_config(tmp_path, prep, "x"), ["select.miwv.model=null", "train.cpt.max_steps=1"])
    with pytest.raises(MissingResourceError, match=r"checkpoints/cpt/final does not exist yet; run selection after"):
        run_selection(cfg3)
    cfg4 = load_experiment(_config(tmp_path, prep, "x"), ["select.miwv.model=null", f"train.model.path={tmp_path}/m"])
    with pytest.raises(MissingResourceError, match=r"/m does not exist yet"):
        run_selection(cfg4)
    cfg5 = load_experiment(_config(tmp_path, prep, "x"), ["select.directions=[en-xx]"])
    with pytest.raises(ConfigError, match=r"select.directions: .*unknown language code 'xx'"):
        run_selection(cfg5)
    cfg2 = load_experiment(_config(tmp_path, tmp_path / "empty", "x"), [])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no parallel Parquet shards"):
        run_selection(cfg2)


def test_sharded_workers_split_every_phase(tmp_path, tiny_model_dir, parallel_text, monkeypatch, capsys):
    import data_prep.selection.miwv as miwv_mod
    from data_prep.selection.cli import main

    prep = write_prep_dir(tmp_path / "prep", parallel_text)  # 27 rows, 4 chunks of 8
    cfg_path = _config(tmp_path, prep, tiny_model_dir)
    calls = []
    real = miwv_mod.miwv_scores

    def counting(*args, **kwargs):
        calls.append(list(args[5]))
        return real(*args, **kwargs)

    monkeypatch.setattr(miwv_mod, "miwv_scores", counting)
    out = tmp_path / "run" / "data" / "selected"
    assert main(["miwv", str(cfg_path), "--shard", "0/2"]) == 0  # embeddings 0, 2
    assert "miwv embeddings: 2 of 4 chunks are left" in capsys.readouterr().out
    assert main(["miwv", str(cfg_path), "--shard", "1/2"]) == 0  # embeddings 1, 3; neighbours 1, 3
    assert "miwv neighbours: 2 of 4" in capsys.readouterr().out
    assert main(["miwv", str(cfg_path), "--shard", "0/2"]) == 0  # neighbours 0, 2; losses 0, 2
    assert "miwv: 2 of 4" in capsys.readouterr().out
    assert calls == [list(range(0, 8)), list(range(16, 24))] and not (out / "manifest.json").exists()
    assert main(["miwv", str(cfg_path), "--shard", "1/2"]) == 0  # losses 1, 3; selection
    assert calls[2:] == [list(range(8, 16)), list(range(24, 27))]
    assert capsys.readouterr().out.strip() == str(out)
    sharded = {p.parent.name: pq.read_table(p).to_pylist() for p in out.glob("parallel/*/*.parquet")}
    # The same selection as one unsharded worker.
    assert main(["miwv", str(cfg_path), f"select.output_dir={tmp_path / 'one'}"]) == 0
    single = {p.parent.name: pq.read_table(p).to_pylist() for p in (tmp_path / "one").glob("parallel/*/*.parquet")}
    assert single.keys() == sharded.keys()
    for k in single:
        assert [r["origin"] for r in single[k]] == [r["origin"] for r in sharded[k]]
        assert [r["miwv"] for r in single[k]] == pytest.approx([r["miwv"] for r in sharded[k]], abs=1e-6)
    with pytest.raises(ConfigError, match="expected 0 <= I < N"):
        main(["miwv", str(cfg_path), "--shard", "2/2"])
