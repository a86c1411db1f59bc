"""Step 8: test-set metrics beside naive baselines."""

from .baselines import majority_baseline as majority_baseline
from .baselines import mean_baseline as mean_baseline
from .baselines import persistence as persistence
from .metrics import DEFAULT_PRIMARY as DEFAULT_PRIMARY
from .metrics import HIGHER_IS_BETTER as HIGHER_IS_BETTER
from .metrics import better as better
from .metrics import classification_metrics as classification_metrics
from .metrics import regression_metrics as regression_metrics
from .score import score as score
