"""eval/configs/lmt60_released.yaml decodes as the released LMT inference code does.

The reference list below is read off NiuTrans/LMT ``src/inference.py``: the model
is loaded with ``AutoModelForCausalLM.from_pretrained(path)`` (no dtype: float32
under the transformers of the release) and driven by ``model.generate`` over
batches of 4 prompts in file order, tokenised with ``padding='longest',
truncation=False`` and ``padding_side='left'``, with ``max_new_tokens=512,
num_beams=5`` and nothing else; outputs are decoded with
``skip_special_tokens=True``, ``<unk> </s> <pad> \\n`` and the tokenizer's
pad/eos/bos/unk strings are deleted, and a blank output becomes ``#``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from lmt.generation import HFEngine, make_engine
from eval.prompting import render_many
from lmt.config import load_experiment

CONFIG = Path(__file__).resolve().parents[2] / "eval" / "configs" / "lmt60_released.yaml"

RELEASED = {
    "engine": "hf",
    "batch_size": 4,
    "order": "input",
    "dtype": torch.float32,
    "padding_side": "left",
    "tokenize": {"return_tensors": "pt", "padding": "longest", "truncation": False},
    "generate": {"max_new_tokens": 512, "num_beams": 5},
    "prompt": "released",
    "chat_kwargs": {},
    "removed": ["<unk>", "</s>", "<pad>", "\n"],
    "strip": False,
}


class _RecordingTokenizer:
    """Delegates to a tokenizer and records every ``__call__``."""

    def __init__(self, tok):
        self._tok, self.calls = tok, []

    def __call__(self, texts, **kwargs):
        self.calls.append((list(texts) if isinstance(texts, list) else texts, kwargs))
        return self._tok(texts, **kwargs)

    def __getattr__(self, name):
        return getattr(self._tok, name)


def test_released_config_generation_arguments(varied_model_dir, parallel_text):
    cfg = load_experiment(str(CONFIG), [f"eval.model={varied_model_dir}", "eval.comet_model=null"])
    ec = cfg.eval
    assert ec.engine == RELEASED["engine"] and ec.prompt == RELEASED["prompt"]
    eng = make_engine(ec, varied_model_dir)
    assert isinstance(eng, HFEngine)
    assert eng.model.dtype == RELEASED["dtype"]
    assert eng.tokenizer.padding_side == RELEASED["padding_side"]
    assert eng.remove[:4] == RELEASED["removed"] and {eng.tokenizer.eos_token, eng.tokenizer.pad_token} <= set(eng.remove)
    assert eng.strip is RELEASED["strip"]

    generate_calls = []
    real_generate = eng.model.generate

    def spy(**kwargs):
        generate_calls.append({k: v for k, v in kwargs.items() if k not in ("input_ids", "attention_mask")})
        return real_generate(**{**kwargs, "max_new_tokens": 3})  # a short run; the recorded value is what counts

    eng.model.generate = spy
    eng.tokenizer = rec = _RecordingTokenizer(eng.tokenizer)
    # Lengths out of order, so a length sort would change the batches.
    srcs = [parallel_text["eng_Latn"][i] for i in (0, 2, 3, 1, 6, 5)]
    prompts = render_many(rec._tok, ec.prompt, "en", "de", srcs, use_chat_template=ec.use_chat_template)
    outs = eng.generate(prompts)
    assert len(outs) == 6 and all(o and "\n" not in o for o in outs)

    batches = [texts for texts, kw in rec.calls if kw.get("return_tensors") == "pt"]
    assert batches == [prompts[:4], prompts[4:]]  # input order, batch size 4
    for texts, kw in rec.calls:
        if kw.get("return_tensors") == "pt":
            assert kw == RELEASED["tokenize"]
    pad_id = rec._tok.pad_token_id
    assert generate_calls == [{**RELEASED["generate"], "pad_token_id": pad_id}] * 2
    assert ec.do_sample is None  # no sampling argument: the model's generation_config, as released
    # The prompt is the released chat call: apply_chat_template(messages, tokenize=False, add_generation_prompt=True).
    user = "Translate the following text from English into German:\nEnglish: " + srcs[0] + "\nGerman:"
    assert prompts[0] == rec._tok.apply_chat_template(
        [{"role": "user", "content": user}], tokenize=False, add_generation_prompt=True, **RELEASED["chat_kwargs"]
    )
