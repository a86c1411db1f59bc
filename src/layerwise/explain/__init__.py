"""Interpretability: attributions through Captum (why this prediction), permutation importance
(which inputs matter overall), and the checks that keep both honest."""

import sys
import types

from .attribute import attribute as attribute
from .checks import completeness as completeness
from .checks import randomization as randomization
from .displays import AttributionDisplay as AttributionDisplay
from .displays import ImageAttributionDisplay as ImageAttributionDisplay
from .displays import ImportanceDisplay as ImportanceDisplay
from .displays import SeriesAttributionDisplay as SeriesAttributionDisplay
from .displays import TextAttributionDisplay as TextAttributionDisplay
from .explainer import ALL_METHODS as ALL_METHODS
from .explainer import explain as explain
from .explainer import explain_run as explain_run
from .explanation import Explanation as Explanation
from .permutation import mean_abs_importance as mean_abs_importance
from .permutation import permutation_importance as permutation_importance
from .space import FeatureSpace as FeatureSpace


class _CallablePackage(types.ModuleType):
    """`layerwise.explain(...)` calls explain() even after this package was imported as
    `layerwise.explain` (importing a subpackage makes it its parent's attribute of that name)."""

    def __call__(self, *args, **kwargs):
        return explain(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
