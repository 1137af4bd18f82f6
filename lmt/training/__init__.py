"""Shared training pieces used by ``recipes/cpt.py`` and ``recipes/sft.py`` (the recipes write the loop).

* :mod:`lmt.training.pmp`: which prompt (STP or PMP) a record gets, and the
  SFT example text built with :mod:`lmt.prompts`.
* :mod:`lmt.training.tokens`: token ids and loss masks (labels) for SFT and CPT.
* :mod:`lmt.training.packing`: fixed-length packing with per-document positions.
* :mod:`lmt.training.mixing`: the CPT mixture (monolingual : Zh- : En-centric, in tokens).
* :mod:`lmt.training.data`: prep output -> tokenised, cached ``datasets.Dataset``.
* :mod:`lmt.training.order`: what each rank trains on at each step (SFT: examples
  per step, packed per step; CPT: rows per step), a pure function of (seed, step).
* :mod:`lmt.training.schedule`: steps from epochs / max_steps, warm-up, learning rate.
* :mod:`lmt.training.plan`: the training plan printed at start (and by ``--dry-run``,
  estimated by :mod:`lmt.training.estimate`).
* :mod:`lmt.training.loop`: the pieces of a step on ``deepspeed.initialize``
  (engine, summed loss, logging, fault injection).
* :mod:`lmt.training.checkpoint`: checkpoints, resume rules, ``--overwrite``, the final model.
* :mod:`lmt.training.attention`: attention kernels for packed rows (per-document
  sdpa on CPU; varlen/FlexAttention on GPUs) and ``attn_implementation: auto``.
* :mod:`lmt.training.loss`: chunked cross-entropy at the loss positions.
* :mod:`lmt.training.distributed`: process group on GPUs and CPU.
* :mod:`lmt.training.ds_config`: DeepSpeed JSON loading and ``"auto"`` filling.
* :mod:`lmt.training.stage`: where a stage reads and writes, and the bad-input
  checks run before any GPU time.
"""
