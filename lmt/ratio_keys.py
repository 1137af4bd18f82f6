"""Keys of per-direction settings: a direction group, ``GROUP:TIER`` or one direction.

``prep.downsample.per_direction`` (and the downsampler in ``data_prep``) key
their ratios this way; the config validates the keys here, so ``lmt`` needs no
stage package to load a config.
"""

from __future__ import annotations

from lmt.errors import ConfigError, UnknownLanguageError
from lmt.languages import TIERS, Direction

GROUPS = ("en2x", "x2en", "zh2x", "x2zh", "other")


def normalize_ratio_key(key: str) -> str:
    """Canonical form of a ``per_direction`` key: a group, tier or ``src-tgt``.

    Raises:
        ConfigError: when the key is neither a group/tier nor a parsable direction.
    """
    k = key.strip()
    if k in GROUPS:
        return k
    if k.lower() in GROUPS:
        return k.lower()
    if ":" in k:  # "x2en:low" -> reverse-to-English directions of low-tier languages
        group, tier = k.split(":", 1)
        if group in GROUPS and tier in TIERS:
            return f"{group}:{tier}"
        raise ConfigError(f"downsample.per_direction.{key}: expected GROUP:TIER, e.g. x2en:low")
    try:
        return str(Direction.parse(k))
    except UnknownLanguageError as err:
        raise ConfigError(f"downsample.per_direction.{key}: {err}") from None
