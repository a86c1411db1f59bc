"""Step 8: test-set metrics beside naive baselines, with intervals, diagnosis, audit and a verdict."""

from .baselines import majority_baseline as majority_baseline
from .baselines import mean_baseline as mean_baseline
from .baselines import median_baseline as median_baseline
from .baselines import persistence as persistence
from .baselines import seasonal_naive as seasonal_naive
from .bootstrap import Intervals as Intervals
from .bootstrap import block_length as block_length
from .bootstrap import paired_bootstrap as paired_bootstrap
from .data_curve import DataCurve as DataCurve
from .data_curve import data_curve as data_curve
from .data_curve import fit_trend as fit_trend
from .data_curve import nested_subsets as nested_subsets
from .diagnose import Diagnosis as Diagnosis
from .diagnose import diagnose as diagnose
from .gate import DEPLOY as DEPLOY
from .gate import DO_NOT_DEPLOY as DO_NOT_DEPLOY
from .judge import judge as judge
from .leakage import audit as audit
from .metrics import DEFAULT_PRIMARY as DEFAULT_PRIMARY
from .metrics import HIGHER_IS_BETTER as HIGHER_IS_BETTER
from .metrics import better as better
from .metrics import classification_metrics as classification_metrics
from .metrics import regression_metrics as regression_metrics
from .score import score as score
