"""Parallel multilingual prompting (PMP): which prompt each SFT record gets.

The paper trains forward directions (En/Zh->X) with 50% single-target prompts
(STP) and 50% PMP prompts, and the reverse directions (X->En/Zh, already
downsampled to 5% by prep) half and half as well. A PMP prompt carries the
source sentence in the auxiliary language of the direction (from the experiment's
:class:`lmt.aux_map.AuxMap`; English for Zh<->X), taken from the multi-way data:
the ``aux_lang``/``aux`` columns prep writes. A record without an auxiliary
sentence, or whose direction has no auxiliary language, gets the plain prompt.

The choice is a pure function of the seed and the record's content, so every
rank, every rerun and every resumed run renders the same prompt.
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, Optional

from lmt.aux_map import AuxMap
from lmt.languages import Direction
from lmt.prompts import PromptTemplate, render_prompt

STP, PMP = "stp", "pmp"


def unit_hash(seed: int, *parts: Any) -> float:
    """A deterministic number in [0, 1) from a seed and record fields."""
    h = hashlib.blake2b(repr((seed,) + parts).encode("utf-8"), digest_size=8).digest()
    return struct.unpack(">Q", h)[0] / 2.0**64


def choose_prompt(
    record: dict,
    aux_map: AuxMap,
    seed: int,
    forward_share: float,
    reverse_share: float,
    enabled: bool = True,
) -> tuple[str, Optional[str], Optional[str], str]:
    """Decide STP or PMP for one record.

    Args:
        record: a parallel record (``src_lang, tgt_lang, src, tgt`` and optionally
            ``aux_lang, aux``).
        aux_map: the experiment's auxiliary-language map.
        seed: experiment seed.
        forward_share: share of En/Zh->X records with a PMP prompt.
        reverse_share: share of X->En/Zh records with a PMP prompt.
        enabled: PMP at all.

    Returns:
        ``(kind, aux_lang, aux, why)``: kind is ``"pmp"`` or ``"stp"``; aux fields
        are ``None`` for STP; ``why`` says how the decision was made (``pmp``,
        ``stp_by_share``, ``no_aux_language``, ``no_aux_sentence``,
        ``aux_language_mismatch``, ``pmp_disabled``) for the data report.
    """
    if not enabled:
        return STP, None, None, "pmp_disabled"
    src_lang, tgt_lang = record["src_lang"], record["tgt_lang"]
    expected = aux_map.aux_language(src_lang, tgt_lang)
    if expected is None:
        return STP, None, None, "no_aux_language"
    aux, aux_lang = record.get("aux"), record.get("aux_lang")
    if not aux or not aux_lang:
        return STP, None, None, "no_aux_sentence"
    # The map guarantees expected is neither source nor target; a record whose
    # auxiliary came from another map (or is the source itself) is not used.
    if aux_lang != expected or aux_lang in (src_lang, tgt_lang):
        return STP, None, None, "aux_language_mismatch"
    share = reverse_share if Direction(src_lang, tgt_lang).is_reverse else forward_share
    if unit_hash(seed, "pmp", src_lang, tgt_lang, record["src"], record["tgt"]) < share:
        return PMP, aux_lang, aux, "pmp"
    return STP, None, None, "stp_by_share"


def render_sft_example(
    record: dict,
    template: PromptTemplate,
    tokenizer: Any,
    use_chat_template: bool,
    aux_lang: Optional[str] = None,
    aux: Optional[str] = None,
) -> tuple[str, str]:
    """``(prompt, full_text)`` for one record; the response is ``full_text[len(prompt):]``."""
    r = render_prompt(
        tokenizer, template.with_chat(use_chat_template), record["src_lang"], record["tgt_lang"], record["src"],
        aux_lang=aux_lang, aux=aux, response=record["tgt"],
    )  # fmt: skip
    return r.prompt, r.text
