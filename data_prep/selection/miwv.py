"""MIWV: how much a retrieved one-shot example helps the tuned model on a sample.

For SFT sample ``i`` (source ``x_i``, target ``y_i``)::

    k      = argmax_{j != i} cos(h_i, h_j)                 (retrieval.nearest_neighbors)
    MIWV_i = L(y_i | C_k, x_i) - L(y_i | x_i)

where ``L`` is the mean token negative log-likelihood of the response tokens
under the model being tuned, and ``C_k`` is sample ``k`` formatted with the same
prompt template and followed by its target. The MIWV paper (arXiv 2511.07074)
ranks samples by this value in descending order and keeps the top share (1%
beat the full data there, 5% was also strong; low-MIWV selections were worst).

Formatting decisions (ours):

* Prompt: the STP template of :mod:`lmt.prompts` (``select.miwv.template``) as the
  user turn of the chat template (with the template's own chat arguments),
  response = the target, wrapped by :func:`lmt.prompts.wrap_user_text` exactly
  as SFT's :func:`lmt.prompts.render_prompt` wraps it. The response
  tokens are everything after the prompt (the target and the end-of-turn
  marker): the tokens SFT puts loss on.
* One-shot context: the example goes **in the same user turn**, before the
  sample's prompt, separated by a blank line::

      Translate this from English to Kirghiz:
      English: {x_k}
      Kirghiz: {y_k}

      Translate this from English to Kirghiz:
      English: {x_i}
      Kirghiz:

  This keeps one code path for chat and non-chat (base/CPT) models and matches
  how in-context examples are usually given to translation LLMs.
* Embedding ``h_i``: masked mean of the last hidden states over the sample's
  plain text (the rendered prompt followed by the target, no chat markup), from
  the tuned model itself by default, or from any HF encoder.
* Retrieval: among all samples, as in the paper (``select.miwv.neighbors:
  all``), or within the sample's direction (``direction``: the example then
  always shows the same language pair, and the search costs the sum of the
  directions' squares instead of N^2).
* Sequences longer than ``max_length`` lose their oldest tokens (the start of the
  context); the response is kept.

Prompt and response are tokenized separately and concatenated, so the
response-token boundary is exact whatever the tokenizer does at the seam.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from lmt.log import progress
from lmt.prompts import PromptTemplate, build_training_text


@dataclass(frozen=True)
class Sample:
    """One SFT sample (a parallel pair)."""

    src_lang: str
    tgt_lang: str
    src: str
    tgt: str


def user_text(template: PromptTemplate, s: Sample) -> str:
    """The sample's instruction ``x`` (rendered prompt ending with ``{tgt_name}:``)."""
    return template.render(s.src_lang, s.tgt_lang, s.src)


def example_text(template: PromptTemplate, s: Sample) -> str:
    """The sample as a one-shot example: prompt followed by its target."""
    return f"{user_text(template, s)} {s.tgt}"


def one_shot_user_text(template: PromptTemplate, example: Sample, s: Sample) -> str:
    """``C_k`` then ``x_i`` in one user turn (see the module docs)."""
    return f"{example_text(template, example)}\n\n{user_text(template, s)}"


def encode(
    tokenizer: Any,
    user: str,
    response: str,
    use_chat_template: bool,
    max_length: int,
    template: "str | PromptTemplate" = "stp",
) -> tuple[list[int], int]:
    """Token ids of prompt+response and the number of response tokens at the end.

    Sequences over ``max_length`` keep their last ``max_length`` tokens (at least
    one prompt token stays, so every response token has a predecessor).
    """
    prompt, full = build_training_text(tokenizer, user, response, use_chat_template, template)
    p_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    r_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
    return _truncate(list(p_ids) + list(r_ids), len(r_ids), max_length)


def _truncate(ids: list[int], n_resp: int, max_length: int) -> tuple[list[int], int]:
    if len(ids) > max_length:
        return ids[-max_length:], min(n_resp, max_length - 1)
    return ids, n_resp


