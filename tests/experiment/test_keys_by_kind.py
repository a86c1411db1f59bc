"""Every train.* and evaluate.* key, for every kind of problem: honoured (it visibly takes effect) or
refused with a ConfigError naming it before training. The keys come from the schema, so a new key
fails `test_every_key_is_classified` until it is added to TRAIN or EVALUATE below."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from pydantic import BaseModel

import layerwise
from layerwise import tasks
from layerwise.config.schema import EvaluateConfig, ExperimentConfig, TrainConfig
from layerwise.errors import ConfigError
from layerwise.evaluation import HIGHER_IS_BETTER
from layerwise.experiment import steps
from layerwise.training import Checkpoints
from layerwise.training.callbacks import EarlyStopping
from layerwise.training.runlog import RunLog

# torch.compile's own internals warn about torch.jit.script_method (as tests/training/test_compile.py says)
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")

NAMES = Path(__file__).resolve().parents[2] / "examples" / "data" / "first-names.txt"
KINDS = ["rows-classification", "rows-regression", "forecast", "images", "generation", "text"]
BASE = {
    "train": {"epochs": 1, "patience": None, "seed": 0, "batch_size": 32, "threads": 1},
    "evaluate": {"bootstrap": 20, "report": False},
}


def _toy(kind: str, folder: Path) -> tuple[dict, Any]:
    """(config sections, data=) for a kind: test splits of at least 20 rows, so no gate is degenerate."""
    rng = np.random.default_rng(0)
    if kind.startswith("rows"):
        a, b = rng.normal(3.0, 2.0, 200), rng.normal(-1.0, 0.5, 200)
        frame = pd.DataFrame({"a": a, "b": b, "y": 2 * a + b + rng.normal(0, 0.1, 200)})
        if kind == "rows-classification":
            frame["y"] = np.where(a + b > 2.0, "yes", "no")
        return {"data": {"target": "y"}, "model": {"hidden": [8]}}, frame
    if kind == "forecast":
        t = np.arange(240)
        frame = pd.DataFrame({"value": 10 + 0.05 * t + np.sin(t / 4.0)})
        return (
            {
                "data": {"target": "value", "window": {"lookback": 6}},
                "task": {"type": "forecast"},
                "model": {"hidden": [8]},
            },
            frame,
        )
    if kind == "text":
        return {"data": {"target": "y", "columns": {"review": "text"}}, "model": {"hidden": [8], "embedding": 8}}, (
            text_toy(200)
        )
    if kind == "images":
        labels = np.array(["bar", "dot"] * 70)
        x = rng.integers(0, 60, size=(140, 1, 8, 8)).astype(np.uint8)  # (n, channels, height, width)
        x[labels == "bar", 0, :, 3:5] = 255
        x[labels == "dot", 0, 3:5, 3:5] = 255
        return {"data": {"image": {}}, "model": {"type": "cnn2d", "channels": [4]}}, (x, labels)
    path = folder / "names.txt"
    if not path.exists():
        path.write_text("\n".join(NAMES.read_text(encoding="utf-8").splitlines()[:300]) + "\n", encoding="utf-8")
    return (
        {
            "data": {"path": str(path)},
            "task": {"type": "generation"},
            "model": {"type": "lstm", "hidden": [16], "embedding": 8},
        },
        None,
    )


def text_toy(n: int, seed: int = 0) -> pd.DataFrame:
    """A review column whose words say the label (good or bad words among neutral ones), and a number."""
    rng = np.random.default_rng(seed)
    good, bad = ["great", "lovely", "superb", "fine"], ["awful", "broken", "poor", "late"]
    neutral = ["the", "box", "came", "with", "a", "manual", "and", "cable", "today"]
    labels = rng.choice(["pos", "neg"], size=n)
    reviews = [
        " ".join([*rng.choice(neutral, 4), rng.choice(good if y == "pos" else bad), *rng.choice(neutral, 2)])
        for y in labels
    ]
    return pd.DataFrame({"review": reviews, "stars": rng.normal(3, 1, n).round(1), "y": labels})


def _merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _setting(key: str, value: Any) -> dict:
    """{"train": {"schedule": {"type": "step"}}} from ("train.schedule.type", "step")."""
    *path, last = key.split(".")
    found: dict = {last: value}
    for part in reversed(path):
        found = {part: found}
    return found


class Case:
    """One (kind, key): its toy, the config with the key set, and what a run of it makes."""

    def __init__(self, kind: str, key: str, folder: Path, settings: dict):
        self.kind, self.key, self.folder = kind, key, folder
        toy, self.data = _toy(kind, folder.parent)
        self.cfg = ExperimentConfig.from_dict(_merge(_merge(toy, BASE), settings))

    def trainer(self):
        """What `run` builds up to training, not fitting: (trainer, head, prepared, task)."""
        cfg, log = self.cfg, RunLog(quiet=True)
        task = tasks.resolve(cfg, self.data)
        steps.refuse(cfg, task)
        source, name = steps.read(cfg, task, self.data, log)
        prepared = steps.prepare(cfg, task, source, steps.check(cfg, task, source, name), name, log)
        predictor, head, transferred = steps.build_model(cfg, task, prepared, log)
        trainer = steps.run_trainer(cfg, task, prepared, predictor, head.loss, log, transferred)
        return trainer, head, prepared, task

    shared: Any = None  # the kind's shared run (SHARED keys), read instead of running again

    def run(self):
        if self.shared is not None:
            self.folder = self.shared.out.parent
            return self.shared
        return layerwise.Experiment(self.cfg, data=self.data).run(self.folder / "run")


def _groups(trainer) -> dict:
    return trainer.optimizer.param_groups[0]


CLASSES = ("rows-classification", "images", "text")
VALUES = ("rows-regression", "forecast")

# key -> (settings beyond the toy's, given the kind; the check of what it did, given the Case)
Check = Callable[[Case], None]


def _autocast_on(c: Case) -> None:
    trainer = c.trainer()[0]
    with trainer.autocast():
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


def _initial_weights(c: Case) -> torch.Tensor:
    return next(iter(c.trainer()[0].module.parameters())).detach().clone()


def _seed(c: Case) -> None:
    other = Case(c.kind, c.key, c.folder, {"train": {"seed": 0}})
    assert not torch.equal(_initial_weights(c), _initial_weights(other))


def _history_lr(c: Case) -> None:
    lrs = [row["lr"] for row in c.run().history]
    assert len(lrs) == 3 and lrs[2] < lrs[0]


def _checkpoints(c: Case) -> list[tuple[int, int]]:
    """(epochs done, steps done) of each checkpoint the run left in OUT/checkpoints."""
    c.run()
    return Checkpoints(c.folder / "run" / "checkpoints").names()


def _keep_one(c: Case) -> None:
    assert _checkpoints(c) == [(3, 0)]  # 3 epochs, one a checkpoint, only the newest kept


def _every_two(c: Case) -> None:
    assert _checkpoints(c) == [(2, 0)]  # 2 epochs, a checkpoint every 2: none after epoch 1


def _tensorboard(c: Case) -> None:
    c.run()
    assert any(p.name.startswith("events.") for p in (c.folder / "run" / "tensorboard").iterdir())


def _class_weights(c: Case) -> None:
    trainer, _, prepared, task = c.trainer()
    weights = task.class_weights(c.cfg, prepared)
    assert weights is not None, f"train.class_weights silently ignored for {c.kind}: neither used nor refused"
    assert len(weights) == prepared.task.n_classes
    found = getattr(trainer.loss_fn, "weight", None)
    found = getattr(trainer.loss_fn, "class_weights", None) if found is None else found
    assert found is not None and found.reshape(-1).tolist() == pytest.approx(weights)


def _explained(c: Case) -> None:
    result = c.run()
    if c.kind == "generation":  # documented: a generation run is explained on prompts, and says so
        assert any("explain: a generation run is explained on prompts" in line for line in result.log)
    else:
        assert (c.folder / "run" / "explain").is_dir()


def _metrics(c: Case) -> dict:
    return c.run().metrics


def _champion(c: Case) -> None:
    checks = _metrics(c)["checks"]
    assert any(check["gate"] == "champion" or check["gate"].startswith("compare") for check in checks), checks


def _reference_left_out(c: Case) -> None:
    m = _metrics(c)
    assert "reference" not in m and any("evaluate.reference_seconds" in n for n in m["notes"]), m["notes"]


def _failed(gate: str) -> Check:
    def check(c: Case) -> None:
        metrics = _metrics(c)
        assert metrics["verdict"] == "DO NOT DEPLOY"
        assert any(ch["gate"] == gate and not ch["passed"] for ch in metrics["checks"]), metrics["checks"]

    return check


def _leakage_off(c: Case, monkeypatch) -> None:
    task = tasks.resolve(c.cfg, c.data)
    monkeypatch.setattr(type(task), "audit", lambda self, prepared: [{"detail": "spied warning"}])
    assert _metrics(c)["leakage"] == []
    on = Case(c.kind, c.key, c.folder / "on", {"evaluate": {"leakage": True}})
    assert on.run().metrics["leakage"] == [{"detail": "spied warning"}]


# Per kind where the value differs: a metric the kind has, a loss it takes.
METRIC = {
    "rows-classification": "f1_macro",
    "text": "f1_macro",
    "images": "f1_macro",
    "rows-regression": "rmse",
    "forecast": "rmse",
    "generation": "rmse",
}
LOSS = {
    "rows-classification": "cross_entropy",
    "text": "cross_entropy",
    "images": "bce",
    "rows-regression": "huber",
    "forecast": "mae",
    "generation": "mse",
}
BOUND = {
    "rows-classification": "accuracy",
    "text": "accuracy",
    "images": "accuracy",
    "rows-regression": "r2",
    "forecast": "r2",
    "generation": "perplexity",
}

TRAIN: dict[str, tuple[Callable[[str], dict], Check]] = {
    "optimizer": (lambda k: {"optimizer": "sgd"}, lambda c: isinstance(c.trainer()[0].optimizer, torch.optim.SGD)),
    "lr": (lambda k: {"lr": 0.0123}, lambda c: _groups(c.trainer()[0])["lr"] == 0.0123),
    "momentum": (lambda k: {"optimizer": "sgd", "momentum": 0.5}, lambda c: _groups(c.trainer()[0])["momentum"] == 0.5),
    "nesterov": (
        lambda k: {"optimizer": "sgd", "nesterov": True},
        lambda c: _groups(c.trainer()[0])["nesterov"] is True,
    ),
    "batch_size": (lambda k: {"batch_size": 7}, lambda c: c.trainer()[0].batch_size == 7),
    "epochs": (lambda k: {"epochs": 3}, lambda c: len(c.run().history) == 3),
    "loss": (lambda k: {"loss": LOSS[k]}, lambda c: c.trainer()[1].loss == LOSS[c.kind]),
    "class_weights": (lambda k: {"class_weights": "balanced"}, _class_weights),
    "label_smoothing": (lambda k: {"label_smoothing": 0.1}, lambda c: c.trainer()[0].label_smoothing == 0.1),
    "weight_decay": (lambda k: {"weight_decay": 0.01}, lambda c: _groups(c.trainer()[0])["weight_decay"] == 0.01),
    "l1": (lambda k: {"l1": 0.001}, lambda c: c.trainer()[0].l1 == 0.001),
    "clip_grad": (lambda k: {"clip_grad": 0.5}, lambda c: c.trainer()[0].clip_grad == 0.5),
    "patience": (
        lambda k: {"patience": 1},
        lambda c: [cb.patience for cb in c.trainer()[0].callbacks if isinstance(cb, EarlyStopping)] == [1],
    ),
    "stop_on": (
        lambda k: {"stop_on": "metric", "metric": METRIC[k]},
        lambda c: (lambda t: (t.stop_on, t.maximize))(c.trainer()[0]) == ("metric", HIGHER_IS_BETTER[METRIC[c.kind]]),
    ),
    "metric": (
        lambda k: {"metric": METRIC[k]},
        lambda c: (lambda t: t[3].watched(c.cfg, t[2]) == METRIC[c.kind] and t[0].metric is not None)(c.trainer()),
    ),
    "seed": (lambda k: {"seed": 1}, _seed),
    "device": (lambda k: {"device": "cpu"}, lambda c: c.trainer()[0].device == torch.device("cpu")),
    "threads": (lambda k: {"threads": 2}, lambda c: c.trainer()[0].threads == 2),
    "checkpoint_every": (lambda k: {"epochs": 2, "checkpoint_every": 2, "keep": 5}, _every_two),
    "keep": (lambda k: {"epochs": 3, "keep": 1}, _keep_one),
    "on_nan": (lambda k: {"on_nan": "skip_batch"}, lambda c: c.trainer()[0].on_nan == "skip_batch"),
    "schedule.type": (lambda k: {"epochs": 3, "schedule": {"type": "step", "step_size": 1}}, _history_lr),
    "schedule.step_size": (
        lambda k: {"epochs": 3, "schedule": {"type": "step", "step_size": 2}},
        lambda c: c.trainer()[0].schedule["step_size"] == 2,
    ),
    "schedule.gamma": (
        lambda k: {"epochs": 3, "schedule": {"type": "step", "step_size": 1, "gamma": 0.5}},
        lambda c: [r["lr"] for r in c.run().history] == pytest.approx([0.001, 0.0005, 0.00025]),
    ),
    "schedule.warmup": (
        lambda k: {"schedule": {"type": "cosine", "warmup": 2}},
        lambda c: c.trainer()[0].schedule["warmup"] == 2,
    ),
    "schedule.patience": (
        lambda k: {"schedule": {"type": "plateau", "patience": 2}},
        lambda c: c.trainer()[0].schedule["patience"] == 2,
    ),
    "schedule.flat": (
        lambda k: {"schedule": {"type": "flat_cosine", "flat": 0.3}},
        lambda c: c.trainer()[0].schedule["flat"] == 0.3,
    ),
    "schedule.min_lr": (
        lambda k: {"schedule": {"type": "cosine", "min_lr": 1e-5}},
        lambda c: c.trainer()[0].schedule["min_lr"] == 1e-5,
    ),
    "accumulate": (lambda k: {"accumulate": 3}, lambda c: c.trainer()[0].accumulate == 3),
    "precision": (lambda k: {"precision": "bf16", "device": "cpu"}, _autocast_on),
    "compile": (lambda k: {"compile": True}, lambda c: (lambda t: t.net is not t.module)(c.trainer()[0])),
    "channels_last": (lambda k: {"channels_last": True}, lambda c: c.trainer()[0].channels_last),
    "tensorboard": (lambda k: {"tensorboard": True}, _tensorboard),
}

EVALUATE: dict[str, tuple[Callable[[str], dict], Check]] = {
    "metric": (lambda k: {"metric": METRIC[k]}, lambda c: _metrics(c)["primary_metric"] == METRIC[c.kind]),
    "baseline": (
        lambda k: {"baseline": "seasonal_naive", "season": 3},
        lambda c: "season" in _metrics(c)["baseline_name"],
    ),
    "season": (
        lambda k: {"season": 3},
        lambda c: any("season" in b["name"] for b in _metrics(c).get("other_baselines", [])),
    ),
    "gates.beat_baseline": (
        lambda k: {"gates": {"beat_baseline": False}},
        lambda c: all(ch["gate"] != "beat_baseline" for ch in _metrics(c)["checks"]),
    ),
    "gates.min": (lambda k: {"gates": {"min": {BOUND[k]: 1e9 if k == "generation" else 0.99999}}}, None),
    "gates.max": (
        lambda k: {
            "gates": {"max": {"cross_entropy" if k == "generation" else "rmse" if k in VALUES else "log_loss": 0.0}}
        },
        None,
    ),
    "gates.compare_to": (lambda k: {"gates": {"compare_to": "CHAMPION"}}, _champion),
    "gates.beat_reference": (
        lambda k: {"gates": {"beat_reference": True}},
        lambda c: any(ch["gate"] == "beat_reference" for ch in _metrics(c)["checks"]),
    ),
    "reference": (lambda k: {"reference": "none"}, lambda c: "reference" not in _metrics(c)),
    "reference_seconds": (lambda k: {"reference_seconds": 1e-9}, _reference_left_out),
    "bootstrap": (lambda k: {"bootstrap": 0}, lambda c: _metrics(c)["ci"].get("samples", 0) == 0),
    "level": (lambda k: {"level": 0.8}, lambda c: _metrics(c)["ci"]["level"] == 0.8),
    "data_curve": (lambda k: {"data_curve": True}, lambda c: _metrics(c)["data_curve"] is not None),
    "leakage": (lambda k: {"leakage": False}, None),
    "report": (lambda k: {"report": True}, lambda c: c.run() and (c.folder / "run" / "report.html").is_file()),
    "explain": (lambda k: {"explain": {"method": "saliency", "rows": 2}}, _explained),
}

# The kinds without a classical reference (tables have gradient-boosted trees, text TF-IDF).
NO_REFERENCE = ("forecast", "images", "generation")
# (kind, key) refused with a ConfigError naming the key before training; every other pair is honoured.
REFUSED: set[tuple[str, str]] = {
    *((kind, "train.class_weights") for kind in ("rows-regression", "forecast", "generation")),
    *((kind, f"evaluate.{key}") for kind in KINDS if kind != "forecast" for key in ("baseline", "season")),
    *((kind, "evaluate.gates.compare_to") for kind in ("images", "generation")),
    *(("generation", key) for key in ("train.loss", "train.metric", "evaluate.metric")),
    *((kind, "train.label_smoothing") for kind in ("rows-regression", "forecast", "generation")),
    ("generation", "train.stop_on"),
    # channels-last lays out images for 2-D convolutions, which only the image models have
    *((kind, "train.channels_last") for kind in KINDS if kind != "images"),
    *((kind, f"evaluate.{key}") for kind in NO_REFERENCE for key in ("gates.beat_reference", "reference_seconds")),
}
# evaluate.gates.min/max naming a metric the kind lacks are refused before training (test below).
# Keys honoured through one run per kind with all of them set (SHARED_RUN), not a run each.
SHARED = (
    "train.epochs",
    "train.schedule.type",
    "train.schedule.gamma",
    "train.keep",
    "train.tensorboard",
    "evaluate.level",
    "evaluate.report",
    "evaluate.data_curve",
    "evaluate.gates.beat_baseline",
)
SHARED_RUN = {
    "train": {"epochs": 3, "schedule": {"type": "step", "step_size": 1, "gamma": 0.5}, "keep": 1, "tensorboard": True},
    "evaluate": {"level": 0.8, "report": True, "data_curve": True, "gates": {"beat_baseline": False}},
}


def _fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Every leaf key of a section: nested sections (schedule, gates) by their own fields."""
    found = []
    for name, info in model.model_fields.items():
        nested = info.annotation
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            found += _fields(nested, f"{prefix}{name}.")
        else:
            found.append(prefix + name)
    return found


