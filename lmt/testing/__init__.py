"""Tiny, offline test assets shared by the stages' tests (no downloads).

* :func:`lmt.testing.comet.build_tiny_comet`: a tiny COMET checkpoint (regression
  or unified/CometKiwi-style) that ``lmt.comet.load_comet`` reads offline.
"""