class PairEncoder:
    """Fast, batched :func:`encode` for many (user text, response) pairs.

    Rendering the chat template (Jinja) four times per sample costs more than
    the forward pass of a small model on a GPU, so the template is rendered
    once around two sentinels and reused by string concatenation; texts are
    then tokenized in batches (the fast tokenizer's parallel path). At
    construction the shortcut is checked against :func:`encode` on a real
    pair; templates that transform message content fall back to it.
    """

    _USER, _RESP = "\x00LMTUSER\x00", "\x00LMTRESP\x00"

    def __init__(
        self,
        tokenizer: Any,
        use_chat_template: bool,
        max_length: int,
        probe: tuple[str, str],
        template: "str | PromptTemplate" = "stp",
    ) -> None:
        self.tokenizer = tokenizer
        self.template = template
        self.use_chat_template = use_chat_template
        self.max_length = max_length
        self.parts: Optional[tuple[str, str, str, str]] = None
        prompt, full = build_training_text(tokenizer, self._USER, self._RESP, use_chat_template, template)
        tail = full[len(prompt) :] if full.startswith(prompt) else ""
        if prompt.count(self._USER) == 1 and tail.count(self._RESP) == 1 and self._USER not in tail:
            p_pre, p_post = prompt.split(self._USER)
            r_pre, r_post = tail.split(self._RESP)
            self.parts = (p_pre, p_post, r_pre, r_post)
            if self.encode_many([probe]) != [encode(tokenizer, *probe, use_chat_template, max_length, template)]:
                self.parts = None

    @property
    def fast(self) -> bool:
        """Whether the template shortcut is in use."""
        return self.parts is not None

    def encode_many(self, pairs: Sequence[tuple[str, str]]) -> list[tuple[list[int], int]]:
        """:func:`encode` for every ``(user, response)`` pair."""
        if self.parts is None:
            args = (self.use_chat_template, self.max_length, self.template)
            return [encode(self.tokenizer, u, r, *args) for u, r in pairs]
        p_pre, p_post, r_pre, r_post = self.parts
        prompts = [p_pre + u + p_post for u, _ in pairs]
        responses = [r_pre + r + r_post for _, r in pairs]
        p_ids = self.tokenizer(prompts, add_special_tokens=False)["input_ids"]
        r_ids = self.tokenizer(responses, add_special_tokens=False)["input_ids"]
        return [_truncate(list(p) + list(r), len(r), self.max_length) for p, r in zip(p_ids, r_ids)]


def response_losses(
    model: Any,
    seqs: Sequence[tuple[list[int], int]],
    pad_id: int,
    batch_size: int = 8,
    desc: Optional[str] = None,
) -> np.ndarray:
    """Mean NLL of the last ``n_resp`` tokens of each sequence (float64 array).

    Sequences are sorted by length and right-padded per batch. Only the hidden
    states that predict response tokens go through the output projection, which
    keeps memory at ``response tokens x vocab`` instead of ``all tokens x vocab``
    (this assumes logits = ``lm_head(last hidden state)``, as in Qwen/Llama).
    A sequence with no response token gets NaN.
    """
    import torch
    import torch.nn.functional as F

    from data_prep.selection.embed import pad_batch

    device = next(model.parameters()).device
    base = model.base_model
    head = model.get_output_embeddings()
    out = np.full(len(seqs), np.nan, dtype=np.float64)
    order = np.argsort([len(s[0]) for s in seqs], kind="stable")
    starts = range(0, len(order), batch_size)
    bar = progress(starts, desc=desc or "losses", total=len(starts), unit="batch", leave=False) if desc else starts
    with torch.inference_mode():
        for b in bar:
            idx = [i for i in order[b : b + batch_size] if seqs[i][1] > 0]
            if not idx:
                continue
            ids, mask = pad_batch([seqs[i][0] for i in idx], pad_id, str(device))
            hidden = base(input_ids=ids, attention_mask=mask).last_hidden_state
            owner, pred_pos, targets = [], [], []
            for r, i in enumerate(idx):
                length, n_resp = len(seqs[i][0]), seqs[i][1]
                pos = torch.arange(length - n_resp, length, device=device)
                owner.append(torch.full_like(pos, r))
                pred_pos.append(pos - 1)  # token t is predicted by the state at t-1
                targets.append(ids[r, pos])
            own = torch.cat(owner)
            logits = head(hidden[own, torch.cat(pred_pos)]).float()
            nll = F.cross_entropy(logits, torch.cat(targets), reduction="none")
            sums = torch.zeros(len(idx), dtype=torch.float64, device=device).index_add_(0, own, nll.double())
            counts = torch.bincount(own, minlength=len(idx)).double()
            out[idx] = (sums / counts).cpu().numpy()
    return out


def miwv_scores(
    model: Any,
    tokenizer: Any,
    template: PromptTemplate,
    samples: Sequence[Sample],
    neighbors: Sequence[int],
    rows: Sequence[int],
    use_chat_template: bool = True,
    batch_size: int = 8,
    max_length: int = 1024,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MIWV of ``samples[i]`` for ``i`` in ``rows``, using ``samples[neighbors[i]]`` as context.

    Returns:
        ``(miwv, loss_with_example, loss_without)`` for ``rows``, in order.
    """
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    rows = list(rows)
    if not rows:
        empty = np.zeros(0, dtype=np.float64)
        return empty, empty, empty
    plain_pairs = [(user_text(template, samples[i]), samples[i].tgt) for i in rows]
    shot_pairs = [(one_shot_user_text(template, samples[int(neighbors[i])], samples[i]), samples[i].tgt) for i in rows]
    encoder = PairEncoder(tokenizer, use_chat_template, max_length, probe=shot_pairs[0], template=template)
    plain = encoder.encode_many(plain_pairs)
    shot = encoder.encode_many(shot_pairs)
    without = response_losses(model, plain, pad_id, batch_size)
    with_ex = response_losses(model, shot, pad_id, batch_size)
    return with_ex - without, with_ex, without
