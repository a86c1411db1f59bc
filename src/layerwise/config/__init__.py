"""The one schema for YAML and Python, how it speaks, the tune-space grammar and `layerwise init`.

schema.py     ExperimentConfig and its sections, one comment per key; YAML reading, --set
messages.py   one line per validation error, with key path and did-you-mean
space.py      the grammar of tune.space (ranges and choices over dotted config paths)
scaffold.py   `layerwise init DATA --target y`: a starting experiment.yaml from the data
"""

from .messages import describe as describe
from .schema import ExperimentConfig as ExperimentConfig
from .schema import ExplainConfig as ExplainConfig
from .schema import ModelConfig as ModelConfig
from .schema import TrainConfig as TrainConfig
from .schema import TuneConfig as TuneConfig
from .schema import apply_overrides as apply_overrides
from .schema import load_yaml as load_yaml
