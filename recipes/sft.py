"""Supervised fine-tuning (SFT) with parallel multilingual prompting (PMP), under DeepSpeed.

Run (one node, 8 GPUs)::

    lmt train sft recipes/configs/qwen3_0.6b.yaml [key=value ...] [--dry-run] [--overwrite]
    deepspeed --num_gpus 8 recipes/sft.py --config recipes/configs/qwen3_0.6b.yaml [key=value ...]   # the same, by hand

Multi-node: ``train.launcher.hostfile`` (or ``deepspeed --hostfile H``). On CPU
the same command runs ``--num_gpus`` CPU ranks over gloo.

The paper's SFT, in the YAML's terms: 1 epoch over the SFT set, a global batch
of 1024 *examples* per optimizer step (packed into as many rows of
``max_length=1024`` tokens as they need), lr 2e-5, cosine, warm-up 1%; the loss
is the mean over the response tokens of the whole step. Forward pairs
(En/Zh->X) get the PMP prompt half of the time, the reverse pairs left by
strategic downsampling too; a PMP prompt carries the source in the auxiliary
language of the multi-way data.

1. setup: config, checks, process group, tokenizer;
2. data: prep output -> STP/PMP prompts in the chat template -> tokenised
   examples (loss on the response only), cached; the step order and the plan;
3. model: loaded (into ZeRO-3 partitions when configured), DeepSpeed engine,
   resume from the newest checkpoint;
4. the loop: per step, the step's examples packed into rows, each rank's
   micro-batches forward and backward, one optimizer step, logging, checkpoints;
5. save: ``<run_dir>/checkpoints/sft/final`` in Hugging Face format
   (safetensors, tokenizer, chat template), loadable by AutoModelForCausalLM and vLLM.
"""

from __future__ import annotations

import sys
from typing import Optional

STAGE = "sft"


def main(argv: Optional[list[str]] = None) -> int:
    """Run the SFT stage of an experiment config (see module docs)."""
    from lmt.aux_map import AuxMap
    from lmt.config import load_experiment
    from lmt.log import print0
    from lmt.modeling import load_tokenizer
    from lmt.training.checkpoint import Checkpoints, check_resumable
    from lmt.training.data import build_sft_data, pad_id
    from lmt.training.distributed import init_distributed, is_local_main
    from lmt.training.loop import StepLog, deepspeed_engine, kill_if_asked, load_training_model, metric_monitors, summed_loss
    from lmt.training.order import ExampleBatches
    from lmt.training.plan import measured_plan, stage_steps
    from lmt.training.stage import preflight, recipe_args, stage_fingerprint

    # 1. setup
    args = recipe_args(argv, "recipes/sft.py", "LMT supervised fine-tuning with PMP")
    cfg = load_experiment(args.config, args.overrides)
    sft, model_cfg = cfg.require("train").sft, cfg.train.model
    paths = preflight(cfg, STAGE)
    rank, world, _ = init_distributed()
    print0(f"[lmt sft] {world} rank(s); data {paths.data_dir}; model {paths.init_from}; output {paths.out_dir}")
    tokenizer = load_tokenizer(model_cfg.tokenizer or paths.init_from, trust_remote_code=model_cfg.trust_remote_code)

    # 2. data: one process per node builds (or finds) the cache; the others wait for it.
    data = build_sft_data(
        paths.data_dir, tokenizer, cache_dir=paths.cache_dir, aux_map=AuxMap.load(cfg.aux_map), seed=cfg.seed,
        max_length=sft.max_length, template=sft.template, use_chat_template=sft.use_chat_template,
        pmp=sft.pmp.model_dump(), reverse_keep=sft.reverse_keep, num_proc=sft.num_proc, build_here=is_local_main(),
        corpus_weights=sft.corpus_weights,
    )
    steps = stage_steps(sft, data.stats["examples"] / sft.global_batch_size)
    if sft.resume:
        check_resumable(paths.out_dir, steps.total, STAGE)  # before any heavy work
    batches = ExampleBatches(
        data.dataset, sft.micro_batch_size, world, sft.global_batch_size, sft.max_length, cfg.seed, steps.total, pad_id(tokenizer)
    )
    plan = measured_plan(STAGE, sft, data, batches, world, steps)
    for line in plan.lines():
        print0(line)

    # 3. model, engine, resume
    model, zero3 = load_training_model(model_cfg, sft, paths.init_from, paths.ds_config, world, batches.grad_accum)
    engine = deepspeed_engine(
        model, sft, paths.ds_config, steps, world=world, grad_accum=batches.grad_accum, dtype=model_cfg.dtype,
        monitors=metric_monitors(paths.out_dir, f"{cfg.name}-sft", cfg.train.report_to, cfg.train.wandb_project),
        attn_implementation=model_cfg.attn_implementation,
    )
    del zero3
    ckpt = Checkpoints(
        paths.out_dir, sft.save_steps, sft.save_total_limit, data.key, batches.resume_key(), stage_fingerprint(cfg, STAGE, paths)
    )
    start, history = ckpt.resume(engine, steps.total, STAGE, load=sft.resume)
    log = StepLog(engine, sft.logging_steps, steps.total, history)
    state = {"total_steps": steps.total, "data_key": data.key, "world_size": world, "grad_accum": batches.grad_accum, "plan": plan.as_dict(), "data": data.stats}

    # 4. the loop: loss = sum over the step's response tokens / their number in the whole step
    engine.train()
    for step in range(start, steps.total):
        step_loss_tokens = batches.loss_tokens(step)
        lr = engine.get_lr()[0]  # the rate this step uses (the scheduler moves on in engine.step)
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
    print0(f"[lmt sft] done: {steps.total} steps; final model {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
