"""Orientation, dedup keys and bucket assignment of filtered pairs.

Pairs are stored *canonically oriented*: the pivot language (English) first,
then the centres (Chinese), then other languages alphabetically. A de->en
record and an en->de record of the same sentences are then the same pair for
dedup, and every En-X pair has English on the source side for the pivot join.

Buckets: a pair goes to ``hash(dedup_key(src)) % buckets``. Exact duplicates,
normalised duplicates and pairs sharing one English sentence all have equal
``dedup_key(src)``, so one hash partition serves dedup *and* the join, each
bucket independently and with memory bounded by the bucket size.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import xxhash

SEP = "\x1f"


def language_rank(pivot: str, centres: Sequence[str]) -> Callable[[str], tuple[int, str]]:
    """Sort key of languages for canonical orientation."""
    order = {pivot: 0}
    for i, c in enumerate(centres):
        order.setdefault(c, 1 + i)
    return lambda code: (order.get(code, 1000), code)


def swap_score_name(name: str) -> str:
    """``lid_src_prob`` <-> ``lid_tgt_prob`` (score columns follow their side)."""
    return name.replace("src", "\0").replace("tgt", "src").replace("\0", "tgt")


def hash64(text: str) -> int:
    """Signed 64-bit xxhash (fits Parquet int64)."""
    h = xxhash.xxh64_intdigest(text.encode("utf-8"))
    return h - (1 << 64) if h >= (1 << 63) else h


@functools.lru_cache(maxsize=1)
def _dedup_key_fn() -> Callable[[str], str]:
    from data_prep.normalize import dedup_key

    return dedup_key


def pair_keys(src_lang: str, tgt_lang: str, src: str, tgt: str, buckets: int) -> tuple[int, int, int]:
    """``(exact_key, normalised_key, bucket)`` of a canonically oriented pair."""
    dk = _dedup_key_fn()
    ks, kt = dk(src), dk(tgt)
    exact = hash64(SEP.join((src_lang, tgt_lang, src, tgt)))
    # A pair of digits/punctuation only has empty normalised keys: fall back to
    # the exact key rather than calling every such pair a duplicate of the others.
    norm = hash64(SEP.join((src_lang, tgt_lang, ks, kt))) if (ks or kt) else exact
    bucket = xxhash.xxh64_intdigest((ks if ks else src).encode("utf-8")) % buckets
    return exact, norm, bucket
