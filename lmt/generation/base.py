"""What every engine shares: output cleaning (as the released LMT code) and batching."""

from __future__ import annotations

import unicodedata
from typing import Any, Protocol, Sequence

# The released inference code removes these strings (and the tokenizer's
# pad/eos/bos/unk tokens) from every decoded output, newline included.
BASE_REMOVE = ("<unk>", "</s>", "<pad>", "\n")
EMPTY_HYP = "#"


class Engine(Protocol):
    """A translation engine: rendered prompts in, cleaned outputs out."""

    tokenizer: Any
    calls: int

    def generate(self, prompts: list[str], desc: str = "") -> list[str]:
        """Translate rendered prompts; outputs in input order."""
        ...


def special_tokens_to_remove(tokenizer: Any) -> list[str]:
    """The strings stripped from outputs, as ``get_special_tokens`` in LMT's inference.py."""
    out = list(BASE_REMOVE)
    for attr in ("pad_token", "eos_token", "bos_token", "unk_token"):
        tok = getattr(tokenizer, attr, None)
        if tok:
            out.append(str(tok))
    return out


def clean_output(text: str, remove: Sequence[str], strip: bool = False) -> str:
    """Clean one decoded output like LMT's ``clean_pred``.

    Special tokens and newlines are deleted (not replaced by spaces, as in the
    released code); an output left blank becomes ``"#"``. The released code's
    blank test (``regex`` pattern ``^[\\s\\p{C}[\\x00-\\xFF]]+$``) never matches an
    empty string under the ``regex`` module's default V0 syntax, so there an empty
    output stays empty; we apply the documented intent (blank -> ``#``) so every
    hypothesis line is scoreable, and count those lines in the report.

    Args:
        text: decoded output (special tokens already skipped by the tokenizer).
        remove: strings to delete (:func:`special_tokens_to_remove`).
        strip: also strip surrounding whitespace (our STP/PMP prompts; the
            released code does not strip).
    """
    for tok in remove:
        if tok:
            text = text.replace(tok, "")
    if strip:
        text = text.strip()
    return EMPTY_HYP if is_blank(text) else text


def is_blank(text: str) -> bool:
    """Only whitespace and control/format characters (Unicode category C*)."""
    return all(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in text)


def batch_order(lengths: Sequence[int], batch_size: int, sort_by_length: bool = True) -> list[list[int]]:
    """Indices grouped into batches.

    With ``sort_by_length`` the longest inputs come first (memory peaks at the
    start, so an out-of-memory error shows at once) and each batch holds
    similar lengths, which cuts padding and the steps spent waiting for the
    longest output of a batch. Without it batches follow input order, as the
    released inference code does.
    """
    idx = list(range(len(lengths)))
    if sort_by_length:
        # Stable sort: equal lengths keep input order, so runs are reproducible.
        idx.sort(key=lambda i: -lengths[i])
    return [idx[i : i + batch_size] for i in range(0, len(idx), batch_size)]
