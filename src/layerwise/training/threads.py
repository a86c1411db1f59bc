"""How many CPU threads a fit uses, set only while it runs.

On a CPU, torch splits each op across intra-op threads. For a small model the
per-op work is a few microseconds, and waking and joining threads costs more
than it saves; a big batch through a wide model divides well. The rule below
comes from a sweep of widths and batch sizes (figures beside it);
`benchmarks/trainer_overhead.py --sweep` re-checks it on the benchmark model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

# One thread for a small model at a modest batch; torch's default (one thread
# per core) otherwise. Measured on 2 cores, fused Adam, MLPs 32 -> w x4 -> 1,
# samples/s at 2 threads over 1 thread:
#   w=32   (4k params):    0.87-0.95 at every batch 16..256   -> 1 thread
#   w=64   (15k params):   0.89-0.94 at every batch 16..256   -> 1 thread
#   w=128  (54k params):   0.98-1.01 up to batch 128, 1.04 at 256 (a wash)
#   w=256  (206k params):  1.09 at batch 16 ... 1.43 at 256   -> default
#   w=512  (805k params):  1.23 at batch 16 ... 1.72 at 256   -> default
# The rule holds for dense layers only, whose work is parameters x batch. A convolution or a
# recurrent layer does far more work per parameter (every position, every step) and divides
# well across threads: on 2 cores, 1 thread ran the digits cnn2d (26k parameters) at 0.75x
# and an LSTM 64x2 (50k parameters) at 0.71x the default (make bench, 2026-11-27).
SINGLE_THREAD_MAX_PARAMS = 100_000
SINGLE_THREAD_MAX_WORK = 10_000_000  # parameters x batch size
_PER_POSITION = (nn.modules.conv._ConvNd, nn.RNNBase, nn.MultiheadAttention, nn.Embedding)


def is_dense(module: nn.Module) -> bool:
    """True when no layer repeats its weights over positions or steps (no conv, RNN, attention)."""
    return not any(isinstance(m, _PER_POSITION) for m in module.modules())


def choose_threads(
    threads: int | str, device: torch.device, n_params: int, batch_size: int, *, dense: bool = True, busy: int = 0
) -> int | None:
    """The thread count to set for a fit or predict; None leaves torch's setting alone. Under auto,
    `busy` CPUs (data-loading worker processes beside the fit) are left to them, one thread kept."""
    if isinstance(threads, int):
        return threads
    if device.type != "cpu":
        return None  # the accelerator does the work; CPU threads only feed it
    small = n_params < SINGLE_THREAD_MAX_PARAMS and n_params * batch_size < SINGLE_THREAD_MAX_WORK
    chosen = 1 if dense and small else None
    if busy > 0:
        return max(1, min(chosen or torch.get_num_threads(), torch.get_num_threads() - busy))
    return chosen


@contextmanager
def thread_count(n: int | None) -> Iterator[None]:
    """Run the block with `n` intra-op threads, then restore the previous count."""
    previous = torch.get_num_threads()
    if n is None or n == previous:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
