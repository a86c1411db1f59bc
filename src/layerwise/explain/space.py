"""Where attributions land: the model's input columns grouped back into the user's features.

A one-hot categorical spreads over k model columns, a date over its parts, a number with
missing values over its value and its indicator (Preprocessor.positions); a method scores
model columns, so a group's scores are summed back into its feature (attributions add up,
so IG's completeness holds for the sums too). Series keep two axes, time step and feature;
images keep their pixels, summed over channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..bundle.predictor import Predictor


class _Tabular:
    """(features,) model columns per row, grouped into the user's features."""

    name = "tabular"
    ranks_features = True  # a global importance per feature

    def width(self, shape: tuple[int, ...]) -> int:
        return shape[-1]

    def collapse(self, values: np.ndarray, groups: list[list[int]]) -> np.ndarray:
        return np.stack([values[:, g].sum(axis=1) for g in groups], axis=1)  # (n, features)

    def mask(self, shape: tuple[int, ...], groups: list[list[int]]) -> np.ndarray:
        ids = np.zeros(shape, dtype=np.int64)
        for i, group in enumerate(groups):
            ids[group] = i
        return ids

    def inputs(self, x: np.ndarray) -> np.ndarray | None:
        return x.reshape(len(x), -1)  # (n, features): the values beside their attributions


class _Series:
    """(steps, features) windows: every time step of every feature is its own input."""

    name = "series"
    ranks_features = True

    def width(self, shape: tuple[int, ...]) -> int:
        return shape[-1]

    def collapse(self, values: np.ndarray, groups: list[list[int]]) -> np.ndarray:
        return values  # (n, steps, features)

    def mask(self, shape: tuple[int, ...], groups: list[list[int]]) -> np.ndarray:
        return np.arange(int(np.prod(shape))).reshape(shape)

    def inputs(self, x: np.ndarray) -> np.ndarray | None:
        return None


class _Image:
    """(channels, height, width) pictures: a pixel, all its channels together, is one input."""

    name = "image"
    ranks_features = False  # its names are channels: no importance to rank

    def width(self, shape: tuple[int, ...]) -> int:
        return shape[0]

    def collapse(self, values: np.ndarray, groups: list[list[int]]) -> np.ndarray:
        return values.sum(axis=1)  # (n, h, w)

    def mask(self, shape: tuple[int, ...], groups: list[list[int]]) -> np.ndarray:
        c, h, w = shape
        return np.broadcast_to(np.arange(h * w).reshape(1, h, w), (c, h, w)).copy()

    def inputs(self, x: np.ndarray) -> np.ndarray | None:
        return x.mean(axis=1)  # (n, h, w): the picture the heatmap is laid over


_Layout = _Tabular | _Series | _Image
LAYOUTS: dict[str, _Layout] = {layout.name: layout for layout in (_Tabular(), _Series(), _Image())}
KINDS = tuple(LAYOUTS)
# a plain module's kind of input, from the number of axes of one sample
_BY_AXES: dict[int, _Layout] = {1: LAYOUTS["tabular"], 2: LAYOUTS["series"], 3: LAYOUTS["image"]}


@dataclass
class FeatureSpace:
    kind: str  # tabular | series | image
    names: list[str]  # tabular, series: the user's features; image: channels
    groups: list[list[int]]  # per name, its model columns (tabular) or last-axis index (series)
    input_shape: tuple[int, ...]
    # tabular: the positions of embedded category codes (no gradient reaches them: codes.py)
    codes: list[int] = field(default_factory=list)

    @property
    def layout(self) -> _Layout:
        """What this kind of input does with attributions; chosen here, asked everywhere else."""
        return LAYOUTS[self.kind]

    @property
    def ranks_features(self) -> bool:
        """Whether a global importance per name means something (not for an image's channels)."""
        return self.layout.ranks_features

    @classmethod
    def from_predictor(cls, predictor: Predictor) -> FeatureSpace:
        shape = tuple(predictor.model["input_shape"])
        if predictor.series is not None:  # a forecast
            names = list(predictor.series.columns)
            return cls("series", names, [[j] for j in range(len(names))], shape)
        if predictor.features is None:
            return cls.from_shape(shape, predictor.task.features)
        assert predictor.features.columns is not None, "a Predictor's preprocessor is fitted"
        # every output position of a column is summed into it: a number and its missing-value
        # indicator, a date's parts, a one-hot's categories, an embedded code (after the dense
        # columns), a text's token ids (after those; tokens.py splits them per token)
        positions = predictor.features.positions
        names = list(predictor.features.columns)
        codes = [positions[name][0] for name in names if _embedded(predictor.features.columns[name])]
        return cls("tabular", names, [positions[name] for name in names], shape, codes)

    @property
    def embedded(self) -> list[str]:
        """The features read as embedded category codes."""
        return [name for name, group in zip(self.names, self.groups) if group and group[0] in self.codes]

    @classmethod
    def from_shape(cls, shape: tuple[int, ...], names: list[str] | None = None) -> FeatureSpace:
        """For a plain module: (features,) rows, (steps, features) series, (channels, h, w) images."""
        shape = tuple(shape)
        layout = _BY_AXES.get(len(shape))
        if layout is None:
            raise ValueError(
                f"inputs of shape {shape} per sample: expected (features,), (steps, features) "
                "or (channels, height, width)"
            )
        width = layout.width(shape)
        names = list(names) if names is not None else [f"x{j}" for j in range(width)]
        if len(names) != width:
            raise ValueError(f"{len(names)} feature names for {width} inputs")
        return cls(layout.name, names, [[j] for j in range(width)], shape)

    def collapse(self, values: np.ndarray) -> np.ndarray:
        """Model-space scores to the user's features: (n, features), (n, steps, features), (n, h, w)."""
        return self.layout.collapse(values, self.groups)

    def mask(self) -> np.ndarray:
        """Captum's feature_mask, (1, *input_shape): model columns of one feature share an id, so
        ablation removes a whole categorical at once; each (step, feature) of a window and each
        pixel (all channels) is its own feature."""
        return self.layout.mask(self.input_shape, self.groups)[None]

    def inputs(self, x: np.ndarray) -> np.ndarray | None:
        """What an Explanation keeps of the explained inputs `x`, to show beside the attributions:
        rows' values (n, features), an image's picture (n, h, w), nothing for a window."""
        return self.layout.inputs(x)


def _embedded(state: dict) -> bool:
    return state["kind"] == "categorical" and state.get("encoding") == "embed"
