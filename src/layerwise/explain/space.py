"""Where attributions land: the model's input columns grouped back into the user's features.

A one-hot categorical spreads over k model columns and a date over four; a method scores
model columns, so a group's scores are summed back into its feature (attributions add up,
so IG's completeness holds for the sums too). Series keep two axes, time step and feature;
images keep their pixels, summed over channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bundle.predictor import Predictor
from ..data.transforms import DATE_PARTS

KINDS = ("tabular", "series", "image")


@dataclass
class FeatureSpace:
    kind: str  # tabular | series | image
    names: list[str]  # tabular, series: the user's features; image: channels
    groups: list[list[int]]  # per name, its model columns (tabular) or last-axis index (series)
    input_shape: tuple[int, ...]

    @classmethod
    def from_predictor(cls, predictor: Predictor) -> FeatureSpace:
        shape = tuple(predictor.model["input_shape"])
        if predictor.series is not None:  # a forecast
            names = list(predictor.series.columns)
            return cls("series", names, [[j] for j in range(len(names))], shape)
        if predictor.features is None:
            return cls.from_shape(shape, predictor.task.features)
        assert predictor.features.columns is not None, "a Predictor's preprocessor is fitted"
        names, groups, start = [], [], 0
        for name, state in predictor.features.columns.items():
            if state["kind"] == "categorical" and state["encoding"] == "onehot":
                width = len(state["categories"])
            elif state["kind"] == "datetime":
                width = len(DATE_PARTS)
            else:
                width = 1
            names.append(name)
            groups.append(list(range(start, start + width)))
            start += width
        return cls("tabular", names, groups, shape)

    @classmethod
    def from_shape(cls, shape: tuple[int, ...], names: list[str] | None = None) -> FeatureSpace:
        """For a plain module: (features,) rows, (steps, features) series, (channels, h, w) images."""
        shape = tuple(shape)
        kind = {1: "tabular", 2: "series", 3: "image"}.get(len(shape))
        if kind is None:
            raise ValueError(
                f"inputs of shape {shape} per sample: expected (features,), (steps, features) "
                "or (channels, height, width)"
            )
        width = shape[0] if kind == "image" else shape[-1]
        names = list(names) if names is not None else [f"x{j}" for j in range(width)]
        if len(names) != width:
            raise ValueError(f"{len(names)} feature names for {width} inputs")
        return cls(kind, names, [[j] for j in range(width)], shape)

    def collapse(self, values: np.ndarray) -> np.ndarray:
        """Model-space scores to the user's features: (n, features), (n, steps, features), (n, h, w)."""
        if self.kind == "tabular":
            return np.stack([values[:, g].sum(axis=1) for g in self.groups], axis=1)
        if self.kind == "image":
            return values.sum(axis=1)
        return values

    def mask(self) -> np.ndarray:
        """Captum's feature_mask, (1, *input_shape): model columns of one feature share an id, so
        ablation removes a whole categorical at once; each (step, feature) of a window and each
        pixel (all channels) is its own feature."""
        if self.kind == "tabular":
            ids = np.zeros(self.input_shape, dtype=np.int64)
            for i, group in enumerate(self.groups):
                ids[group] = i
        elif self.kind == "series":
            ids = np.arange(int(np.prod(self.input_shape))).reshape(self.input_shape)
        else:
            c, h, w = self.input_shape
            ids = np.broadcast_to(np.arange(h * w).reshape(1, h, w), (c, h, w)).copy()
        return ids[None]
