"""Shared training pieces used by ``recipes/cpt.py`` and ``recipes/sft.py``.

* :mod:`lmt.training.pmp`: which prompt (STP or PMP) a record gets, and the
  SFT example text built with :mod:`lmt.prompts`.
* :mod:`lmt.training.tokens`: token ids and loss masks (labels) for SFT and CPT.
* :mod:`lmt.training.packing`: fixed-length packing with per-document positions.
* :mod:`lmt.training.mixing`: the CPT mixture (monolingual : Zh- : En-centric).
* :mod:`lmt.training.data`: prep output -> packed, cached ``datasets.Dataset``.
* :mod:`lmt.training.attention`: attention kernels for packed rows (per-document
  sdpa on CPU; varlen/FlexAttention on GPUs) and ``attn_implementation: auto``.
* :mod:`lmt.training.loss`: chunked cross-entropy at the loss positions.
* :mod:`lmt.training.distributed`: process group on GPUs and CPU.
* :mod:`lmt.training.ds_config`: DeepSpeed JSON loading and ``"auto"`` filling.
* :mod:`lmt.training.stage`: where a stage reads and writes, and the bad-input
  checks run before any GPU time.
* :mod:`lmt.training.loop`: the DeepSpeed training loop (checkpoints, resume,
  metrics, final Hugging Face save).
"""
