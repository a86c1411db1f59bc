"""scikit-learn estimators built on layerwise's model builders and Trainer.

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from layerwise.sklearn import NeuralClassifier

    model = make_pipeline(StandardScaler(), NeuralClassifier(hidden=(32,), epochs=50)).fit(X, y)

They pass scikit-learn's own estimator checks (tests/test_sklearn.py), so Pipeline,
cross_val_score and GridSearchCV (n_jobs > 1 too) work with them. `to_bundle(path)`
writes a layerwise bundle that `layerwise.load(path)` serves.

NeuralTextClassifier and NeuralTextRegressor take text (a DataFrame with text columns, or a
list of strings) through the same tokenizers and text encoders as a run with text columns.
"""

from .classifier import NeuralClassifier as NeuralClassifier
from .params import InvalidParameter as InvalidParameter
from .regressor import NeuralRegressor as NeuralRegressor
from .text import InvalidInput as InvalidInput
from .text import NeuralTextClassifier as NeuralTextClassifier
from .text import NeuralTextRegressor as NeuralTextRegressor

__all__ = [
    "InvalidInput",
    "InvalidParameter",
    "NeuralClassifier",
    "NeuralRegressor",
    "NeuralTextClassifier",
    "NeuralTextRegressor",
]
