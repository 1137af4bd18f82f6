"""Build a tiny COMET checkpoint fully offline (for tests and demos).

Real COMET models (``Unbabel/wmt22-comet-da``, ``Unbabel/wmt22-cometkiwi-da``)
are XLM-R-large encoders plus a feed-forward estimator, stored as
``<dir>/checkpoints/model.ckpt`` + ``<dir>/hparams.yaml``; the hparams name the
encoder (``pretrained_model: xlm-roberta-large``) whose tokenizer and config
unbabel-comet loads from the Hugging Face hub. Here the encoder is a tiny
XLM-R-architecture model built from an ``XLMRobertaConfig`` with a SentencePiece
tokenizer trained in-process, saved under ``<dir>/encoder/``, and the hparams
point at that directory, so ``comet.load_from_checkpoint`` and
:func:`lmt.comet.load_comet` need no network. Scores are random but
deterministic (seeded): good for exercising code paths, not for quality.

Layout written by :func:`build_tiny_comet`::

    out_dir/encoder/            config.json, tokenizer.json, sentencepiece.bpe.model ...
    out_dir/hparams.yaml        class_identifier, pretrained_model: <abs path to encoder>
    out_dir/checkpoints/model.ckpt
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Literal, Optional

from lmt.io import atomic_path, write_text_atomic

# A few sentences in several scripts: the tokenizer must cover what tests score.
_DEFAULT_TEXTS = [
    "The cat sleeps on the warm windowsill.",
    "We will meet at the station tomorrow morning.",
    "Scientists discovered a new species of frog in the rainforest.",
    "Die Katze schläft auf der warmen Fensterbank.",
    "Wir treffen uns morgen früh am Bahnhof.",
    "Le chat dort sur le rebord chaud de la fenêtre.",
    "Nous nous retrouverons à la gare demain matin.",
    "Кошка спит на тёплом подоконнике.",
    "Мы встретимся на вокзале завтра утром.",
    "Мышык жылуу терезе текчесинде уктайт.",
    "猫在温暖的窗台上睡觉。",
    "我们明天早上在车站见面。",
    "科学家在雨林中发现了一种新的青蛙。",
    "0123456789 .,;:!?-'\"()#",
]

KINDS = ("regression", "unified")


def _train_xlmr_tokenizer(texts: Iterable[str], out_dir: Path, vocab_size: int) -> None:
    """Train a unigram SentencePiece model and save it as an XLM-R tokenizer."""
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer, XLMRobertaTokenizerFast

    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(t.replace("\n", " ") for t in texts) + "\n", encoding="utf-8")
        prefix = str(Path(tmp) / "spm")
        # XLM-R's fairseq vocabulary is <s>, <pad>, </s>, <unk>, then the
        # SentencePiece pieces from id 3 on, shifted by one: the converters
        # take spm ids 0-2 to be <unk>, <s>, </s> (as in XLM-R's own model)
        # and drop them, so they must be those three and not real pieces.
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=prefix,
            vocab_size=vocab_size,
            model_type="unigram",
            character_coverage=1.0,
            hard_vocab_limit=False,
            unk_id=0,
            bos_id=1,
            eos_id=2,
            pad_id=-1,
            num_threads=1,
            minloglevel=2,
        )
        # transformers 5 ignores ``vocab_file=`` in the constructor (it would
        # build a 5-token vocabulary); loading a folder that holds the model
        # under XLM-R's file name converts it on every version.
        out_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(prefix + ".model", out_dir / "sentencepiece.bpe.model")
    tok = XLMRobertaTokenizer.from_pretrained(out_dir)
    if len(tok) < 10:
        raise RuntimeError(f"tiny COMET tokenizer in {out_dir} has only {len(tok)} tokens")
    tok.save_pretrained(out_dir)
    # Save the fast variant too (tokenizer.json): comet loads XLMRobertaTokenizerFast.
    XLMRobertaTokenizerFast.from_pretrained(out_dir).save_pretrained(out_dir)


def build_tiny_comet(
    out_dir: "str | Path",
    kind: Literal["regression", "unified"] = "regression",
    *,
    texts: Optional[Iterable[str]] = None,
    hidden_size: int = 32,
    num_layers: int = 2,
    vocab_size: int = 400,
    seed: int = 0,
) -> str:
    """Build a tiny COMET checkpoint offline and return the path to load.

    Args:
        out_dir: directory to create (``encoder/``, ``hparams.yaml``,
            ``checkpoints/model.ckpt``).
        kind: ``regression`` (like ``wmt22-comet-da``: src + mt + ref) or
            ``unified`` (like ``wmt22-cometkiwi-da``: reference-free, src + mt).
        texts: sentences to train the encoder's tokenizer on (default: a few
            sentences in Latin, Cyrillic and Han scripts).
        hidden_size: encoder width.
        num_layers: encoder depth.
        vocab_size: SentencePiece vocabulary size (a soft limit).
        seed: weight initialisation seed (scores are deterministic per seed).

    Returns:
        Path of ``checkpoints/model.ckpt`` (a string), loadable with
        ``comet.load_from_checkpoint`` or :func:`lmt.comet.load_comet`.
    """
    import pytorch_lightning as ptl
    import torch
    import yaml
    from comet.models import RegressionMetric, UnifiedMetric
    from transformers import XLMRobertaConfig

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    out = Path(out_dir).resolve()
    enc_dir = out / "encoder"
    enc_dir.mkdir(parents=True, exist_ok=True)
    _train_xlmr_tokenizer(list(texts) if texts is not None else _DEFAULT_TEXTS, enc_dir, vocab_size)

    from transformers import XLMRobertaTokenizerFast

    tok = XLMRobertaTokenizerFast.from_pretrained(enc_dir)
    XLMRobertaConfig(
        vocab_size=len(tok),
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=2,
        intermediate_size=hidden_size * 2,
        # 512 tokens + XLM-R's padding offset of 2, as in xlm-roberta-large.
        max_position_embeddings=514,
        type_vocab_size=1,
        pad_token_id=tok.pad_token_id,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    ).save_pretrained(enc_dir)

    torch.manual_seed(seed)
    common = dict(
        encoder_model="XLM-RoBERTa",
        pretrained_model=str(enc_dir),
        # Build the encoder from config.json: nothing to download.
        load_pretrained_weights=False,
        local_files_only=True,
        hidden_sizes=[hidden_size * 2, hidden_size],
        layer_transformation="softmax",
        dropout=0.0,
    )
    if kind == "regression":
        model = RegressionMetric(layer="mix", pool="avg", final_activation=None, **common)
    else:
        model = UnifiedMetric(
            sent_layer="mix",
            word_layer=num_layers,
            input_segments=["mt", "src"],
            final_activation="Sigmoid",
            **common,
        )
    hparams = dict(model.hparams)
    hparams["load_pretrained_weights"] = False
    ckpt = out / "checkpoints" / "model.ckpt"
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(ckpt) as tmp:
        torch.save(
            {
                "state_dict": model.state_dict(),
                "hyper_parameters": hparams,
                "pytorch-lightning_version": ptl.__version__,
                "epoch": 0,
                "global_step": 0,
            },
            tmp,
        )
    write_text_atomic(out / "hparams.yaml", yaml.safe_dump(hparams, sort_keys=True))
    return str(ckpt)
