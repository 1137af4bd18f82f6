"""Pseudo-parallel synthesis: translate monolingual text into training pairs (``lmt synth``).

The paper's bilingual data is OPUS plus synthetic pairs: English and Chinese
monolingual text translated into X by a model (Zh-X then also comes from
English pivots in prep). Output layout of ``synth.output_dir``::

    manifest.json                                  model, prompt, settings, counts per direction and drop reason
    {corpus}.{src}-{tgt}.{src} / .{tgt}            Moses corpus read by `lmt prep` (format moses)
    parallel/{src}-{tgt}/part-00000.parquet        prep-output layout (format parquet)
    _work/{src}-{tgt}/i000-c00000.parquet          one shard: every sentence, output, drop reason
    _work/{src}-{tgt}/i000-c00000.done.json        its done marker (settings, counts, speed)

Modules: :mod:`~data_prep.synth.inputs` (reading), :mod:`~data_prep.synth.shards`
(plan, markers), :mod:`~data_prep.synth.degenerate` (output checks),
:mod:`~data_prep.synth.outputs` (corpus files), :mod:`~data_prep.synth.runner`.
"""

from data_prep.synth.runner import output_dir, run_synth

__all__ = ["output_dir", "run_synth"]
