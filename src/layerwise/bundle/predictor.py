"""A trained network with its fitted preprocessing: raw rows in, predictions out.

The experiment scores the test split through the same `decode` that `predict` uses, so
what a bundle predicts is what was evaluated.

`unseen` is the policy for category values the training split never held, shared by
`layerwise predict`, `explain` and `serve` (--unseen, default error there): "error" refuses
them, naming column, values and rows; "warn" predicts them as unknown categories and adds an
`unseen` column (values unseen, per row). A Predictor made in Python starts with None: they
are predicted as unknown and counted in `features.last_unknown`, as the run's evaluation does.
A row whose values give no finite prediction is an error naming it, never an empty cell.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..data import Preprocessor, SeriesTransform, TargetEncoder, Vocabulary
from ..data.images import ImagePreprocessor, list_images
from ..data.transforms import check_unseen
from ..errors import DataError, UsageError, did_you_mean
from ..tasks import Task, TaskInfo, for_bundle

IMAGE_BATCH = 256  # image files decoded and predicted at a time by predict_images
EVAL_ELEMENTS = 1 << 22  # input numbers a batch of raw_outputs holds at most, beyond 64 rows

if TYPE_CHECKING:  # torch is imported where it runs, so an ONNX Predictor never loads it
    from torch import nn


class Predictor:
    """Preprocess, run the module, decode to the target's own units or labels."""

    def __init__(
        self,
        task: TaskInfo,
        module: nn.Module,
        *,
        model: dict[str, Any],
        features: Preprocessor | None = None,
        target: TargetEncoder | None = None,
        series: SeriesTransform | None = None,
        vocabulary: Vocabulary | None = None,
        config: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        images: ImagePreprocessor | None = None,
    ):
        self.task = task
        self.module = module
        self.model = model  # {"config": ..., "input_shape": [...], "output_dim": n}
        self.features = features
        self.target = target
        self.series = series
        self.vocabulary = vocabulary  # generation: characters <-> token ids
        self.images = images  # image classification: files -> normalized pixels
        self.config = config or {}
        self.metrics = metrics or {}

    @property
    def delimiter(self) -> str:
        return self.task.delimiter

    @property
    def unseen(self) -> str | None:
        """The policy for category values unseen in training: "error", "warn" or None."""
        return None if self.features is None else self.features.unseen

    @unseen.setter
    def unseen(self, policy: str | None) -> None:
        check_unseen(policy)
        if self.features is not None:  # images, series and text have no categories to decide on
            self.features.unseen = policy

    # -- state, for the bundle ------------------------------------------------------------
    def preprocessing_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {}
        if self.features is not None:
            state["features"] = self.features.to_dict()
        if self.target is not None:
            state["target"] = self.target.to_dict()
        if self.series is not None:
            state["series"] = self.series.to_dict()
        if self.vocabulary is not None:
            state["vocabulary"] = self.vocabulary.to_dict()
        if self.images is not None:
            state["images"] = self.images.to_dict()
        return state

    def spec(self) -> dict[str, Any]:
        return {
            "task": asdict(self.task),
            "model": self.model,
            "preprocessing": self.preprocessing_state(),
            "input_schema": self.input_schema(),
            "config": self.config,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any], module: nn.Module, metrics=None) -> Predictor:
        state = spec["preprocessing"]
        return cls(
            TaskInfo(**spec["task"]),
            module,
            model=spec["model"],
            features=Preprocessor.from_dict(state["features"]) if "features" in state else None,
            target=TargetEncoder.from_dict(state["target"]) if "target" in state else None,
            series=SeriesTransform.from_dict(state["series"]) if "series" in state else None,
            vocabulary=Vocabulary.from_dict(state["vocabulary"]) if "vocabulary" in state else None,
            config=spec.get("config"),
            metrics=metrics,
            images=ImagePreprocessor.from_dict(state["images"]) if "images" in state else None,
        )

    def input_schema(self) -> dict[str, Any]:
        if self.vocabulary is not None:
            return {"prompt": {"kind": "text", "dtype": "str", "characters": self.vocabulary.tokens[3:]}}
        if self.images is not None:
            return self.images.input_schema()
        if self.features is not None:
            return self.features.input_schema()
        return {c: {"kind": "numeric", "dtype": "float"} for c in self.task.features}

    # -- prediction -----------------------------------------------------------------------
    def raw_outputs(self, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Module outputs for model-space inputs, in eval mode, on the module's device."""
        import torch

        if any(m.training for m in self.module.modules()):  # eval() walks every submodule: only when needed
            self.module.eval()
        device = next(self.module.parameters()).device
        outs = []
        # token ids (generation) stay integers for the embedding; everything else is float32
        # (read `dtype` first: np.asarray would decode images left on disk, data.images.LazyImages)
        if isinstance(x, torch.Tensor):  # (bfloat16 has no NumPy type: float32 first)
            x = (x.detach().float() if x.is_floating_point() else x.detach()).cpu().numpy()
        elif not hasattr(x, "shape"):  # a list; images left on disk (LazyImages) stay as they are
            x = np.asarray(x)
        dtype = torch.long if np.issubdtype(x.dtype, np.integer) else torch.float32
        # large samples (images) in fewer rows at a time: 4096 of 3x128x128 would hold 800 MB
        batch_size = min(batch_size, max(64, EVAL_ELEMENTS // max(1, int(np.prod(x.shape[1:])))))
        with torch.no_grad():
            for i in range(0, len(x), batch_size):
                xb = torch.as_tensor(x[i : i + batch_size], dtype=dtype, device=device)
                outs.append(self.module(xb).float().cpu())
        if not outs:
            return np.zeros((0, self.model["output_dim"]), dtype=np.float32)
        return torch.cat(outs).numpy()

    def probabilities(self, raw: np.ndarray) -> np.ndarray:
        """Class probabilities (n, k) from logits: sigmoid for two classes, softmax otherwise."""
        import torch

        logits = torch.as_tensor(raw, dtype=torch.float64)
        if self.task.n_classes == 2:
            p = torch.sigmoid(logits.reshape(-1))
            return torch.stack([1 - p, p], dim=1).numpy()
        return torch.softmax(logits, dim=1).numpy()

    @property
    def kind(self) -> Task:
        """The kind of problem this model was trained as (tasks/), which decodes its outputs."""
        return for_bundle(self.task, self)

    def decode(self, raw: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
        """Model outputs → predictions in the target's units: (n, outputs) floats, or class codes."""
        return self.kind.decode(self, raw, last)

    def predict(self, frame: pd.DataFrame, *, source: str = "input") -> pd.DataFrame:
        """Predictions for every row of `frame`, in its order, beside its columns.

        Classifiers add one `proba_<class>` column per class. Forecasters predict, at each
        row with `lookback` rows of history, the next `horizon` values.
        """
        # Images and generation save no feature columns (features=[]): their Task refuses rows below.
        missing = [c for c in self.task.features if c not in frame.columns]
        if missing:
            hints = "; ".join(f"'{c}'{did_you_mean(c, frame.columns)}" for c in missing)
            raise DataError(
                f"{source}: missing feature column(s) {hints}",
                hint=f"the model needs the columns: {', '.join(map(str, self.task.features))}",
            )
        return self.kind.predict(self, frame, source)

    def predict_images(
        self, images: Any, *, source: str = "input", progress: Callable[[int, int], None] | None = None
    ) -> pd.DataFrame:
        """One row per image: `file` (or `index` for an array), `prediction`, `proba_<class>`.

        `images` is a folder (searched recursively), an image file, a list of files, or a NumPy
        array shaped like the training images. An unreadable file gets empty predictions and
        its reason in an `error` column. Files are decoded and predicted `IMAGE_BATCH` at a time,
        so a folder of any size takes the memory of one batch; `progress(done, total)` hears of each.
        """
        if self.images is None:
            raise DataError(f"this bundle is a {self.task.type} model on rows; predict_images needs an image bundle")
        target = self.target
        if target is None or target.classes is None:
            raise UsageError(
                "this Predictor reads images but has no fitted class encoder (target)",
                hint="load the image bundle with layerwise.bundle.load, or pass the run's fitted "
                "TargetEncoder as target=",
            )
        errors: list[str | None]
        pixels: np.ndarray | None
        if isinstance(images, np.ndarray):
            from ..data.images import image_array

            pixels = image_array(images, np.zeros(len(images)), source=source).images
            out, errors = pd.DataFrame({"index": np.arange(len(pixels))}), [None] * len(pixels)
        else:
            files = list_images(images) if isinstance(images, (str, Path)) else [Path(p) for p in images]
            if not files:
                raise DataError(f"{source}: no image files found", hint="pass an image file or a folder of them")
            out = pd.DataFrame({"file": [str(p) for p in files]})
            pixels, errors = None, []
        if pixels is None:  # files: a batch at a time
            tell = progress or (lambda done, total: None)
            parts = []
            for start in range(0, len(files), IMAGE_BATCH):
                tell(start, len(files))
                batch, found = self.images.read(files[start : start + IMAGE_BATCH])
                parts.append(self.raw_outputs(self.images.transform(batch, source=source), batch_size=IMAGE_BATCH))
                errors += found
            tell(len(files), len(files))
            proba = self.probabilities(np.concatenate(parts))
        else:
            proba = self.probabilities(self.raw_outputs(self.images.transform(pixels, source=source)))
        ok = np.array([e is None for e in errors], dtype=bool)
        proba[~ok] = np.nan
        labels = target.decode(proba.argmax(axis=1))
        out["prediction"] = np.where(ok, labels, np.array(None))  # (None as an array: numpy's stubs take no bare None)
        for j, label in enumerate(target.classes):
            out[f"proba_{label}"] = proba[:, j]
        if not ok.all():
            out["error"] = errors
        return out

    def generate(
        self,
        n: int = 20,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        prompt: str = "",
        seed: int | None = None,
    ) -> list[str]:
        """`n` samples, each continuing `prompt` one character at a time until the end mark.

        Logits are divided by `temperature` (lower: safer, higher: more varied); `top_k`
        keeps only the k most likely characters at each step.
        """
        import torch

        vocab = self.vocabulary
        if vocab is None:
            raise DataError(f"this bundle is a {self.task.type} model; only generation bundles generate")
        problems = []
        if not isinstance(n, int) or n < 1:
            problems.append(f"n must be a whole number >= 1, got {n!r}")
        if not temperature > 0:
            problems.append(f"temperature must be > 0, got {temperature!r}")
        if top_k is not None and top_k < 1:
            problems.append(f"top_k must be >= 1, got {top_k!r}")
        unknown = vocab.unknown(prompt)
        if unknown:
            problems.append(
                f"the prompt holds characters outside the vocabulary: {unknown}; "
                f"the model knows {''.join(vocab.tokens[3:])!r}"
            )
        steps = self.task.lookback
        if len(prompt) >= steps:
            problems.append(f"the prompt has {len(prompt)} characters; the model reads at most {steps - 1}")
        if problems:
            raise DataError("; ".join(problems))
        generator = torch.Generator().manual_seed(seed) if seed is not None else None
        self.module.eval()
        device = next(self.module.parameters()).device
        prefix = [vocab.start, *(vocab.index[c] for c in prompt)]
        ids = torch.tensor([prefix] * n, dtype=torch.long, device=device)  # (n, prefix)
        done = torch.zeros(n, dtype=torch.bool, device=device)
        with torch.no_grad():
            while ids.shape[1] < steps + 1 and not bool(done.all()):
                logits = self.module(ids)[:, -1].double() / temperature  # (n, vocab)
                logits[:, : vocab.end] = -torch.inf  # never <pad> or <s>
                if top_k is not None and top_k < logits.shape[1]:
                    cut = torch.topk(logits, top_k, dim=1).values[:, -1:]
                    logits = logits.masked_fill(logits < cut, -torch.inf)
                probs = torch.softmax(logits, dim=1).cpu()
                nxt = torch.multinomial(probs, 1, generator=generator).to(device)[:, 0]  # (n,)
                nxt = torch.where(done, torch.zeros_like(nxt), nxt)  # finished rows pad
                ids = torch.cat([ids, nxt[:, None]], dim=1)
                done |= nxt == vocab.end
        return [vocab.decode(row[1:].tolist()) for row in ids.cpu()]
