"""Reports with plots: each plot a Display object usable alone; the report composes them."""

from .data_curve import DataCurveDisplay as DataCurveDisplay
from .distribution import TargetDisplay as TargetDisplay
from .forecast import ForecastDisplay as ForecastDisplay
from .intervals import DifferenceDisplay as DifferenceDisplay
from .loss_curve import LossCurveDisplay as LossCurveDisplay
from .page import render as render
from .run import RunRecord as RunRecord
from .write import write_report as write_report
