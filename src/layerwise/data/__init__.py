"""Step 1 and 3 of the workflow: read, clean, transform and split the data.

Each piece works alone on plain pandas / NumPy objects; experiment/ chains them.
"""

from .clean import CleanOptions as CleanOptions
from .clean import clean as clean
from .cleaning_log import CleaningLog as CleaningLog
from .kinds import infer_kinds as infer_kinds
from .kinds import target_kind as target_kind
from .series import SeriesTransform as SeriesTransform
from .sources import read_head as read_head
from .sources import read_table as read_table
from .split import Split as Split
from .split import kfold as kfold
from .split import split as split
from .target import TargetEncoder as TargetEncoder
from .text import Vocabulary as Vocabulary
from .text import read_examples as read_examples
from .transforms import Preprocessor as Preprocessor
from .windows import Windows as Windows
from .windows import windows as windows

__all__ = [
    "CleanOptions",
    "CleaningLog",
    "Preprocessor",
    "SeriesTransform",
    "Split",
    "TargetEncoder",
    "Vocabulary",
    "Windows",
    "clean",
    "infer_kinds",
    "kfold",
    "read_examples",
    "read_head",
    "read_table",
    "split",
    "target_kind",
    "windows",
]
