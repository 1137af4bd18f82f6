"""Named prompt templates: the released LMT-60 prompt, the paper's STP and PMP.

A template renders the *user* text of one translation request. It always ends
with ``"{tgt_name}:"``; the translation follows (as the assistant turn when the
model's chat template is used, see :func:`build_prompt`). PMP adds the sentence in
an auxiliary language before the target line; the loss stays on the target.

Templates (exactly as in LMT_FACTS.md):

``released``::

    Translate the following text from {src_name} into {tgt_name}:
    {src_name}: {src}
    {tgt_name}:

``released_v0``: the earlier release ending the first line with ``.``.

``stp`` / ``pmp`` (the paper's SFT prompts)::

    Translate this from English to Kirghiz:          Translate this from English to Russian and Kirghiz:
    English: {src}                                    English: {src}
    Kirghiz:                                          Russian: {aux}
                                                      Kirghiz:
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from lmt.errors import ConfigError
from lmt.languages import get_language, language_name


@dataclass(frozen=True)
class PromptTemplate:
    """A translation prompt with an optional PMP (auxiliary) variant.

    Attributes:
        name: registry name.
        header: first line for the plain prompt (``{src_name}``, ``{tgt_name}``).
        pmp_header: first line when an auxiliary sentence is given
            (``{aux_name}`` too), or ``None`` when the template has no PMP form.
    """

    name: str
    header: str
    pmp_header: Optional[str] = None

    def render(
        self,
        src_lang: str,
        tgt_lang: str,
        src: str,
        aux_lang: Optional[str] = None,
        aux: Optional[str] = None,
    ) -> str:
        """Render the user text; PMP when both ``aux_lang`` and ``aux`` are given."""
        src_name, tgt_name = language_name(src_lang), language_name(tgt_lang)
        if aux_lang and aux is not None:
            if self.pmp_header is None:
                raise ConfigError(f"prompt template {self.name!r} has no PMP form; use 'pmp'")
            aux_name = language_name(aux_lang)
            head = self.pmp_header.format(src_name=src_name, tgt_name=tgt_name, aux_name=aux_name)
            return f"{head}\n{src_name}: {src}\n{aux_name}: {aux}\n{tgt_name}:"
        head = self.header.format(src_name=src_name, tgt_name=tgt_name)
        return f"{head}\n{src_name}: {src}\n{tgt_name}:"


TEMPLATES: dict[str, PromptTemplate] = {}


def register_template(template: PromptTemplate) -> PromptTemplate:
    """Add a template under its name (replacing one of the same name)."""
    TEMPLATES[template.name] = template
    return template


register_template(PromptTemplate("released", "Translate the following text from {src_name} into {tgt_name}:"))
register_template(PromptTemplate("released_v0", "Translate the following text from {src_name} into {tgt_name}."))
register_template(
    PromptTemplate(
        "stp",
        "Translate this from {src_name} to {tgt_name}:",
        pmp_header="Translate this from {src_name} to {aux_name} and {tgt_name}:",
    )
)
# "pmp" is the same family; the name exists so configs can say what they mean.
register_template(
    PromptTemplate(
        "pmp",
        "Translate this from {src_name} to {tgt_name}:",
        pmp_header="Translate this from {src_name} to {aux_name} and {tgt_name}:",
    )
)


def get_template(name: str) -> PromptTemplate:
    """Look up a template by name; unknown names list the valid ones."""
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ConfigError(f"unknown prompt template {name!r}; valid: {', '.join(sorted(TEMPLATES))}") from None


def build_prompt(tokenizer: Any, user_text: str, use_chat_template: bool = True) -> str:
    """Wrap user text as the model expects: chat template + generation prompt.

    With ``use_chat_template=False`` (base models, CPT-only checkpoints) the user
    text is returned as is and the translation follows after a space.
    Qwen3's thinking block is switched off (``enable_thinking=False``).
    """
    if not use_chat_template:
        return user_text
    if getattr(tokenizer, "chat_template", None) is None:
        raise ConfigError(
            "the tokenizer has no chat template; set use_chat_template: false or give a tokenizer with one"
        )
    return tokenizer.apply_chat_template(
        [{"role": "user", "content": user_text}],
        tokenize=False,
        add_generation_prompt=True,
        enable_thinking=False,
    )


def build_training_text(tokenizer: Any, user_text: str, response: str, use_chat_template: bool = True) -> tuple[str, str]:
    """Return ``(prompt, full_text)`` so that ``full_text`` starts with ``prompt``.

    The response tokens are ``full_text[len(prompt):]``: the only ones with loss.
    """
    prompt = build_prompt(tokenizer, user_text, use_chat_template)
    if not use_chat_template:
        return prompt, f"{prompt} {response}{tokenizer.eos_token or ''}"
    full = tokenizer.apply_chat_template(
        [{"role": "user", "content": user_text}, {"role": "assistant", "content": response}],
        tokenize=False,
        enable_thinking=False,
    )
    if not full.startswith(prompt):
        # Templates that render history differently (e.g. Qwen3 strips think
        # blocks): fall back to prompt + response + end-of-turn.
        end = "<|im_end|>\n" if "<|im_start|>" in prompt else (tokenizer.eos_token or "")
        full = prompt + response + end
    return prompt, full


def cpt_tag(code: str) -> str:
    """Short tag of a language for CPT informative formatting (``ky``)."""
    lang = get_language(code)
    return lang.short or lang.iso639_1 or lang.code


def format_cpt_pair(src_lang: str, tgt_lang: str, src: str, tgt: str) -> str:
    """The paper's informative formatting for a bilingual CPT pair.

    ``<en2ky> Fellow wrestlers also paid tribute to Luna. <ky> Балбандар да ...``
    """
    s, t = cpt_tag(src_lang), cpt_tag(tgt_lang)
    return f"<{s}2{t}> {src} <{t}> {tgt}"
