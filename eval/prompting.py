"""Evaluation prompts: a whole direction through :func:`lmt.prompts.render_prompt`.

Evaluation renders exactly what training rendered: same function, same template
definition (chat template and its arguments included), no response.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

from lmt.errors import ConfigError
from lmt.prompts import PromptTemplate, get_template, render_prompt


def render_many(
    tokenizer: Any,
    template: "str | PromptTemplate",
    src_lang: str,
    tgt_lang: str,
    sources: Sequence[str],
    aux_lang: Optional[str] = None,
    aux: Optional[Sequence[str]] = None,
    use_chat_template: Optional[bool] = None,
) -> list[str]:
    """Generation prompts for a whole direction (PMP when ``aux_lang`` and ``aux`` are given).

    Args:
        use_chat_template: ``None`` keeps the template's definition; ``False``
            renders raw text (base models).
    """
    if aux_lang and aux is not None and len(aux) != len(sources):
        raise ConfigError(f"PMP: {len(aux)} auxiliary sentences for {len(sources)} sources")
    tpl = get_template(template, use_chat_template)
    pmp = bool(aux_lang) and aux is not None
    return [
        render_prompt(
            tokenizer, tpl, src_lang, tgt_lang, s, aux_lang=aux_lang if pmp else None, aux=aux[i] if pmp else None
        ).prompt
        for i, s in enumerate(sources)
    ]


def render(
    tokenizer: Any,
    template: "str | PromptTemplate",
    src_lang: str,
    tgt_lang: str,
    src: str,
    aux_lang: Optional[str] = None,
    aux: Optional[str] = None,
    use_chat_template: Optional[bool] = None,
) -> str:
    """One generation prompt (see :func:`render_many`)."""
    return render_many(
        tokenizer, template, src_lang, tgt_lang, [src], aux_lang, None if aux is None else [aux], use_chat_template
    )[0]


def check_pmp_template(template: str, pmp: str) -> None:
    """PMP modes need a template with a PMP form (``stp``/``pmp``)."""
    if pmp != "none" and get_template(template).pmp_header is None:
        raise ConfigError(f"eval.pmp: {pmp} needs a prompt template with a PMP form (prompt: pmp), not {template!r}")
