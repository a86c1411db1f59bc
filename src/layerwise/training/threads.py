"""How many CPU threads a fit uses, set only while it runs.

On a CPU, torch splits each op across intra-op threads. For a small model the
per-op work is a few microseconds, and waking and joining threads costs more
than it saves; a big batch through a wide model divides well. The rule below
comes from a sweep of widths and batch sizes (figures beside it);
`benchmarks/trainer_overhead.py --sweep` re-checks it on the benchmark model.

The rule is a first guess: on another machine (another CPU, a hypervisor's own
scheduling) the same MLP at batch 32 ran at 0.68x on 2 threads what it ran on 1 (2026-12-04,
`benchmarks/threads_under_load.py`). So where the rule picks several threads for a dense model,
a fit under `threads: auto` tries fewer on its own steps (`ThreadTrial`) and keeps the faster.

Real machines are rarely quiet. Under `threads: auto` the Trainer measures how busy other
processes keep its CPUs (data/resources.py) when a fit starts and every few seconds before a
training step, and leaves them theirs; `benchmarks/threads_under_load.py` measures the effect. A count
set by the user is always kept. The thread count can change the last bits of a result (torch
splits reductions by thread), so runs that must be bit-identical whatever else the machine does
set `train.threads`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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
# a CPU counts as free for a thread when this share of it is idle
FREE_SHARE = 0.75
# how often (seconds, checked before each training step) a fit looks at the load again
RECHECK_SECONDS = 2.0
# ThreadTrial: a fit's first steps are left out (they warm caches, the allocator and lazily loaded
# code: at least this many, and this much time), then turns of TRIAL_SECONDS of step time at each
# count, A B B A (a drift in the machine's speed then weighs on both alike). The fewer threads are
# kept only where they ran faster in each round and more than TRIAL_MARGIN faster over the trial; the
# first round in which they were not faster ends it (more turns could then only cost), as does a third
# of a turn in which they ran more than TRIAL_MARGIN slower than the round's turn at more. One disturbed
# turn then cannot switch a fit for the rest of its steps (a W2 fit read 8,861 samples/s on 2 threads
# against 16,800 on 1 in its first round and ran at 0.75x the fits beside it, 2026-12-04). On this
# project's shared 2-core machine two tenths of a second of the W2 MLP's steps at one count read up
# to 16% apart from the same at another count that was in fact 10-14% faster over whole fits
# (2026-12-04): a trial this short tells apart only large differences (such as a busy host's 1.47x
# for one thread), and a wrong switch costs as much as a right one gains. Each turn at the slower
# count costs the fit its difference: a few hundredths of a second once a fit.
TRIAL_WARMUP_STEPS = 5
TRIAL_WARMUP_SECONDS = 0.05
TRIAL_SECONDS = 0.1
TRIAL_TURNS = 4
TRIAL_MARGIN = 0.2
_PER_POSITION = (nn.modules.conv._ConvNd, nn.RNNBase, nn.MultiheadAttention, nn.Embedding)


def is_dense(module: nn.Module) -> bool:
    """True when no layer repeats its weights over positions or steps (no conv, RNN, attention)."""
    return not any(isinstance(m, _PER_POSITION) for m in module.modules())


@dataclass(frozen=True)
class Choice:
    """A thread count for a fit or predict (None: torch's setting is left alone) and why, for the run log."""

    n: int | None
    reason: str


def choose_threads(
    threads: int | str,
    device: torch.device,
    n_params: int,
    batch_size: int,
    *,
    dense: bool = True,
    busy: int = 0,
    default: int | None = None,
    capacity: float | None = None,
    others: float | None = None,
) -> Choice:
    """The intra-op thread count for a fit or predict under `threads` (auto, or a count that is
    always kept).

    auto starts from torch's `default` (one thread per core; torch.get_num_threads() when not
    given), or one thread for a small dense model, and never goes above it. Then it leaves what
    others take: `capacity` is the CPUs this process may use (affinity mask, container quota),
    `others` how many of them other processes keep busy (data/resources.py measures both), and
    `busy` the CPUs taken by this fit's own data-loading worker processes. A CPU counts as free
    when at least 3/4 of it is: an op split over a thread that shares its core with another
    busy process waits for that thread (on 2 cores with one busy process, 2 threads trained the
    W2 MLP at a third the speed of 1)."""
    if isinstance(threads, int):
        return Choice(threads, "train.threads")
    if device.type != "cpu":
        return Choice(None, "the accelerator computes; CPU threads only feed it")
    default = torch.get_num_threads() if default is None else default
    small = n_params < SINGLE_THREAD_MAX_PARAMS and n_params * batch_size < SINGLE_THREAD_MAX_WORK
    if dense and small:
        n, why = 1, f"a small dense model ({n_params:,} parameters at batch {batch_size}) runs fastest on one"
    else:
        n, why = default, "torch's default, one per core"
    # the CPUs left, of all this process may use; torch's own count caps the answer below
    room = capacity if capacity is not None else float(default)
    taken = []
    if capacity is not None and capacity < default:
        taken.append(f"this process may use {capacity:g} (affinity mask or quota)")
    if others is not None and others > 0:
        room -= others
        taken.append(f"other processes keep {others:.1f} CPUs busy")
    if busy > 0:
        room -= busy
        taken.append(f"{busy} data-loading workers")
    free = max(1, int(room + 1 - FREE_SHARE))
    if free < n:
        of = capacity if capacity is not None else default
        return Choice(free, f"{free} of {of:g} CPUs free: " + ", ".join(taken))
    return Choice(n, why)


class ThreadTrial:
    """Which of two thread counts runs a fit's steps faster, measured on the steps themselves: after
    the warm-up, turns of TRIAL_SECONDS of step time at each count (A B B A), then `winner`, the count
    that trained more samples a second (`rates`). `fewer` is kept only where it ran faster in every
    round and TRIAL_MARGIN faster over the whole trial; the first round in which it is not faster
    ends the trial (more turns could only cost), as does a third of a turn at `fewer` that ran
    TRIAL_MARGIN slower than the same round's turn at `more`.
    A step is timed from its start to the next step's in the same epoch (validation between epochs
    is left out). Noise can still pick the slower of two close counts, which then cost little."""

    def __init__(self, more: int, fewer: int, seconds: float | None = None, turns: int = TRIAL_TURNS):
        rounds = [(more, fewer) if r % 2 == 0 else (fewer, more) for r in range(turns // 2)]
        self.order = [count for pair in rounds for count in pair]
        self.more, self.fewer = more, fewer
        self.seconds = TRIAL_SECONDS if seconds is None else seconds
        self.warm = (0, 0.0)  # steps and seconds left out so far
        self.turn, self.in_turn = 0, 0.0
        self.time = {more: 0.0, fewer: 0.0}
        self.samples = {more: 0, fewer: 0}
        self.in_round = {more: (0.0, 0), fewer: (0.0, 0)}  # seconds and samples of the round so far
        self.winner: int | None = None

    @property
    def count(self) -> int:
        """The count the next step runs at."""
        return self.winner if self.winner is not None else self.order[self.turn]

    def add(self, seconds: float, samples: int) -> None:
        """One step of `samples` rows that took `seconds` at `count`."""
        if self.winner is not None:
            return
        steps, warmed = self.warm
        if steps < TRIAL_WARMUP_STEPS or warmed < TRIAL_WARMUP_SECONDS:
            self.warm = (steps + 1, warmed + seconds)
            return
        n = self.order[self.turn]
        self.time[n] += seconds
        self.samples[n] += samples
        self.in_round[n] = (self.in_round[n][0] + seconds, self.in_round[n][1] + samples)
        self.in_turn += seconds
        if n == self.fewer and self._fewer_clearly_slower():
            self.winner = self.more  # the rest of the turn would only cost
            return
        if self.in_turn < self.seconds:
            return
        self.turn, self.in_turn = self.turn + 1, 0.0
        if self.turn % 2:
            return  # a round is both counts
        this_round = {c: _rate(*seconds_rows) for c, seconds_rows in self.in_round.items()}
        self.in_round = {c: (0.0, 0) for c in self.in_round}
        if this_round[self.fewer] <= this_round[self.more]:
            self.winner = self.more  # a switch must hold in every round: one disturbed turn decides nothing
        elif self.turn == len(self.order):
            rates = self.rates
            ahead = rates[self.fewer] > rates[self.more] * (1 + TRIAL_MARGIN)
            self.winner = self.fewer if ahead else self.more

    @property
    def rates(self) -> dict[int, float]:
        """Samples a second at each count over the trial so far."""
        return {c: _rate(self.time[c], self.samples[c]) for c in self.time}

    def _fewer_clearly_slower(self) -> bool:
        """In a turn at `fewer` that follows one at `more` in the same round: a third of the turn in, fewer
        ran TRIAL_MARGIN slower than more did (where more threads are right, most trials end here)."""
        if self.in_round[self.more][0] < self.seconds or self.in_turn < self.seconds / 3:
            return False
        return _rate(*self.in_round[self.fewer]) * (1 + TRIAL_MARGIN) < _rate(*self.in_round[self.more])

    def reason(self) -> str:
        rates = self.rates
        shown = ", ".join(f"{rates[c]:,.0f} samples/s on {c}" for c in sorted(rates, reverse=True))
        if self.winner == self.more and rates[self.fewer] > rates[self.more]:
            shown += f"; {self.fewer} kept only where faster in each round and by {TRIAL_MARGIN:.0%} in all"
        return f"measured on this fit's steps: {shown}"


def _rate(seconds: float, samples: int) -> float:
    """Samples a second (guarded against a zero time)."""
    return samples / max(seconds, 1e-9)


@contextmanager
def thread_count(n: int | None) -> Iterator[None]:
    """Run the block with `n` intra-op threads (None: as they are), then put the count before it
    back, also when the block changed it (a fit adapting to the load)."""
    previous = torch.get_num_threads()
    if n is not None and n != previous:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
