"""FLORES-200 evaluation: loading, batched translation (plain, PMP-O, PMP-S),
metrics (chrF/chrF++/BLEU via sacrebleu, COMET via unbabel-comet, the off-target
rate via data prep's language ID), reports.

Entry points: ``lmt eval CONFIG`` (:func:`eval.runner.run_eval`), ``lmt score``
and ``lmt compare`` (:mod:`eval.cli`).
"""