def test_every_key_is_classified():
    assert sorted(TRAIN) == sorted(_fields(TrainConfig))
    assert sorted(EVALUATE) == sorted(_fields(EvaluateConfig))


CASES = [(kind, f"train.{key}") for kind in KINDS for key in TRAIN] + [
    (kind, f"evaluate.{key}") for kind in KINDS for key in EVALUATE
]


@pytest.fixture(scope="module")
def champions(tmp_path_factory) -> dict[str, Path]:
    """A bundle per kind, to compare a run against (evaluate.gates.compare_to)."""
    found = {}
    for kind in KINDS:
        folder = tmp_path_factory.mktemp(f"champion-{kind}")
        settings, data = _toy(kind, folder)
        layerwise.Experiment(_merge(settings, BASE), data=data).run(folder / "run")
        found[kind] = folder / "run" / "bundle"
    return found


@pytest.fixture(scope="module")
def shared(tmp_path_factory) -> dict[str, Any]:
    """Per kind, one run with every SHARED key set; each SHARED case reads it."""
    found: dict[str, Any] = {}

    def run(kind: str):
        if kind not in found:
            folder = tmp_path_factory.mktemp(f"shared-{kind}")
            settings, data = _toy(kind, folder)
            found[kind] = layerwise.Experiment(_merge(_merge(settings, BASE), SHARED_RUN), data=data).run(
                folder / "run"
            )
        return found[kind]

    return run


