"""M-DaQ's Quality Scoring Model (QSM): a multilingual encoder + regression head.

Design (ours, after CaR, the group's earlier method; see the README's data selection section): a
Hugging Face ``AutoModel`` encoder (XLM-R or any multilingual encoder, by path
or hub id), masked mean pooling, a feed-forward head (default 2048-1024, tanh,
dropout) to one score, trained end to end with MSE on ``(sample, score)`` pairs.
A sample is rendered as CaR does::

    Instruction: {instruction}
    Response: {response}

For translation pairs the instruction is the STP prompt of the pair.

Why not unbabel-comet's framework: its released 2.2.7 package has no
instruction-scoring model class (CaR used a fork), its training loop needs
PyTorch Lightning and a hparams file tied to its own model zoo, and its
checkpoints cannot be reloaded without that code. The plain encoder + head here
trains with a few lines of torch, loads any ``AutoModel`` encoder offline, and
saves a checkpoint directory anyone can read::

    DIR/encoder/        save_pretrained() of the fine-tuned encoder + tokenizer
    DIR/head.pt         the regression head's state_dict
    DIR/qsm.json        head sizes, max_length, text format, training history

The same encoder's mean-pooled output gives the embeddings for diversity
selection (``select.mdaq.embedder: qsm``).
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from lmt.errors import DataError, MissingResourceError
from lmt.io import write_json_atomic
from lmt.log import get_logger, progress
from lmt.prompts import get_template

log = get_logger("lmt.select.qsm")

TEXT_FORMAT = "Instruction: {instruction}\nResponse: {response}"


def qsm_text(instruction: str, response: str) -> str:
    """The QSM's input string for one sample."""
    return TEXT_FORMAT.format(instruction=instruction, response=response)


def pair_instruction(template_name: str, src_lang: str, tgt_lang: str, src: str) -> str:
    """The instruction of a translation pair: its rendered prompt."""
    return get_template(template_name).render(src_lang, tgt_lang, src)


