"""Named prompt templates and the one function that renders them.

Training (SFT), data selection (MIWV) and evaluation all go through
:func:`render_prompt`, so a model is evaluated on byte-for-byte the prompt it was
trained on. A :class:`PromptTemplate` defines everything that shapes the text the
model sees: the user text, whether the tokenizer's chat template wraps it, and the
arguments given to ``apply_chat_template`` (Qwen3's ``enable_thinking``). The
user text always ends with ``"{tgt_name}:"``; the response follows (as the
assistant turn when the chat template is used). PMP adds the sentence in an
auxiliary language before the target line; the loss stays on the target.

Templates:

``released`` (the public LMT-60 inference code: chat template called with no
extra argument, outputs kept as decoded)::

    Translate the following text from {src_name} into {tgt_name}:
    {src_name}: {src}
    {tgt_name}:

``released_v0``: the earlier release ending the first line with ``.``.

``stp`` / ``pmp`` (the paper's SFT prompts; chat template with
``enable_thinking=False``)::

    Translate this from English to Kirghiz:          Translate this from English to Russian and Kirghiz:
    English: {src}                                    English: {src}
    Kirghiz:                                          Russian: {aux}
                                                      Kirghiz:

Language names are the released inference code's (``utils.en_lan_dict``):
"Modern Hebrew", "Modern Greek", "Norwegian Bokmål", "Kirghiz", ... (see
:mod:`lmt.languages`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, Union

from lmt.errors import ConfigError
from lmt.languages import get_language, language_name

#: Qwen3 chat templates open a thinking block unless told not to; a translation
#: model trained without one must not get it at inference.
NO_THINKING = (("enable_thinking", False),)


@dataclass(frozen=True)
class PromptTemplate:
    """A translation prompt: user text, PMP variant and chat-template use.

    Attributes:
        name: registry name.
        header: first line for the plain prompt (``{src_name}``, ``{tgt_name}``).
        pmp_header: first line when an auxiliary sentence is given
            (``{aux_name}`` too), or ``None`` when the template has no PMP form.
        chat: wrap the user text in the tokenizer's chat template (``False``:
            base or CPT-only models read the raw text, the response follows a space).
        chat_kwargs: extra ``apply_chat_template`` arguments, as ``(key, value)``
            pairs (``enable_thinking=False``).
        strip_output: strip whitespace around generated outputs (the released
            code keeps them as decoded).
    """

    name: str
    header: str
    pmp_header: Optional[str] = None
    chat: bool = True
    chat_kwargs: tuple[tuple[str, Any], ...] = ()
    strip_output: bool = True

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

    def with_chat(self, use_chat_template: Optional[bool]) -> "PromptTemplate":
        """This template with the chat template switched on/off (``None``: as defined)."""
        if use_chat_template is None or use_chat_template == self.chat:
            return self
        return dataclasses.replace(self, chat=bool(use_chat_template))


TEMPLATES: dict[str, PromptTemplate] = {}


def register_template(template: PromptTemplate) -> PromptTemplate:
    """Add a template under its name (replacing one of the same name)."""
    TEMPLATES[template.name] = template
    return template


register_template(
    PromptTemplate("released", "Translate the following text from {src_name} into {tgt_name}:", strip_output=False)
)
register_template(
    PromptTemplate("released_v0", "Translate the following text from {src_name} into {tgt_name}.", strip_output=False)
)
_PAPER = dict(
    header="Translate this from {src_name} to {tgt_name}:",
    pmp_header="Translate this from {src_name} to {aux_name} and {tgt_name}:",
    chat_kwargs=NO_THINKING,
)
register_template(PromptTemplate("stp", **_PAPER))
# "pmp" is the same family; the name exists so configs can say what they mean.
register_template(PromptTemplate("pmp", **_PAPER))


def get_template(name: "str | PromptTemplate", use_chat_template: Optional[bool] = None) -> PromptTemplate:
    """Look up a template by name; unknown names list the valid ones.

    Args:
        name: registered name (or a template, returned as is).
        use_chat_template: a config's explicit choice (``False`` for base
            models); ``None`` keeps the template's own definition.
    """
    if isinstance(name, PromptTemplate):
        return name.with_chat(use_chat_template)
    try:
        return TEMPLATES[name].with_chat(use_chat_template)
    except KeyError:
        raise ConfigError(f"unknown prompt template {name!r}; valid: {', '.join(sorted(TEMPLATES))}") from None


class RenderedPrompt(NamedTuple):
    """One rendered example.

    Attributes:
        prompt: everything the model reads before the response (what generation
            starts from).
        text: ``prompt`` + response + end of turn (``None`` without a response);
            the loss tokens are ``text[len(prompt):]``.
    """

    prompt: str
    text: Optional[str]


def wrap_user_text(tokenizer: Any, template: PromptTemplate, user: str, response: Optional[str] = None) -> RenderedPrompt:
    """Wrap finished user text as ``template`` defines (chat template or raw text).

    :func:`render_prompt` is this plus the user text; callers that compose the
    user text themselves (MIWV's one-shot context) call it directly.
    """
    if not template.chat:
        full = None if response is None else f"{user} {response}{tokenizer.eos_token or ''}"
        return RenderedPrompt(user, full)
    if getattr(tokenizer, "chat_template", None) is None:
        raise ConfigError(
            f"prompt template {template.name!r} uses the chat template but the tokenizer has none; "
            "set use_chat_template: false or give a tokenizer with one"
        )
    kwargs = dict(template.chat_kwargs)
    user_turn = [{"role": "user", "content": user}]
    prompt = tokenizer.apply_chat_template(user_turn, tokenize=False, add_generation_prompt=True, **kwargs)
    if response is None:
        return RenderedPrompt(prompt, None)
    full = tokenizer.apply_chat_template(
        user_turn + [{"role": "assistant", "content": response}], tokenize=False, **kwargs
    )
    if not full.startswith(prompt):
        # Templates that render history differently (e.g. Qwen3 strips think
        # blocks): the prompt as generation sees it, then response + end of turn.
        end = "<|im_end|>\n" if "<|im_start|>" in prompt else (tokenizer.eos_token or "")
        full = prompt + response + end
    return RenderedPrompt(prompt, full)


def render_prompt(
    tokenizer: Any,
    template: "str | PromptTemplate",
    src_lang: str,
    tgt_lang: str,
    src: str,
    *,
    aux_lang: Optional[str] = None,
    aux: Optional[str] = None,
    response: Optional[str] = None,
) -> RenderedPrompt:
    """Render one translation example: the only prompt renderer of the project.

    Args:
        tokenizer: the model's tokenizer (its chat template, when the template uses it).
        template: a template or its registered name.
        src_lang: source language code (any alias).
        tgt_lang: target language code.
        src: source sentence.
        aux_lang: PMP auxiliary language (with ``aux``).
        aux: PMP auxiliary sentence, placed before the target line.
        response: the target (training, scoring); ``None`` for generation.

    Returns:
        :class:`RenderedPrompt`; ``prompt`` is identical whether or not a
        response is given.
    """
    template = get_template(template)
    user = template.render(src_lang, tgt_lang, src, aux_lang=aux_lang, aux=aux)
    return wrap_user_text(tokenizer, template, user, response)


def build_training_text(
    tokenizer: Any, user_text: str, response: str, use_chat_template: bool = True, template: Union[str, PromptTemplate] = "stp"
) -> tuple[str, str]:
    """``(prompt, full_text)`` for finished user text, wrapped as ``template`` defines.

    Kept for callers that compose user text themselves; prefer :func:`render_prompt`.
    """
    prompt, full = wrap_user_text(tokenizer, get_template(template, use_chat_template), user_text, response)
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