@pytest.mark.parametrize(("kind", "key"), CASES)
def test_a_key_is_honoured_or_refused(kind, key, tmp_path, monkeypatch, request, shared):
    section, name = key.split(".", 1)
    settings_of, check = (TRAIN if section == "train" else EVALUATE)[name]
    settings = {section: settings_of(kind)}
    if name == "gates.compare_to":
        settings["evaluate"]["gates"]["compare_to"] = str(request.getfixturevalue("champions")[kind])
    try:
        case = Case(kind, key, tmp_path / "case", settings)
        if key in SHARED and (kind, key) not in REFUSED:
            case.shared = shared(kind)
        if name == "leakage":
            _leakage_off(case, monkeypatch)
        elif name in ("gates.min", "gates.max"):
            _failed(f"{name.split('.')[1]}.{next(iter(settings['evaluate']['gates'][name.split('.')[1]]))}")(case)
        else:
            outcome = check(case)
            # a check returns True, or returns None after asserting inside; anything else is a slip
            assert outcome is True or outcome is None, f"{key} did not take effect for {kind} ({outcome!r})"
    except ConfigError as err:
        assert (kind, key) in REFUSED, f"{key} refused for {kind}: {err}"
        assert key in str(err) or key.rsplit(".", 1)[0] in str(err), str(err)
        assert not (tmp_path / "case" / "run" / "checkpoints").exists(), "refused after training began"
        return
    assert (kind, key) not in REFUSED, f"{key} honoured for {kind}, but classified as refused"


@pytest.mark.parametrize(
    "kind, bound", [("generation", "r2"), ("rows-regression", "accuracy"), ("rows-classification", "mae")]
)
def test_a_gate_on_a_metric_the_kind_lacks_is_refused_before_training(kind, bound, tmp_path):
    case = Case(kind, "evaluate.gates.min", tmp_path / "case", {"evaluate": {"gates": {"min": {bound: 0.5}}}})
    with pytest.raises(ConfigError, match=rf"evaluate\.gates\.min\.{bound}"):
        case.run()
    assert not (tmp_path / "case" / "run" / "checkpoints").exists()