def read_scored_samples(
    path: "str | Path", template: str = "stp", require_score: bool = True
) -> tuple[list[str], Optional[np.ndarray], Any]:
    """Read (instruction, response, score) samples from Parquet or JSONL.

    Columns: ``score`` (float), ``response`` or ``tgt``, and ``instruction`` or
    ``src_lang`` + ``tgt_lang`` + ``src`` (rendered with ``template``).

    Returns:
        ``(texts, scores or None, table)``: QSM input strings, scores, and the
        rows as a ``pyarrow.Table`` (for writing scored copies).

    Raises:
        MissingResourceError: the file does not exist.
        DataError: unreadable file, bad JSON line, missing column or bad score (named).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path)
    if not p.is_file():
        raise MissingResourceError(f"QSM data file {p} does not exist")
    if p.suffix == ".parquet":
        try:
            table = pq.read_table(p)
        except (pa.ArrowInvalid, OSError) as err:
            raise DataError(f"{p}: cannot read Parquet: {err}") from None
        rows = table.to_pylist()
    elif p.suffix in (".jsonl", ".json"):
        rows = []
        with p.open(encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as err:
                    raise DataError(f"{p}:{n}: not valid JSON: {err.msg}") from None
                if not isinstance(row, dict):
                    raise DataError(f"{p}:{n}: each line must be a JSON object")
                rows.append(row)
        table = pa.Table.from_pylist(rows) if rows else pa.table({})
    else:
        raise DataError(f"{p}: QSM data must be .parquet or .jsonl")
    if not rows:
        raise DataError(f"{p}: no samples")
    texts, scores = [], []
    for n, row in enumerate(rows, 1):
        where = f"{p}:{n}" if p.suffix != ".parquet" else f"{p}: row {n}"
        response = row.get("response", row.get("tgt"))
        if not isinstance(response, str):
            raise DataError(f"{where}: needs a string 'response' (or 'tgt') column")
        instruction = row.get("instruction")
        if instruction is None:
            if not all(isinstance(row.get(k), str) for k in ("src_lang", "tgt_lang", "src")):
                raise DataError(f"{where}: needs 'instruction' or 'src_lang', 'tgt_lang' and 'src'")
            instruction = pair_instruction(template, row["src_lang"], row["tgt_lang"], row["src"])
        texts.append(qsm_text(str(instruction), response))
        if require_score:
            score = row.get("score")
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise DataError(f"{where}: 'score' must be a finite number, got {score!r}")
            scores.append(float(score))
    return texts, (np.asarray(scores, dtype=np.float32) if require_score else None), table


def _build_head(hidden: int, sizes: Sequence[int], dropout: float) -> Any:
    import torch.nn as nn

    layers: list[Any] = []
    width = hidden
    for h in sizes:
        layers += [nn.Linear(width, h), nn.Tanh(), nn.Dropout(dropout)]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


class QualityScorer:
    """Encoder + mean pooling + regression head.

    Args:
        encoder: an HF ``AutoModel`` encoder.
        tokenizer: its tokenizer.
        head_hidden: hidden sizes of the head.
        dropout: head dropout.
        max_length: input tokens.
    """

    def __init__(
        self,
        encoder: Any,
        tokenizer: Any,
        head_hidden: Sequence[int] = (2048, 1024),
        dropout: float = 0.1,
        max_length: int = 512,
    ) -> None:
        self.encoder = encoder
        self.tokenizer = tokenizer
        self.head_hidden = list(head_hidden)
        self.dropout = dropout
        self.max_length = max_length
        device = next(encoder.parameters()).device
        self.head = _build_head(encoder.config.hidden_size, self.head_hidden, dropout).to(device)
        self.history: dict = {}

    @property
    def device(self) -> Any:
        return next(self.encoder.parameters()).device

    def parameters(self) -> list:
        return list(self.encoder.parameters()) + list(self.head.parameters())

    def train(self, mode: bool = True) -> "QualityScorer":
        self.encoder.train(mode)
        self.head.train(mode)
        return self

    def _tokenize(self, texts: Sequence[str]) -> Any:
        enc = self.tokenizer(
            list(texts), padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        )
        return enc["input_ids"].to(self.device), enc["attention_mask"].to(self.device)

    def forward(self, texts: Sequence[str]) -> tuple[Any, Any]:
        """``(scores (B,), pooled embeddings (B, H))`` with gradients."""
        from data_prep.selection.embed import mean_pool

        ids, mask = self._tokenize(texts)
        hidden = self.encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        pooled = mean_pool(hidden, mask)
        return self.head(pooled).squeeze(-1), pooled

    def _batched(self, texts: Sequence[str], batch_size: int, want: str, desc: str) -> np.ndarray:
        import torch

        self.train(False)
        order = np.argsort([len(t) for t in texts], kind="stable")
        outs: list[Optional[np.ndarray]] = [None] * len(texts)
        starts = range(0, len(texts), batch_size)
        with torch.inference_mode():
            for b in progress(starts, desc=desc, total=len(starts), unit="batch"):
                idx = order[b : b + batch_size]
                scores, pooled = self.forward([texts[i] for i in idx])
                val = (scores if want == "score" else pooled).float().cpu().numpy()
                for r, i in enumerate(idx):
                    outs[i] = val[r]
        return np.stack(outs).astype(np.float32) if outs else np.zeros((0,), dtype=np.float32)

    def predict(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Quality score per text (float32)."""
        return self._batched(texts, batch_size, "score", "qsm scores")

    def embed(self, texts: Sequence[str], batch_size: int = 16) -> np.ndarray:
        """Mean-pooled encoder embedding per text (float32, ``(N, H)``)."""
        return self._batched(texts, batch_size, "embed", "qsm embeddings")

    def mse(self, texts: Sequence[str], scores: np.ndarray, batch_size: int = 16) -> float:
        """Mean squared error on a dataset (eval mode)."""
        pred = self.predict(texts, batch_size)
        return float(np.mean((pred - np.asarray(scores, dtype=np.float32)) ** 2))

    def save(self, out_dir: "str | Path") -> Path:
        """Write the checkpoint directory (staged, then renamed into place)."""
        import torch

        out = Path(out_dir)
        tmp = out.with_name(f".{out.name}.tmp")
        if tmp.exists():
            shutil.rmtree(tmp)
        self.encoder.save_pretrained(tmp / "encoder")
        self.tokenizer.save_pretrained(tmp / "encoder")
        torch.save(self.head.state_dict(), tmp / "head.pt")
        meta = {
            "format": "lmt-qsm-1",
            "text_format": TEXT_FORMAT,
            "head_hidden": self.head_hidden,
            "dropout": self.dropout,
            "max_length": self.max_length,
            "history": self.history,
        }
        write_json_atomic(tmp / "qsm.json", meta)
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
        return out


