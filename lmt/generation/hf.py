"""Hugging Face ``generate()`` engine: batched, length-sorted, left-padded."""

from __future__ import annotations

from typing import Optional

from lmt.generation.base import batch_order, clean_output, special_tokens_to_remove
from lmt.log import progress
from lmt.modeling import load_model, load_tokenizer


class HFEngine:
    """Translate with ``model.generate`` (beam search by default, as the released code).

    Args:
        model_path: local model directory or hub id.
        tokenizer_path: tokenizer directory (default: the model's).
        num_beams: beam size (1 = greedy).
        max_new_tokens: generation limit.
        batch_size: prompts per ``generate`` call.
        sort_by_length: batch similar prompt lengths together.
        do_sample: ``None`` keeps the model's generation_config.
        dtype: weights dtype (``auto``, ``float32``, ``bfloat16``, ``float16``).
        device: torch device (default: ``cuda`` when available, else ``cpu``).
        trust_remote_code: allow the model repo's own code.
        strip: strip whitespace around outputs (not done by the released code).
    """

    def __init__(
        self,
        model_path: str,
        tokenizer_path: Optional[str] = None,
        *,
        num_beams: int = 5,
        max_new_tokens: int = 512,
        batch_size: int = 4,
        sort_by_length: bool = True,
        do_sample: Optional[bool] = None,
        dtype: str = "auto",
        device: Optional[str] = None,
        trust_remote_code: bool = False,
        strip: bool = False,
    ) -> None:
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        # Left padding: every prompt ends where generation starts.
        self.tokenizer = load_tokenizer(tokenizer_path or model_path, trust_remote_code, padding_side="left")
        self.model = load_model(model_path, trust_remote_code, dtype=dtype, device=self.device)
        self.model.eval()
        self.num_beams = num_beams
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.sort_by_length = sort_by_length
        self.do_sample = do_sample
        self.strip = strip
        self.remove = special_tokens_to_remove(self.tokenizer)
        self.calls = 0

    def generate(self, prompts: list[str], desc: str = "") -> list[str]:
        """Translate rendered prompts; outputs come back in input order."""
        import torch

        self.calls += 1
        if not prompts:
            return []
        lengths = [len(ids) for ids in self.tokenizer(prompts, add_special_tokens=True)["input_ids"]]
        batches = batch_order(lengths, self.batch_size, self.sort_by_length)
        out: list[Optional[str]] = [None] * len(prompts)
        kwargs = dict(max_new_tokens=self.max_new_tokens, num_beams=self.num_beams, pad_token_id=self.tokenizer.pad_token_id)
        if self.do_sample is not None:
            kwargs["do_sample"] = self.do_sample
        with progress(total=len(prompts), desc=desc or "translate", unit="sent") as bar, torch.inference_mode():
            for batch in batches:
                # Same call as the released inference code: longest padding, no truncation.
                enc = self.tokenizer(
                    [prompts[i] for i in batch], return_tensors="pt", padding="longest", truncation=False
                ).to(self.model.device)
                enc.pop("token_type_ids", None)  # some fast tokenizers add them; causal LMs reject them
                gen = self.model.generate(**enc, **kwargs)
                new_tokens = gen[:, enc["input_ids"].shape[1] :]
                texts = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
                for i, text in zip(batch, texts):
                    out[i] = clean_output(text, self.remove, strip=self.strip)
                bar.update(len(batch))
        return [o if o is not None else "" for o in out]
