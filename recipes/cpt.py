"""Continued pre-training (CPT) recipe: monolingual + bilingual mixture, packed, under DeepSpeed.

Run (one node, 8 GPUs)::

    deepspeed --num_gpus 8 recipes/cpt.py --config recipes/configs/qwen3_0.6b.yaml [key=value ...]
    lmt train cpt recipes/configs/qwen3_0.6b.yaml [key=value ...]     # the same, via the launcher wrapper

Multi-node: ``train.launcher.hostfile`` (or ``deepspeed --hostfile H``). On CPU
the same command runs ``--num_gpus`` CPU ranks over gloo.

Steps (paper defaults in the YAML: lr 2e-5, cosine, warmup 0.05, global batch
1536, max length 2048):

1. setup: config, checks (data, model, DeepSpeed JSON, sequence length), process group;
2. data: mixture monolingual : Zh-centric : En-centric (1:1:1), per-language
   sampling, pairs both ways 50/50 with informative formatting
   (``<en2ky> src <ky> tgt``), tokenised in worker processes, packed into
   fixed-length rows whose documents never see each other; cached by content;
3. train: :func:`lmt.training.loop.run_training`, our own loop on
   ``deepspeed.initialize``; checkpoints, resume, TensorBoard/W&B;
4. save: ``<run_dir>/checkpoints/cpt/final`` in Hugging Face format.

Why our own loop on ``deepspeed.initialize`` and not the Hugging Face Trainer:
packed rows need ``position_ids`` and *no* attention mask (so documents stay
apart), the loss must be the mean over the loss tokens of the whole global
batch (packed rows carry very different numbers of them), and a resumed run
must replay exactly the rows the killed one would have seen. Each is a few
lines in a loop we own and an override of Trainer internals otherwise.
DeepSpeed still does ZeRO 1/2/3 and offload, precision, accumulation,
clipping, checkpoints and the metric monitors.
"""

from __future__ import annotations

import sys
from typing import Optional

STAGE = "cpt"


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CPT stage of an experiment config (see module docs)."""
    from lmt.config import load_experiment
    from lmt.languages import normalize_code
    from lmt.log import print0
    from lmt.modeling import load_model, load_tokenizer
    from lmt.training.data import build_cpt_data
    from lmt.training.ds_config import training_dtype
    from lmt.training.distributed import init_distributed, is_local_main
    from lmt.training.loop import run_training, zero3_load_context
    from lmt.training.stage import preflight, recipe_args, stage_fingerprint

    # 1. setup
    args = recipe_args(argv, "recipes/cpt.py", "LMT continued pre-training")
    cfg = load_experiment(args.config, args.overrides)
    stage = cfg.require("train").cpt
    paths = preflight(cfg, "cpt")
    rank, world, _ = init_distributed()
    print0(f"[lmt cpt] {world} rank(s); data {paths.data_dir}; model {paths.init_from}; output {paths.out_dir}")
    model_cfg = cfg.train.model
    tokenizer = load_tokenizer(paths.init_from, trust_remote_code=model_cfg.trust_remote_code)

    # 2. data: one process per node builds (or finds) the cache; the others wait for it.
    def data(build_here: bool):
        return build_cpt_data(
            paths.data_dir, tokenizer, cache_dir=paths.cache_dir, seed=cfg.seed, max_length=stage.max_length,
            mix=stage.mix.model_dump(), language_alpha=stage.language_alpha,
            language_weights={normalize_code(k): v for k, v in stage.language_weights.items()},
            reverse_share=stage.reverse_share, total_documents=stage.total_documents, num_proc=stage.num_proc, build_here=build_here,
            corpus_weights=stage.corpus_weights,
        )

    packed = data(build_here=is_local_main())
    print0(f"[lmt cpt] {packed.stats['documents']} documents -> {packed.stats['rows']} rows; mixture {packed.stats['mixture']}")

    # 3. train
    # Under ZeRO-3, weights load straight into partitions while `zero3` is alive.
    zero3 = zero3_load_context(stage, paths.ds_config, paths.init_from, world, model_cfg.dtype, model_cfg.trust_remote_code)
    model = load_model(paths.init_from, trust_remote_code=model_cfg.trust_remote_code, dtype=training_dtype(model_cfg.dtype))
    summary = run_training(
        model=model, tokenizer=tokenizer, data=packed, stage=stage, ds_config_path=paths.ds_config,
        out_dir=paths.out_dir, seed=cfg.seed, run_name=f"{cfg.name}-cpt", report_to=cfg.train.report_to,
        wandb_project=cfg.train.wandb_project, dtype=model_cfg.dtype, config_key=stage_fingerprint(cfg, STAGE, paths),
        attn_implementation=model_cfg.attn_implementation,
    )

    del zero3
    # 4. save happened in run_training (HF directory, atomically)
    print0(f"[lmt cpt] done: {summary['step']} steps; final model {summary['final_model']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
