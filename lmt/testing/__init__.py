"""Tiny, offline test assets shared by the stages' tests (no downloads).

* :func:`lmt.testing.comet.build_tiny_comet`: a tiny COMET checkpoint (regression
  or unified/CometKiwi-style) that ``lmt.comet.load_comet`` reads offline.
* :func:`lmt.testing.translator.build_tiny_translator`: a tiny Qwen3 model that has
  learnt a few translations by heart (real outputs for synthesis tests and benchmarks).
"""
