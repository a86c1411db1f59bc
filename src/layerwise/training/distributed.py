"""Data parallelism under torchrun: DistributedDataParallel, NCCL on GPUs and gloo on CPU.

torchrun sets RANK, WORLD_SIZE and LOCAL_RANK (the one place layerwise reads
configuration from the environment: an outside tool sets it). Each rank trains on its
slice of every global batch; DDP averages the gradients, so at the same global batch
size an update equals single-process training up to float summation order
(`batch_size` is the global batch: each of N ranks takes about batch_size / N rows).
Dropout draws differ per rank, so with dropout the curves agree only statistically.

A worker restarted by torchrun (`--max-restarts`, which needs an explicit
`--rdzv-backend=c10d --rdzv-endpoint=HOST:PORT`; `--standalone` does not restart gloo
workers) resumes from the newest checkpoint by itself. Set
TORCH_DISABLE_SHARE_RDZV_TCP_STORE=1 for torchrun: with the agent's store shared, a
restarted gloo group can hang in init_process_group (pytorch/pytorch#135712).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def restarted() -> bool:
    """True in a worker that torchrun restarted (`--max-restarts`) after a failure: it resumes."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")) > 0


def rank() -> int:
    """This process's rank; 0 outside torchrun. Only rank 0 writes files and prints."""
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else int(os.environ.get("RANK", "0"))


def join(device: torch.device) -> torch.device:
    """Join torchrun's process group (once per process); returns this rank's device."""
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return device


def leave() -> None:
    """Leave the process group, if one was joined (at the end of a command)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap(module: torch.nn.Module, device: torch.device, *, freezes: bool = False) -> torch.nn.Module:
    """DDP over `module`; `freezes`: some parameters get no gradient in some epochs (a Freeze
    callback), which DDP must be told, or its reduction waits for them and fails."""
    ids = [device.index] if device.type == "cuda" else None
    return torch.nn.parallel.DistributedDataParallel(module, device_ids=ids, find_unused_parameters=freezes)


def shard(batch: torch.Tensor, size: int, this_rank: int) -> tuple[torch.Tensor, float]:
    """This rank's contiguous part of a global batch of indices, and its share.

    The share (rows here * ranks / rows in the batch) weights this rank's mean loss so
    that DDP's mean of the ranks' gradients is the global batch's mean gradient when the
    batch does not split evenly (the epoch's short last batch); 1.0 when it does."""
    part = batch.tensor_split(size)[this_rank]
    return part, part.shape[0] * size / batch.shape[0]


def mean_over_ranks(t: torch.Tensor) -> torch.Tensor:
    """The mean of `t` over ranks (in place); one collective."""
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t.div_(dist.get_world_size())


def broadcast_flag(value: bool, device: torch.device) -> bool:
    """True on every rank if it is True on any."""
    t = torch.tensor([1.0 if value else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
