"""layerwise: from raw data to an honestly evaluated, saved neural network."""

__version__ = "0.1.0"

from .bundle import load as load
from .config import ExperimentConfig as ExperimentConfig
from .errors import BundleError as BundleError
from .errors import ConfigError as ConfigError
from .errors import DataError as DataError
from .errors import LayerwiseError as LayerwiseError
from .experiment import Experiment as Experiment
from .experiment import Result as Result
from .training import Trainer as Trainer
