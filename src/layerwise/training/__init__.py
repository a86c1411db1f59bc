"""Steps 5 and 6: forward, backpropagate and optimize, with any `nn.Module`."""

from .callbacks import Callback as Callback
from .callbacks import Checkpoint as Checkpoint
from .callbacks import EarlyStopping as EarlyStopping
from .callbacks import EpochLog as EpochLog
from .callbacks import ProgressBar as ProgressBar
from .checkpoint import Checkpoints as Checkpoints
from .checkpoint import CheckpointWarning as CheckpointWarning
from .freeze import Freeze as Freeze
from .losses import make_loss as make_loss
from .lr_find import LRFind as LRFind
from .lr_find import lr_find as lr_find
from .optim import make_optimizer as make_optimizer
from .signals import Interrupted as Interrupted
from .tensorboard import TensorBoard as TensorBoard
from .trainer import Trainer as Trainer

__all__ = [
    "Callback",
    "Checkpoint",
    "CheckpointWarning",
    "Checkpoints",
    "Interrupted",
    "EarlyStopping",
    "EpochLog",
    "Freeze",
    "LRFind",
    "ProgressBar",
    "TensorBoard",
    "Trainer",
    "lr_find",
    "make_loss",
    "make_optimizer",
]
