"""Step 7: hyperparameter search on Optuna: grid, random or TPE, with pruning, over any dotted
config path; scored on validation data (or k folds), never on the test split."""

from ..config.space import Space as Space
from ..config.space import available as available
from .methods import PRUNERS as PRUNERS
from .methods import SAMPLERS as SAMPLERS
from .objective import Pruning as Pruning
from .objective import Validation as Validation
from .search import Tuning as Tuning
from .search import search as search
from .storage import open_storage as open_storage

__all__ = ["PRUNERS", "SAMPLERS", "Pruning", "Space", "Tuning", "Validation", "available", "open_storage", "search"]
