"""The CPT mixture: monolingual : Zh-centric : En-centric, with per-language sampling.

The paper mixes its 90B CPT tokens 1:1:1 between monolingual text, Zh<->X
pairs and En<->X pairs (En<->Zh counts as En-centric). Here the weights are
shares of *tokens*: :func:`plan_token_mixture` measures the mean tokens of a
document (a monolingual sentence, or a rendered pair) per part and language on
a sample, splits the token budget between parts by the weights and, inside each
part, between languages by ``tokens ** alpha * weight`` (``alpha = 1``: natural
sizes; smaller values upsample small languages), then converts each language's
budget back to a number of documents. Without an explicit total, the mixture
is the largest one that repeats no document; with a larger total, small parts
are repeated (whole copies first, then a sample).

Bilingual pairs are used in both directions (``reverse_share`` of them rendered
target -> source) with the paper's informative formatting
(``<en2ky> src <ky> tgt``, :func:`lmt.prompts.format_cpt_pair`). Prep writes
every pair in both directions (``eng_Latn-kir_Cyrl`` and ``kir_Cyrl-eng_Latn``
hold the same pairs, the reverse one downsampled), so by default CPT reads each
pair once, from its forward direction, and strategic downsampling does not
thin the CPT data (:func:`cpt_directions`; ``prep.downsample.scope``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from lmt.errors import DataError
from lmt.prompts import cpt_tag, format_cpt_pair
from lmt.training.pmp import unit_hash

PARTS = ("monolingual", "zh_centric", "en_centric")


def largest_remainder(weights: dict[str, float], total: int) -> dict[str, int]:
    """Split ``total`` into integers proportional to ``weights`` (sum exactly ``total``)."""
    keys = [k for k, w in weights.items() if w > 0]
    if not keys or total <= 0:
        return {k: 0 for k in weights}
    w = np.array([weights[k] for k in keys], dtype=np.float64)
    exact = w / w.sum() * total
    base = np.floor(exact).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:rest]] += 1
    out = {k: 0 for k in weights}
    out.update({k: int(v) for k, v in zip(keys, base)})
    return out


def plan_mixture(
    sizes: dict[str, dict[str, int]],
    mix: dict[str, float],
    alpha: float = 1.0,
    language_weights: Optional[dict[str, float]] = None,
    total: Optional[int] = None,
) -> dict[str, dict[str, int]]:
    """How much to draw per part and language (documents or tokens: the unit of ``sizes``).

    Args:
        sizes: ``part -> language -> available amount``.
        mix: ``part -> weight``; parts with no data are left out (the remaining
            weights are renormalised).
        alpha: per-language temperature exponent.
        language_weights: extra per-language multipliers.
        total: amount in the mixture (default: the most that repeats nothing).

    Raises:
        DataError: when no part with a positive weight has data.
    """
    language_weights = language_weights or {}
    part_sizes = {p: sum(sizes.get(p, {}).values()) for p in mix}
    live = {p: w for p, w in mix.items() if w > 0 and part_sizes[p] > 0}
    if not live:
        raise DataError(f"CPT mixture is empty: no data for any part with a positive weight ({mix}); sizes {part_sizes}")
    wsum = sum(live.values())
    if total is None:
        total = int(min(part_sizes[p] / (w / wsum) for p, w in live.items()))
    per_part = largest_remainder(live, total)
    plan: dict[str, dict[str, int]] = {}
    for part, n in per_part.items():
        langs = {lang: (size**alpha) * language_weights.get(lang, 1.0) for lang, size in sizes[part].items() if size > 0}
        plan[part] = largest_remainder(langs, n)
    return plan


def plan_token_mixture(
    doc_counts: dict[str, dict[str, int]],
    mean_tokens: dict[str, dict[str, float]],
    mix: dict[str, float],
    alpha: float = 1.0,
    language_weights: Optional[dict[str, float]] = None,
    total_tokens: Optional[int] = None,
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, float]]]:
    """Documents to draw per part and language so that parts share *tokens* by ``mix``.

    Args:
        doc_counts: ``part -> language -> available documents``.
        mean_tokens: ``part -> language -> mean tokens per document`` (from a sample).
        mix, alpha, language_weights: as :func:`plan_mixture`.
        total_tokens: tokens in the mixture (default: the most that repeats no document).

    Returns:
        ``(documents, expected_tokens)``, both ``part -> language -> value``.
    """
    token_sizes = {
        p: {lang: int(round(n * mean_tokens[p][lang])) for lang, n in langs.items()} for p, langs in doc_counts.items()
    }
    budget = plan_mixture(token_sizes, mix, alpha, language_weights, total_tokens)
    docs: dict[str, dict[str, int]] = {}
    expected: dict[str, dict[str, float]] = {}
    for part, langs in budget.items():
        for lang, tokens in langs.items():
            mean = mean_tokens[part][lang]
            n = int(round(tokens / mean)) if mean > 0 else 0
            if total_tokens is None:  # "no repeats" must stay true after rounding
                n = min(n, doc_counts[part][lang])
            docs.setdefault(part, {})[lang] = n
            expected.setdefault(part, {})[lang] = n * mean
    return docs, expected


def cpt_directions(directions: "list", pairs_once: bool = True) -> list:
    """The parallel directions CPT reads (see module docs).

    With ``pairs_once`` a reverse direction (X->En, X->Zh) is skipped when its
    forward direction is in the data: its records are the same pairs.
    """
    from lmt.languages import Direction

    have = {(d.src, d.tgt) for d in directions}
    return [d for d in directions if not (pairs_once and Direction(d.src, d.tgt).is_reverse and (d.tgt, d.src) in have)]


def sample_indices(available: int, wanted: int, rng: np.random.Generator) -> np.ndarray:
    """``wanted`` indices into ``range(available)``: without repeats while possible."""
    if wanted <= 0 or available <= 0:
        return np.zeros(0, dtype=np.int64)
    copies, rest = divmod(wanted, available)
    parts = [rng.permutation(available) for _ in range(copies)]
    parts.append(rng.choice(available, size=rest, replace=False))
    return np.concatenate(parts).astype(np.int64)


def part_of(src_lang: str, tgt_lang: str) -> str:
    """``zh_centric`` or ``en_centric`` for a parallel direction (En<->Zh is En-centric)."""
    from lmt.languages import Direction

    group = Direction(src_lang, tgt_lang).group
    if group in ("en2x", "x2en"):
        return "en_centric"
    if group in ("zh2x", "x2zh"):
        return "zh_centric"
    raise DataError(f"direction {src_lang}-{tgt_lang} is neither En- nor Zh-centric; CPT mixes only those")


def render_pair(record: dict, seed: int, reverse_share: float) -> str:
    """A bilingual CPT document; ``reverse_share`` of pairs go target -> source."""
    s_lang, t_lang, s, t = record["src_lang"], record["tgt_lang"], record["src"], record["tgt"]
    if unit_hash(seed, "cpt_dir", s_lang, t_lang, s, t) < reverse_share:
        s_lang, t_lang, s, t = t_lang, s_lang, t, s
    return format_cpt_pair(s_lang, t_lang, s, t)


def cpt_tags(directions: "list[tuple[str, str]]") -> list[str]:
    """Informative-formatting tags of directions, both ways: ``<en2ky>``, ``<ky2en>``, ``<ky>``, ``<en>``."""
    tags: list[str] = []
    for a, b in directions:
        ta, tb = cpt_tag(a), cpt_tag(b)
        for t in (f"<{ta}2{tb}>", f"<{tb}2{ta}>", f"<{ta}>", f"<{tb}>"):
            if t not in tags:
                tags.append(t)
    return tags
