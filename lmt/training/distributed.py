"""Process-group setup for the recipes, on GPUs and on CPU.

Under the ``deepspeed`` launcher every rank gets ``RANK``/``WORLD_SIZE``/
``LOCAL_RANK``/``MASTER_*`` from the environment. Started plainly (``python
recipes/sft.py``, tests) we fill in a single-rank world on a free port, since
DeepSpeed would otherwise look for MPI.

On CPU (no CUDA device) we select DeepSpeed's CPU accelerator and skip its
shared-memory all-reduce op: that op is JIT-compiled with g++ at every
process-group init (~1 minute on a fresh machine) and only serves
tensor-parallel inference; training all-reduces go through gloo either way.
"""

from __future__ import annotations

import os
import socket


def free_port() -> int:
    """A TCP port that is free right now (for MASTER_PORT)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def on_cpu() -> bool:
    """True when no CUDA device is visible (DeepSpeed runs on its CPU accelerator)."""
    import torch

    return not torch.cuda.is_available()


def setup_env() -> None:
    """Environment defaults before DeepSpeed is imported (CPU accelerator, single rank)."""
    if on_cpu():
        os.environ.setdefault("DS_ACCELERATOR", "cpu")
    if "RANK" not in os.environ:
        os.environ.update(RANK="0", LOCAL_RANK="0", WORLD_SIZE="1", MASTER_ADDR="127.0.0.1")
        os.environ.setdefault("MASTER_PORT", str(free_port()))
    os.environ.setdefault("LOCAL_RANK", "0")


def init_distributed() -> tuple[int, int, int]:
    """Initialise (once) the DeepSpeed process group; returns ``(rank, world_size, local_rank)``."""
    setup_env()
    import deepspeed
    import torch.distributed as dist

    if os.environ.get("DS_ACCELERATOR") == "cpu" and os.environ.get("LMT_DS_SHM_OP", "0") != "1":
        import deepspeed.ops as ds_ops

        # Marks the op unbuildable, so TorchBackend falls back to plain gloo
        # collectives instead of compiling it (see module docs).
        ds_ops.__compatible_ops__["deepspeed_shm_comm"] = False
    if not dist.is_initialized():
        deepspeed.init_distributed()
    return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))


def barrier() -> None:
    """Wait for every rank (no-op when not distributed)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def is_main() -> bool:
    """Rank 0 (or not distributed)."""
    import torch.distributed as dist

    return not (dist.is_available() and dist.is_initialized()) or dist.get_rank() == 0


def is_local_main() -> bool:
    """Local rank 0 of this node (builds node-local caches)."""
    return os.environ.get("LOCAL_RANK", "0") == "0"
