"""Continued pre-training (CPT) on a monolingual + bilingual mixture, packed, under DeepSpeed.

Run (one node, 8 GPUs)::

    lmt train cpt recipes/configs/qwen3_0.6b.yaml [key=value ...] [--dry-run] [--overwrite]
    deepspeed --num_gpus 8 recipes/cpt.py --config recipes/configs/qwen3_0.6b.yaml [key=value ...]   # the same, by hand

Multi-node: ``train.launcher.hostfile`` (or ``deepspeed --hostfile H``). On CPU
the same command runs ``--num_gpus`` CPU ranks over gloo.

The paper's CPT, in the YAML's terms: a mixture of monolingual text, Zh<->X and
En<->X pairs at 1:1:1 in *tokens*, pairs in both directions 50/50 with
informative formatting (``<en2ky> src <ky> tgt``); a global batch of 1536
sequences of 2048 tokens per optimizer step (a token budget: documents are
packed back to back, so only the last row has padding); lr 2e-5, cosine,
warm-up 5%; 1 epoch.

1. setup: config, checks, process group, tokenizer;
2. data: the mixture planned in tokens per part and language, rendered,
   tokenised and packed into rows, cached; the step order and the plan;
3. model: loaded (into ZeRO-3 partitions when configured), DeepSpeed engine,
   resume from the newest checkpoint;
4. the loop: per step, ``global_batch_size`` rows dealt to ranks and
   micro-batches, forward and backward, one optimizer step, logging, checkpoints;
5. save: ``<run_dir>/checkpoints/cpt/final`` in Hugging Face format.
"""

from __future__ import annotations

import sys
from typing import Optional

STAGE = "cpt"


def main(argv: Optional[list[str]] = None) -> int:
    """Run the CPT stage of an experiment config (see module docs)."""
    from lmt.config import load_experiment
    from lmt.log import print0
    from lmt.modeling import load_tokenizer
    from lmt.training.checkpoint import Checkpoints, check_resumable
    from lmt.training.data import build_cpt_data, pad_id
    from lmt.training.distributed import init_distributed, is_local_main
    from lmt.training.loop import StepLog, deepspeed_engine, kill_if_asked, load_training_model, metric_monitors, summed_loss
    from lmt.training.order import RowBatches
    from lmt.training.plan import measured_plan, stage_steps
    from lmt.training.stage import cpt_reads_pairs_once, language_weights, preflight, recipe_args, stage_fingerprint

    # 1. setup
    args = recipe_args(argv, "recipes/cpt.py", "LMT continued pre-training")
    cfg = load_experiment(args.config, args.overrides)
    cpt, model_cfg = cfg.require("train").cpt, cfg.train.model
    paths = preflight(cfg, STAGE)
    rank, world, _ = init_distributed()
    print0(f"[lmt cpt] {world} rank(s); data {paths.data_dir}; model {paths.init_from}; output {paths.out_dir}")
    tokenizer = load_tokenizer(model_cfg.tokenizer or paths.init_from, trust_remote_code=model_cfg.trust_remote_code)

    # 2. data: the 1:1:1 token mixture, packed into rows of max_length; one process per node builds the cache.
    data = build_cpt_data(
        paths.data_dir, tokenizer, cache_dir=paths.cache_dir, seed=cfg.seed, max_length=cpt.max_length,
        mix=cpt.mix.model_dump(), language_alpha=cpt.language_alpha, language_weights=language_weights(cpt),
        reverse_share=cpt.reverse_share, total_tokens=cpt.total_tokens, pairs_once=cpt_reads_pairs_once(cfg),
        num_proc=cpt.num_proc, build_here=is_local_main(),
        corpus_weights=cpt.corpus_weights,
    )
    batches = RowBatches(data.dataset, cpt.micro_batch_size, world, cpt.global_batch_size, cfg.seed, pad_id(tokenizer))
    steps = stage_steps(cpt, batches.steps_per_epoch)
    if cpt.resume:
        check_resumable(paths.out_dir, steps.total, STAGE)
    plan = measured_plan(STAGE, cpt, data, batches, world, steps)
    for line in plan.lines():
        print0(line)

    # 3. model, engine, resume
    model, zero3 = load_training_model(model_cfg, cpt, paths.init_from, paths.ds_config, world, batches.grad_accum)
    engine = deepspeed_engine(
        model, cpt, paths.ds_config, steps, world=world, grad_accum=batches.grad_accum, dtype=model_cfg.dtype,
        monitors=metric_monitors(paths.out_dir, f"{cfg.name}-cpt", cfg.train.report_to, cfg.train.wandb_project),
        attn_implementation=model_cfg.attn_implementation,
    )
    del zero3
    ckpt = Checkpoints(
        paths.out_dir, cpt.save_steps, cpt.save_total_limit, data.key, batches.resume_key(), stage_fingerprint(cfg, STAGE, paths)
    )
    start, history = ckpt.resume(engine, steps.total, STAGE, load=cpt.resume)
    log = StepLog(engine, cpt.logging_steps, steps.total, history)
    state = {"total_steps": steps.total, "data_key": data.key, "world_size": world, "grad_accum": batches.grad_accum, "plan": plan.as_dict(), "data": data.stats}

    # 4. the loop: every token of a document has loss; the step's loss is their mean
    engine.train()
    for step in range(start, steps.total):
        step_loss_tokens = batches.loss_tokens(step)
        lr = engine.get_lr()[0]
        loss_sum = 0.0
        for rows in batches.micro_batches(step, rank):
            loss = summed_loss(engine, rows)
            engine.backward(loss * world * batches.grad_accum / step_loss_tokens)
            engine.step()
            loss_sum += float(loss.detach())
        log.add(step + 1, loss_sum, step_loss_tokens, batches.real_tokens(step), lr)
        if ckpt.due(step + 1, steps.total):
            ckpt.save(engine, step + 1, {**state, "history": log.history})
        kill_if_asked(step + 1)

    # 5. save
    final = ckpt.save_final(engine, tokenizer, {**state, "step": steps.total, "history": log.history}, model_cfg.attn_implementation)
    print0(f"[lmt cpt] done: {steps.total} steps; final model {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
