"""Data selection for SFT: MIWV and M-DaQ (``lmt select``).

* **MIWV** (arXiv 2511.07074, :mod:`.miwv`): for each sample, retrieve the most
  similar *other* sample (:mod:`.retrieval`), use it as a one-shot example, and
  score ``L(y | C, x) - L(y | x)`` with the model being tuned; keep the top share.
* **M-DaQ** (arXiv 2509.15549, :mod:`.qsm`, :mod:`.ranking`): a quality scoring
  model (encoder + regression head, trained with ``lmt select qsm-train``) and a
  diversity selection over k-means clusters of the samples' embeddings (the
  paper's v1 clustering form, after CaR; its v2 MMR-style variant is not built).

Both read a data directory in the :mod:`lmt.datafiles` layout (the prep output
by default) and write the same layout with score columns (``miwv``,
``miwv_neighbor``; ``qsm_score``, ``cluster``) and a manifest holding counts per
direction before/after, the method and its parameters. Every phase
(embeddings, neighbour search, losses/scores) runs in chunks cached under
``<output_dir>/cache/``, so an interrupted run resumes, and ``--shard I/N``
splits the chunks over N workers sharing that directory.

Entry points: :func:`run_selection` (used by ``lmt prep`` when ``select:`` is
enabled) and ``lmt select miwv|mdaq|qsm-train|qsm-score CONFIG [key=value ...]``.
"""

from data_prep.selection.runner import ShardPending, run_selection

__all__ = ["run_selection", "ShardPending"]
