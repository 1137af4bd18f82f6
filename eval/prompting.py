"""Render evaluation prompts: plain (STP / released) and PMP with an auxiliary sentence."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from lmt.errors import ConfigError
from lmt.prompts import build_prompt, get_template


def render(
    tokenizer: Any,
    template: str,
    src_lang: str,
    tgt_lang: str,
    src: str,
    aux_lang: Optional[str] = None,
    aux: Optional[str] = None,
    use_chat_template: bool = True,
) -> str:
    """One rendered prompt, as the model will see it.

    ``released*`` templates go through ``apply_chat_template(messages,
    tokenize=False, add_generation_prompt=True)`` exactly as LMT's public
    inference code calls it (no ``enable_thinking`` argument); our STP/PMP
    templates use :func:`lmt.prompts.build_prompt`, the form our SFT recipes
    train on.
    """
    user = get_template(template).render(src_lang, tgt_lang, src, aux_lang=aux_lang, aux=aux)
    if not use_chat_template:
        return user
    if template.startswith("released"):
        if getattr(tokenizer, "chat_template", None) is None:
            raise ConfigError("the tokenizer has no chat template; set eval.use_chat_template: false")
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True
        )
    return build_prompt(tokenizer, user, use_chat_template=True)


def render_many(
    tokenizer: Any,
    template: str,
    src_lang: str,
    tgt_lang: str,
    sources: Sequence[str],
    aux_lang: Optional[str] = None,
    aux: Optional[Sequence[str]] = None,
    use_chat_template: bool = True,
) -> list[str]:
    """Render a whole direction (PMP when ``aux_lang`` and ``aux`` are given)."""
    if aux_lang and aux is not None and len(aux) != len(sources):
        raise ConfigError(f"PMP: {len(aux)} auxiliary sentences for {len(sources)} sources")
    return [
        render(
            tokenizer,
            template,
            src_lang,
            tgt_lang,
            s,
            aux_lang=aux_lang if aux is not None else None,
            aux=aux[i] if aux is not None else None,
            use_chat_template=use_chat_template,
        )
        for i, s in enumerate(sources)
    ]


def check_pmp_template(template: str, pmp: str) -> None:
    """PMP modes need a template with a PMP form (``stp``/``pmp``)."""
    if pmp != "none" and get_template(template).pmp_header is None:
        raise ConfigError(f"eval.pmp: {pmp} needs a prompt template with a PMP form (prompt: pmp), not {template!r}")
