"""Strategic downsampling of reverse directions (X->En, X->Zh).

Each reverse record is kept independently with probability ``p`` (default 5%,
the paper's setting); forward records (En->X, Zh->X) are kept whole. The
decision is a pure function of ``(seed, direction, src, tgt)``: a 64-bit hash
mapped to [0, 1) and compared with ``p``. It therefore does not depend on the
order of records, on shard sizes or on the number of workers, and a rerun keeps
exactly the same records.
"""

from __future__ import annotations

from typing import Mapping

import xxhash

from lmt.config.prep import normalize_ratio_key
from lmt.languages import GROUPS, Direction

__all__ = ["GROUPS", "Downsampler", "normalize_ratio_key"]

_SCALE = float(1 << 64)


class Downsampler:
    """Deterministic keep/drop decisions per record.

    Args:
        ratio: keep probability of every reverse direction (X->En, X->Zh).
        per_direction: overrides keyed by direction (``kir_Cyrl-eng_Latn``,
            ``ky-en``), ``GROUP:TIER`` (``x2zh:low``) or group (``x2zh``); the
            most specific key wins. A forward direction listed here is sampled too.
        seed: the experiment seed; another seed picks another subset.
    """

    def __init__(self, ratio: float = 0.05, per_direction: Mapping[str, float] | None = None, seed: int = 0) -> None:
        self.ratio = float(ratio)
        self.per_direction = {normalize_ratio_key(k): float(v) for k, v in (per_direction or {}).items()}
        self.seed = int(seed)
        self._cache: dict[Direction, float] = {}

    def ratio_for(self, direction: Direction) -> float:
        """Keep probability of one direction (1.0 for forward directions by default)."""
        if direction in self._cache:
            return self._cache[direction]
        keys = [str(direction)]
        if direction.tier:
            keys.append(f"{direction.group}:{direction.tier}")
        keys.append(direction.group)
        for key in keys:
            if key in self.per_direction:
                value = self.per_direction[key]
                break
        else:
            value = self.ratio if direction.is_reverse else 1.0
        self._cache[direction] = value
        return value

    def keep(self, direction: Direction, src: str, tgt: str) -> bool:
        """Whether the record ``src -> tgt`` of ``direction`` survives."""
        p = self.ratio_for(direction)
        if p >= 1.0:
            return True
        if p <= 0.0:
            return False
        return self.draw(self.prefix(direction), src, tgt, self.seed) < p

    @staticmethod
    def prefix(direction: Direction) -> str:
        """The direction part of the hashed string."""
        return f"{direction.src}-{direction.tgt}\x1f"

    @staticmethod
    def draw(prefix: str, src: str, tgt: str, seed: int) -> float:
        """The record's uniform draw in [0, 1): a 64-bit hash of direction, source, target."""
        h = xxhash.xxh64_intdigest(f"{prefix}{src}\x1f{tgt}".encode("utf-8"), seed=seed & 0xFFFFFFFFFFFFFFFF)
        return h / _SCALE
