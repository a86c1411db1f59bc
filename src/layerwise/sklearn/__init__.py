"""scikit-learn estimators built on layerwise's model builders and Trainer.

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from layerwise.sklearn import NeuralClassifier

    model = make_pipeline(StandardScaler(), NeuralClassifier(hidden=(32,), epochs=50)).fit(X, y)

They pass scikit-learn's own estimator checks (tests/test_sklearn.py), so Pipeline,
cross_val_score and GridSearchCV (n_jobs > 1 too) work with them. `to_bundle(path)`
writes a layerwise bundle that `layerwise.load(path)` serves.
"""

from .classifier import NeuralClassifier as NeuralClassifier
from .params import InvalidParameter as InvalidParameter
from .regressor import NeuralRegressor as NeuralRegressor

__all__ = ["InvalidParameter", "NeuralClassifier", "NeuralRegressor"]
