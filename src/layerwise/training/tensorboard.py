"""TensorBoard event files: per epoch, the training and validation loss, the validation
metric and the learning rate, at global step = epoch (rank 0 only).

The writer opens at the first epoch this fit runs, with `purge_step` = that epoch, so a
resumed run drops the events an interrupted run had written past its checkpoint and no
step appears twice. Needs the `tensorboard` package: pip install "layerwise[tensorboard]".
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import needs_extra
from .callbacks import Callback

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from .trainer import Trainer

SCALARS = {"train_loss": "loss/train", "val_loss": "loss/val", "val_metric": "metric/val", "lr": "lr"}


class TensorBoard(Callback):
    """Write the history rows as TensorBoard scalars into `log_dir`."""

    def __init__(self, log_dir: str | Path):
        with needs_extra("tensorboard", instead="or set train.tensorboard: false"):
            import tensorboard  # noqa: F401  (here, before training starts, rather than at its first epoch)
        self.log_dir = Path(log_dir)
        self.writer: SummaryWriter | None = None

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        if self.writer is None and trainer.rank == 0:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.log_dir), purge_step=epoch)

    def on_epoch_end(self, trainer: Trainer, epoch: int, logs: dict) -> None:
        if self.writer is None:
            return
        for key, tag in SCALARS.items():
            if logs.get(key) is not None:
                self.writer.add_scalar(tag, logs[key], epoch)
        self.writer.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
