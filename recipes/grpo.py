"""GRPO after SFT (the LMT paper's v2), under DeepSpeed, with TRL's ``GRPOTrainer``.

Run (one node, 8 GPUs)::

    deepspeed --num_gpus 8 recipes/grpo.py --config recipes/configs/qwen3_0.6b.yaml [key=value ...]
    lmt train grpo recipes/configs/qwen3_0.6b.yaml [key=value ...] [--dry-run]   # checks first, then the launcher

Paper defaults (``train.grpo`` in the YAML): COMET-22 reference-based reward on
the SFT prompts, lr 5e-7, 8 rollouts per prompt, temperature 1.0, KL beta
0.001, 500 steps.

Steps:

1. setup: config, checks (SFT model, data, reward, batch), process group;
2. prompts: the SFT prompts (STP/PMP, reverse downsampling) of the SFT data,
   with their references (:mod:`lmt.training.grpo_data`);
3. reward: the configured terms and penalties (:mod:`lmt.rewards`), loaded on
   every rank (each scores its own rollouts), wrapped for TRL;
4. train: ``GRPOTrainer``: per step, ``global_batch_size / num_generations``
   prompts, ``num_generations`` sampled rollouts each (HF ``generate``, or vLLM
   colocated on GPUs when installed), advantages relative to the group's mean
   and std, clipped policy loss plus ``beta`` x KL to the starting model;
   checkpoints every ``save_steps``, resumed after a kill; TensorBoard:
   reward, within-group reward std, KL, completion length, empty share;
5. save: ``<run_dir>/checkpoints/grpo/final`` (Hugging Face format, atomically)
   and ``train_state.json``.

Why TRL's trainer and not our SFT loop: GRPO is generation, scoring and a
policy-gradient loss over unpacked rollouts; TRL implements exactly that
(group advantages, KL against a reference model under ZeRO, vLLM rollouts)
and is tested upstream. What we add is small: the prompts, the reward, the
checks, the metrics TRL lacks and crash-safe resume.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import Optional

STAGE = "grpo"


def _use_vllm(setting) -> bool:
    import importlib.util

    import torch

    if setting == "auto":
        return importlib.util.find_spec("vllm") is not None and torch.cuda.is_available()
    return bool(setting)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the GRPO stage of an experiment config (see module docs)."""
    from lmt.config import load_experiment
    from lmt.io import write_json_atomic
    from lmt.log import print0
    from lmt.modeling import load_tokenizer
    from lmt.rewards import build_reward
    from lmt.training.attention import saved_implementation
    from lmt.training.distributed import barrier, init_distributed
    from lmt.training.ds_config import fill_auto, load_ds_config, training_dtype
    from lmt.training.grpo_hooks import CheckpointDone, FaultInjection, TRLReward
    from lmt.training.grpo_stage import (
        CHECKPOINTS,
        FINAL,
        START_MODEL,
        check_batch,
        checkpoint_dirs,
        grpo_fingerprint,
        preflight_grpo,
        stage_prompts,
        weights_fingerprint,
    )
    from lmt.training.stage import recipe_args

    # 1. setup
    args = recipe_args(argv, "recipes/grpo.py", "LMT GRPO after SFT")
    cfg = load_experiment(args.config, args.overrides)
    stage = cfg.require("train").grpo
    rank, world, local_rank = init_distributed()
    # The launcher process checked the reward models already; ranks skip reloading them twice.
    paths = preflight_grpo(cfg, world=world, check_reward=False)
    grad_accum = check_batch(stage, world, cfg.source)
    out_dir, model_cfg = paths.out_dir, cfg.train.model
    start_weights = weights_fingerprint(paths.init_from)
    if rank == 0 and not (stage.resume and checkpoint_dirs(out_dir)):
        # A fresh start: checkpoints of an earlier run would be resumed later by mistake.
        shutil.rmtree(out_dir / CHECKPOINTS, ignore_errors=True)
        # What a resumed run is checked against (preflight_grpo refuses other start weights).
        write_json_atomic(out_dir / START_MODEL, {"init_from": paths.init_from, "weights": start_weights})
    barrier()
    print0(f"[lmt grpo] {world} rank(s); prompts from {paths.data_dir}; model {paths.init_from}; output {out_dir}")
    tokenizer = load_tokenizer(paths.init_from, trust_remote_code=model_cfg.trust_remote_code, padding_side="left")

    # 2. prompts
    prompts = stage_prompts(cfg, paths, tokenizer)
    print0(f"[lmt grpo] {prompts.stats['prompts']} prompts {prompts.stats['kinds']}")

    # 3. reward (each rank scores its own rollouts, on its own device)
    import torch

    device = torch.device("cuda", local_rank) if torch.cuda.is_available() else torch.device("cpu")
    reward = TRLReward(build_reward(stage.reward, device=device), stage.num_generations)

    # 4. train
    from transformers import AutoConfig
    from trl import GRPOConfig as TRLConfig
    from trl import GRPOTrainer

    dtype = training_dtype(model_cfg.dtype)
    hidden = int(getattr(AutoConfig.from_pretrained(paths.init_from, trust_remote_code=model_cfg.trust_remote_code), "hidden_size", 1024))
    ds_config = fill_auto(
        load_ds_config(paths.ds_config), micro_batch_size=stage.micro_batch_size, grad_accum=grad_accum, world_size=world,
        learning_rate=stage.learning_rate, betas=tuple(stage.adam_betas), eps=stage.adam_eps, weight_decay=stage.weight_decay,
        gradient_clipping=stage.gradient_clipping, hidden_size=hidden, dtype=model_cfg.dtype,
    )
    os.environ["TENSORBOARD_LOGGING_DIR"] = str(out_dir / "tensorboard")
    use_vllm = _use_vllm(stage.use_vllm)
    args_trl = TRLConfig(
        output_dir=str(out_dir / CHECKPOINTS),
        seed=cfg.seed,
        deepspeed=ds_config,
        per_device_train_batch_size=stage.micro_batch_size,
        gradient_accumulation_steps=grad_accum,
        max_steps=stage.max_steps or -1,
        num_train_epochs=stage.epochs,
        learning_rate=stage.learning_rate,
        adam_beta1=stage.adam_betas[0], adam_beta2=stage.adam_betas[1], adam_epsilon=stage.adam_eps,
        weight_decay=stage.weight_decay,
        lr_scheduler_type=stage.lr_scheduler if stage.lr_scheduler != "cosine" else "cosine_with_min_lr",
        lr_scheduler_kwargs={"min_lr_rate": stage.min_lr_ratio} if stage.lr_scheduler == "cosine" else None,
        warmup_steps=stage.warmup_ratio,
        max_grad_norm=stage.gradient_clipping,
        gradient_checkpointing=stage.gradient_checkpointing,
        bf16=dtype == "bfloat16",
        use_cpu=not torch.cuda.is_available(),
        average_tokens_across_devices=False,
        model_init_kwargs={"dtype": dtype, "attn_implementation": saved_implementation(model_cfg.attn_implementation),
                           "trust_remote_code": model_cfg.trust_remote_code},
        num_generations=stage.num_generations,
        max_completion_length=stage.max_completion_length,
        temperature=stage.temperature,
        top_p=stage.top_p,
        beta=stage.beta,
        use_vllm=use_vllm,
        vllm_mode="colocate",
        vllm_max_model_length=stage.max_length,
        chat_template_kwargs={"enable_thinking": False},
        logging_steps=stage.logging_steps,
        save_strategy="steps",
        save_steps=stage.save_steps,
        save_total_limit=stage.save_total_limit,
        report_to=[r for r in cfg.train.report_to if r in ("tensorboard", "wandb")],
        run_name=f"{cfg.name}-grpo",
        disable_tqdm=False,
        shuffle_dataset=True,
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=paths.init_from, reward_funcs=[reward], args=args_trl, train_dataset=prompts.dataset,
        processing_class=tokenizer, callbacks=[CheckpointDone(out_dir / CHECKPOINTS), FaultInjection()],
    )
    done = checkpoint_dirs(out_dir) if stage.resume else []
    resume = str(done[-1]) if done else None
    if resume:
        print0(f"[lmt grpo] resumed from {resume}")
    trainer.train(resume_from_checkpoint=resume)

    # 5. save (every rank takes part under ZeRO-3; rank 0 renames the finished directory into place)
    final, tmp = out_dir / FINAL, out_dir / f".{FINAL}.tmp"
    if rank == 0:
        shutil.rmtree(tmp, ignore_errors=True)  # left by a run killed while saving
    barrier()
    trainer.save_model(str(tmp))
    trainer.accelerator.wait_for_everyone()
    history = [h for h in trainer.state.log_history if "reward" in h]  # one entry per logged step
    if rank == 0:
        tokenizer.save_pretrained(tmp)
        old = out_dir / f".{FINAL}.old"
        if final.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
        write_json_atomic(out_dir / "train_state.json", {
            "step": trainer.state.global_step, "world_size": world, "grad_accum": grad_accum,
            "final_model": str(final), "init_from": paths.init_from, "start_weights": start_weights,
            "prompts": prompts.stats, "history": history, "complete": True, "config": grpo_fingerprint(cfg, paths),
            "use_vllm": use_vllm,
        })
    trainer.accelerator.wait_for_everyone()
    print0(f"[lmt grpo] done: {trainer.state.global_step} steps; final model {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
