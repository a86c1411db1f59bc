"""The workflow as public steps and the recipes over them (see docs/develop.md)."""

from .run import RESUMABLE as RESUMABLE
from .run import Experiment as Experiment
from .run import Result as Result
from .run import fingerprint as fingerprint
from .run import summary as summary
