"""The kinds of problem: one module per kind, registered (see docs/develop.md).

base.py       the Task contract; TaskInfo (saved in a bundle) and Prepared (a run's splits)
registry.py   register / get / available / resolve (which kind a run is) / for_bundle
common.py     helpers the kinds share, as functions
rows.py       classification and regression on the rows of a table
text.py       the same on tables with free-text columns, beside a TF-IDF reference
forecast.py   the next values of a series
images.py     classification of images
generation.py text generation, next character by character
"""

from .base import Head as Head
from .base import Prepared as Prepared
from .base import Task as Task
from .base import TaskInfo as TaskInfo
from .registry import available as available
from .registry import for_bundle as for_bundle
from .registry import get as get
from .registry import prepare_again as prepare_again
from .registry import register as register
from .registry import resolve as resolve
