"""M-DaQ: quality scoring model training/scoring and the diversity selection."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from data_prep.selection.qsm import load_qsm, read_scored_samples, train_qsm
from data_prep.selection.ranking import cluster_allocation, diversity_select
from data_prep.selection.mdaq_step import cluster_embeddings, default_clusters
from lmt.errors import ConfigError, DataError, MissingResourceError
from tests.data_prep.test_selection import write_prep_dir


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory, tiny_tokenizer_dir) -> str:
    """A tiny random XLM-R encoder saved with the tiny tokenizer."""
    import torch
    from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaModel

    torch.manual_seed(0)
    tok = AutoTokenizer.from_pretrained(tiny_tokenizer_dir)
    config = XLMRobertaConfig(
        vocab_size=len(tok),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=600,
        pad_token_id=tok.pad_token_id,
    )
    out = tmp_path_factory.mktemp("tiny_encoder")
    XLMRobertaModel(config).save_pretrained(out)
    tok.save_pretrained(out)
    return str(out)


def qsm_rows(parallel_text: dict) -> list[dict]:
    """Translations score 1; untranslated copies of the source (a classic bad sample) score 0."""
    en = parallel_text["eng_Latn"]
    rows = []
    for lang in ("deu_Latn", "fra_Latn", "rus_Cyrl", "kir_Cyrl", "zho_Hans"):
        tgt = parallel_text[lang]
        for i in range(len(en)):
            rows.append({"src_lang": "eng_Latn", "tgt_lang": lang, "src": en[i], "tgt": tgt[i], "score": 1.0})
            rows.append({"src_lang": "eng_Latn", "tgt_lang": lang, "src": en[i], "tgt": en[i], "score": 0.0})
    return rows


def test_qsm_training_lowers_its_loss_and_round_trips(tmp_path, tiny_encoder_dir, parallel_text):
    path = tmp_path / "qsm.jsonl"
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in qsm_rows(parallel_text)), encoding="utf-8"
    )
    texts, scores, _ = read_scored_samples(path)
    assert len(texts) == 80 and texts[0].startswith("Instruction: Translate this from English to German:\nEnglish: ")
    assert texts[0].endswith(f"\nResponse: {parallel_text['deu_Latn'][0]}")
    scorer = train_qsm(
        tiny_encoder_dir,
        texts,
        scores,
        epochs=10,
        lr=1e-3,
        batch_size=8,
        max_length=96,
        head_hidden=[32],
        dropout=0.0,
        device="cpu",
    )
    h = scorer.history
    assert len(h["epoch_train_mse"]) == 10
    assert h["final_mse"] < 0.5 * h["initial_mse"]
    assert h["final_mse"] < 0.25  # better than predicting the mean (0.5) for every sample
    out = scorer.save(tmp_path / "ckpt")
    again = load_qsm(out, "cpu")
    np.testing.assert_allclose(again.predict(texts[:10]), scorer.predict(texts[:10]), atol=1e-5)
    assert again.embed(texts[:3]).shape == (3, 32)


def test_qsm_data_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"instruction": "a", "response": "b", "score": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: not valid JSON"):
        read_scored_samples(bad)
    bad.write_text('{"instruction": "a", "response": "b", "score": "high"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:1: 'score' must be a finite number"):
        read_scored_samples(bad)
    bad.write_text('{"src": "a", "response": "b", "score": 1}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"needs 'instruction' or 'src_lang'"):
        read_scored_samples(bad)
    with pytest.raises(MissingResourceError, match="qsm-train"):
        load_qsm(tmp_path / "nothing")


def test_cluster_allocation_is_proportional_and_covers_every_cluster():
    assert cluster_allocation(np.array([60, 30, 10]), 10).tolist() == [6, 3, 1]
    assert cluster_allocation(np.array([60, 30, 10]), 7).tolist() == [4, 2, 1]  # 4.2, 2.1, 0.7
    # Tiny clusters still get one row, taken from the most over-served cluster.
    assert cluster_allocation(np.array([97, 2, 1]), 10).tolist() == [8, 1, 1]
    assert cluster_allocation(np.array([600, 300, 100]), 100).tolist() == [60, 30, 10]
    assert cluster_allocation(np.array([5, 0, 2]), 100).tolist() == [5, 0, 2]
    # Budget below the number of clusters: the largest clusters get one each.
    assert cluster_allocation(np.array([3, 9, 5, 1]), 2).tolist() == [0, 1, 1, 0]


def test_diversity_selection_takes_the_best_of_every_cluster():
    rng = np.random.default_rng(0)
    clusters = np.repeat([0, 1, 2, 3], [50, 30, 15, 5])
    # Cluster 0 holds every high score: a plain top-k would take only cluster 0.
    scores = np.where(clusters == 0, 10 + rng.random(100), rng.random(100))
    keep = diversity_select(scores, clusters, 20)
    assert keep.sum() == 20
    assert set(clusters[keep]) == {0, 1, 2, 3}
    for c in range(4):
        rows = np.flatnonzero(clusters == c)
        k = int(keep[rows].sum())
        assert set(np.flatnonzero(keep & (clusters == c))) == set(rows[np.argsort(-scores[rows])[:k]])
    # Reserved rows (quotas) count towards the budget.
    reserved = np.zeros(100, dtype=bool)
    reserved[[99, 98]] = True
    keep2 = diversity_select(scores, clusters, 20, reserved)
    assert keep2.sum() == 20 and keep2[99] and keep2[98]


def test_kmeans_clusters_separate_blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=20, size=(4, 8))
    emb = np.concatenate([c + rng.normal(size=(30, 8)) for c in centres])
    labels = cluster_embeddings(emb, 4, 0.95, seed=0)
    truth = np.repeat(np.arange(4), 30)
    # Same partition up to label names.
    assert len(set(zip(truth.tolist(), labels.tolist()))) == 4 and len(set(labels)) == 4
    assert default_clusters(200_000, 10_000) == 316 and default_clusters(1000, 10) == 10


def test_mdaq_cli_train_score_select(tmp_path, tiny_encoder_dir, parallel_text):
    from data_prep.selection.cli import main

    train = tmp_path / "qsm_train.parquet"
    pq.write_table(pa.Table.from_pylist(qsm_rows(parallel_text)), train)
    prep = write_prep_dir(tmp_path / "prep", parallel_text)
    cfg = {
        "name": "mdaq",
        "run_dir": str(tmp_path / "run"),
        "select": {
            "method": "mdaq",
            "input_dir": str(prep),
            "share": 0.3,
            "chunk_size": 10,
            "device": "cpu",
            "min_per_direction": 1,
            "mdaq": {
                "encoder": tiny_encoder_dir,
                "train_data": str(train),
                "epochs": 1,
                "lr": 1e-3,
                "head_hidden": [16],
                "max_length": 96,
                "n_clusters": 4,
            },
        },
    }
    cfg_path = tmp_path / "exp.yaml"
    cfg_path.write_text("# lmt select mdaq exp.yaml\n" + json.dumps(cfg), encoding="utf-8")
    assert main(["qsm-train", str(cfg_path)]) == 0
    meta = json.loads((tmp_path / "run" / "qsm" / "qsm.json").read_text())
    assert meta["history"]["samples"] == 72 and meta["history"]["eval_samples"] == 8  # eval_share 0.1 of 80
    with pytest.raises(ConfigError, match="select.mdaq.encoder is not set"):
        main(["qsm-train", str(cfg_path), "select.mdaq.encoder=null"])

    scored = tmp_path / "scored.parquet"
    assert main(["qsm-score", str(cfg_path), "--input", str(train), "--output", str(scored)]) == 0
    t = pq.read_table(scored)
    assert t.num_rows == 80 and "qsm_score" in t.column_names

    assert main(["mdaq", str(cfg_path)]) == 0
    out = tmp_path / "run" / "data" / "selected"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["method"] == "mdaq" and manifest["n_clusters"] == 4
    assert manifest["counts"] == {
        "before": 27,
        "after": 9,  # ceil(0.3 * 27)
        "per_direction": manifest["counts"]["per_direction"],
    }
    kept = pa.concat_tables(pq.read_table(p) for p in sorted(out.glob("parallel/*/*.parquet")))
    assert kept.num_rows == 9 and {"qsm_score", "cluster"} <= set(kept.column_names)
    all_clusters = np.concatenate(
        [np.load(p)["emb"] for p in sorted((out / "cache" / "mdaq_embeddings").glob("*.npz"))]
    )
    assert all_clusters.shape == (27, 32)
    assert set(kept.column("cluster").to_pylist()) == {0, 1, 2, 3}
    assert all(v["after"] >= 1 for v in manifest["counts"]["per_direction"].values())


def test_miwv_and_dsa_with_an_hf_encoder_embedder(tmp_path, tiny_model_dir, tiny_encoder_dir, parallel_text):
    from data_prep.selection import run_selection
    from lmt.config import load_experiment
    from tests.data_prep.test_selection import _config

    prep = write_prep_dir(tmp_path / "prep", parallel_text)
    cfg = load_experiment(_config(tmp_path, prep, tiny_model_dir), [f"select.miwv.embedder={tiny_encoder_dir}"])
    out = run_selection(cfg)
    emb = np.concatenate([np.load(p)["emb"] for p in sorted((out / "cache" / "miwv_embeddings").glob("*.npz"))])
    assert emb.shape == (27, 32)  # the encoder's width (the tiny LM's is 64)
    nb = np.concatenate([np.load(p)["neighbor"] for p in sorted((out / "cache" / "miwv_neighbors").glob("*.npz"))])
    assert np.all(nb != np.arange(27)) and nb[0] == 8
    kept = pa.concat_tables(pq.read_table(p) for p in sorted(out.glob("parallel/*/*.parquet")))
    assert kept.num_rows == 6 and kept.column("miwv_neighbor").to_pylist() != [None] * 6


def test_mdaq_choice_per_direction_with_quotas():
    from data_prep.selection.runner import choose_rows
    from lmt.config.select import SelectConfig

    groups = np.repeat([0, 1], [40, 10])
    clusters = np.tile([0, 1], 25)
    scores = np.arange(50, dtype=float)  # direction 1 holds the best scores
    glob = choose_rows(
        "mdaq", SelectConfig(method="mdaq", share=0.1), {"qsm_score": scores, "cluster": clusters}, groups
    )
    assert glob.sum() == 5 and set(clusters[glob]) == {0, 1}
    assert glob[groups == 0].sum() == 0  # without quotas direction 0 is starved
    quota = choose_rows(
        "mdaq", SelectConfig(share=0.1, min_per_direction=2), {"qsm_score": scores, "cluster": clusters}, groups
    )
    assert quota.sum() == 5 and np.flatnonzero(quota & (groups == 0)).tolist() == [38, 39]
    per = choose_rows(
        "mdaq", SelectConfig(share=0.1, scope="per_direction"), {"qsm_score": scores, "cluster": clusters}, groups
    )
    assert [int(per[groups == g].sum()) for g in (0, 1)] == [4, 1]
    # Budget 4 in direction 0, clusters of 20 each: the best 2 of each cluster.
    assert np.flatnonzero(per & (groups == 0)).tolist() == [36, 37, 38, 39]


def test_neighbors_within_direction_and_in_query_chunks():
    from data_prep.selection.retrieval import l2_normalize
    from data_prep.selection.miwv_step import find_neighbors

    rng = np.random.default_rng(3)
    emb = rng.normal(size=(30, 8)).astype(np.float32)
    emb[20] = emb[0]  # a duplicate in another direction: eligible only with neighbors=all
    x = l2_normalize(emb)
    groups = np.repeat([0, 1, 2], [15, 14, 1])
    nb_all, _ = find_neighbors(x, None, "blocked", 4, None)
    assert nb_all[0] == 20 and np.all(nb_all != np.arange(30))
    nb_dir, sim_dir = find_neighbors(x, groups, "blocked", 4, None)
    assert np.all(nb_dir != np.arange(30))
    assert np.all(groups[nb_dir[:29]] == groups[:29])
    assert nb_dir[0] != 20 and groups[nb_dir[29]] != 2  # a lone sample falls back to all rows
    # Query chunks (as cached and sharded) give the same answer as one search.
    for grouping, whole in ((None, nb_all), (groups, nb_dir)):
        for device in (None, "cpu"):  # numpy tiles; torch tiles (keys cached across chunks)
            parts = [find_neighbors(x, grouping, "blocked", 4, device, s, e)[0] for s, e in ((0, 7), (7, 18), (18, 30))]
            np.testing.assert_array_equal(np.concatenate(parts), whole)
    # The torch key cache never serves another array of the same shape.
    from data_prep.selection.retrieval import nearest_neighbors

    for seed in (4, 5, 6):
        y = l2_normalize(np.random.default_rng(seed).normal(size=(30, 8)))
        ref, _ = nearest_neighbors(y, "blocked", 4, normalized=True)
        got, _ = nearest_neighbors(y, "blocked", 4, 0, 10, normalized=True, device="cpu")
        np.testing.assert_array_equal(got, ref[:10])