def train_qsm(
    encoder_path: str,
    texts: Sequence[str],
    scores: np.ndarray,
    epochs: int = 3,
    lr: float = 2e-5,
    weight_decay: float = 0.01,
    batch_size: int = 16,
    max_length: int = 512,
    head_hidden: Sequence[int] = (2048, 1024),
    dropout: float = 0.1,
    seed: int = 1234,
    device: Optional[str] = None,
    trust_remote_code: bool = False,
    eval_share: float = 0.0,
) -> QualityScorer:
    """Fine-tune encoder + head with MSE on ``(text, score)`` pairs.

    ``scorer.history`` records ``initial_mse`` and ``final_mse`` (full pass in
    eval mode over the training part) and the mean training loss of each
    epoch; with ``eval_share > 0`` that share of the samples (at least one,
    chosen with ``seed``) is held out and ``eval_initial_mse``/``eval_final_mse``
    are recorded too.
    """
    import torch

    from data_prep.selection.embed import load_encoder, pick_device

    if len(texts) != len(scores) or not len(texts):
        raise DataError(
            f"QSM training needs as many scores as samples (got {len(texts)} samples, {len(scores)} scores)"
        )
    if not 0 <= eval_share < 1:
        raise DataError(f"QSM eval_share must be in [0, 1), got {eval_share}")
    scores = np.asarray(scores, dtype=np.float32)
    held: Optional[tuple[list[str], np.ndarray]] = None
    if eval_share > 0:
        if len(texts) < 2:
            raise DataError("QSM training with eval_share > 0 needs at least 2 samples")
        order = np.random.default_rng(seed).permutation(len(texts))
        n_eval = max(1, int(round(eval_share * len(texts))))
        ev, tr = order[:n_eval], order[n_eval:]
        held = ([texts[i] for i in ev], scores[ev])
        texts, scores = [texts[i] for i in tr], scores[tr]
    torch.manual_seed(seed)
    dev = pick_device(device)
    encoder, tok = load_encoder(encoder_path, trust_remote_code, dev)
    scorer = QualityScorer(encoder, tok, head_hidden, dropout, max_length)
    target = torch.as_tensor(np.asarray(scores, dtype=np.float32))
    opt = torch.optim.AdamW(scorer.parameters(), lr=lr, weight_decay=weight_decay)
    initial = scorer.mse(texts, scores, batch_size)
    eval_initial = scorer.mse(*held, batch_size) if held else None
    rng = np.random.default_rng(seed)
    epoch_losses = []
    for epoch in range(epochs):
        scorer.train(True)
        perm = rng.permutation(len(texts))
        total = 0.0
        starts = range(0, len(perm), batch_size)
        for b in progress(starts, desc=f"qsm epoch {epoch + 1}/{epochs}", total=len(starts), unit="batch"):
            idx = perm[b : b + batch_size]
            pred, _ = scorer.forward([texts[i] for i in idx])
            loss = torch.nn.functional.mse_loss(pred.float(), target[idx].to(pred.device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        epoch_losses.append(total / len(perm))
        log.info("qsm epoch %d/%d: train mse %.4f", epoch + 1, epochs, epoch_losses[-1])
    final = scorer.mse(texts, scores, batch_size)
    scorer.history = {
        "encoder": encoder_path,
        "samples": len(texts),
        "epochs": epochs,
        "lr": lr,
        "initial_mse": initial,
        "final_mse": final,
        "epoch_train_mse": epoch_losses,
    }
    if held:
        scorer.history.update(
            eval_samples=len(held[0]), eval_initial_mse=eval_initial, eval_final_mse=scorer.mse(*held, batch_size)
        )
    return scorer


def load_qsm(path: "str | Path", device: Optional[str] = None) -> QualityScorer:
    """Load a checkpoint written by :meth:`QualityScorer.save`.

    Raises:
        MissingResourceError: the directory or one of its files is missing.
    """
    import torch

    from data_prep.selection.embed import load_encoder, pick_device

    p = Path(path)
    meta_path = p / "qsm.json"
    if not meta_path.is_file() or not (p / "head.pt").is_file():
        raise MissingResourceError(
            f"QSM checkpoint {p} not found (needs qsm.json, head.pt, encoder/); train one with `lmt select qsm-train CONFIG`"
        )
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    dev = pick_device(device)
    encoder, tok = load_encoder(str(p / "encoder"), False, dev)
    scorer = QualityScorer(encoder, tok, meta["head_hidden"], meta["dropout"], meta["max_length"])
    scorer.head.load_state_dict(torch.load(p / "head.pt", map_location=dev, weights_only=True))
    scorer.history = meta.get("history", {})
    return scorer.train(False)
