"""A run's second process (experiment/offload.py): the same results as one process, on real tables and
text; what it carries and refuses; every way it can fail leaves the work to the run; nothing outlives it."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_diabetes

import layerwise
from layerwise.config.schema import ExperimentConfig
from layerwise.experiment.offload import Offload, encode, read_value

pytestmark = pytest.mark.second_process

FAST = {"epochs": 4, "seed": 0, "batch_size": 64, "threads": 1}


@pytest.fixture(scope="module")
def diabetes_csv(tmp_path_factory):
    """The real diabetes table with a category, a yes/no column with gaps, a date, and a leaked copy of the target."""
    frame = load_diabetes(as_frame=True, scaled=False).frame
    rng = np.random.default_rng(0)
    frame["region"] = rng.choice(["north", "south", "east"], len(frame))
    frame["smoker"] = pd.Series(rng.choice(["yes", "no"], len(frame))).mask(rng.random(len(frame)) < 0.1)
    frame["visit"] = pd.date_range("2020-01-01", periods=len(frame), freq="D").strftime("%Y-%m-%d")
    frame["leaked"] = frame["target"] * 2 + 1  # the audit's near-copy
    path = tmp_path_factory.mktemp("diabetes") / "diabetes.csv"
    frame.to_csv(path, index=False)
    return path


def config(path, **evaluate) -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "data": {"path": str(path), "target": "target"},
            "model": {"type": "mlp", "hidden": [16]},
            "train": FAST,
            "evaluate": {"bootstrap": 100, **evaluate},
        }
    )


@pytest.fixture
def started(monkeypatch):
    """Every second process a run starts, to look at after the run."""
    seen: list[Offload] = []
    start = Offload.start.__func__

    def recording(cls, modules):
        found = start(cls, modules)
        seen.append(found)
        return found

    monkeypatch.setattr(Offload, "start", classmethod(recording))
    return seen


def one_process(monkeypatch) -> None:
    monkeypatch.setattr(Offload, "start", classmethod(lambda cls, modules: None))


def sections(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', html)


def test_a_table_run_judges_and_reports_as_one_process_does(diabetes_csv, tmp_path, monkeypatch, started):
    two = layerwise.Experiment(config(diabetes_csv)).run(tmp_path / "two")
    assert len(started) == 1 and started[0] is not None
    log = (tmp_path / "two" / "run.log").read_text()
    assert "a second process prepares the evaluation and the report" in log
    assert "done here" not in log and "drawn here" not in log
    # nothing outlives the run: the process has ended and its folder is gone
    assert started[0].process.poll() is not None and not started[0].folder.exists()

    one_process(monkeypatch)
    one = layerwise.Experiment(config(diabetes_csv)).run(tmp_path / "one")
    for key in ("reference", "leakage", "test", "baseline", "verdict"):
        assert two.metrics[key] == one.metrics[key], key
    assert two.metrics["reference"]["name"].startswith("gradient-boosted trees")
    assert any(w["column"] == "leaked" for w in two.metrics["leakage"])  # the audit ran, there, on the same rows
    saved = json.loads((tmp_path / "two" / "metrics.json").read_text())
    assert saved["reference"] == json.loads((tmp_path / "one" / "metrics.json").read_text())["reference"]
    pages = [(tmp_path / name / "report.html").read_text() for name in ("two", "one")]
    assert sections(pages[0]) == sections(pages[1]) and "model" in sections(pages[0])
    # the layers table: computed by the run where the model is built, the same as the report builds it
    model = [re.search(r'<section id="model">.*?</section>', page, re.S).group(0) for page in pages]
    assert model[0] == model[1] and "Linear" in model[0]


def test_a_text_run_fits_its_tfidf_reference_there_with_the_same_outputs(tmp_path, monkeypatch, started):
    rng = np.random.default_rng(0)
    good, bad = ["great", "lovely", "superb"], ["awful", "broken", "poor"]
    neutral = ["the", "box", "came", "with", "a", "manual", "and", "cable"]
    labels = rng.choice(["pos", "neg"], size=240)
    texts = [
        " ".join([*rng.choice(neutral, 4), str(rng.choice(good if y == "pos" else bad)), *rng.choice(neutral, 2)])
        for y in labels
    ]
    frame = pd.DataFrame({"review": texts, "stars": rng.normal(3, 1, 240).round(1), "y": labels})
    frame.loc[5, "review"] = None  # a missing text
    cfg = {
        "data": {"target": "y"},
        "model": {"hidden": [8], "embedding": 8},
        "train": FAST,
        "evaluate": {"report": False, "bootstrap": 50},
    }
    two = layerwise.Experiment(cfg, data=frame).run()
    assert started and started[0] is not None  # no run folder, no report: still the reference and the audit
    one_process(monkeypatch)
    one = layerwise.Experiment(cfg, data=frame).run()
    assert two.metrics["reference"]["name"] == "TF-IDF + logistic regression"
    assert two.metrics["reference"] == one.metrics["reference"]
    assert two.metrics["leakage"] == one.metrics["leakage"]


def test_a_process_that_dies_leaves_every_job_to_the_run(diabetes_csv, tmp_path, monkeypatch, started):
    real_start = Offload.start.__func__
    # a module that does not exist: the second process fails at its first import and ends
    monkeypatch.setattr(Offload, "start", classmethod(lambda cls, modules: real_start(cls, ["layerwise.no_such"])))
    result = layerwise.Experiment(config(diabetes_csv)).run(tmp_path / "run")
    log = (tmp_path / "run" / "run.log").read_text()
    assert "could not fit gradient-boosted trees" in log and "ModuleNotFoundError" in log
    assert "could not run the leakage audit" in log and "could not draw it" in log
    assert result.metrics["reference"]["name"].startswith("gradient-boosted trees")  # fitted here
    assert any(w["column"] == "leaked" for w in result.metrics["leakage"])
    assert (tmp_path / "run" / "report.html").exists()
    assert "could not draw it" in (tmp_path / "run" / "run.log").read_text()  # the published log says so too


def test_a_run_that_fails_in_training_stops_the_process_and_removes_its_folder(
    diabetes_csv, tmp_path, monkeypatch, started
):
    from layerwise.experiment import steps

    def broken(*args, **kwargs):
        raise RuntimeError("training broke")

    monkeypatch.setattr(steps, "fit", broken)
    with pytest.raises(RuntimeError, match="training broke"):
        layerwise.Experiment(config(diabetes_csv)).run(tmp_path / "run")
    assert started[0].process.poll() is not None and not started[0].folder.exists()


def test_a_job_that_fails_there_is_done_here_and_the_process_serves_the_next(tmp_path):
    from layerwise.training.runlog import RunLog

    log = RunLog(quiet=True)
    with Offload.start(["layerwise.evaluation.classical"]) as offload:
        assert offload is not None
        rng = np.random.default_rng(0)
        x, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
        from layerwise.evaluation.classical import ReferenceFit

        bad = ReferenceFit("no_such_fit", "a reference", (), {})
        with pytest.raises(KeyError):  # done here, it fails as it would have without a second process
            offload.reference(bad, bad.run, log)()
        assert "could not fit a reference (KeyError" in "\n".join(log.lines)
        good = ReferenceFit("trees", "trees", ("classification", x, y, x[:10], np.zeros(3, bool)), {"classes": 2})
        there = offload.reference(good, good.run, log)()
        assert np.array_equal(there["reference"]["out"], good.run()["reference"]["out"])
        assert offload.failed is None


def test_the_carried_data_comes_back_whole_and_what_cannot_be_carried_is_refused(tmp_path):
    frame = pd.DataFrame(
        {
            "n": [1.5, np.nan, 3.0],
            "i": [1, 2, 3],
            "label": ["a", None, "c"],
            "flag": [True, False, True],
            "when": pd.to_datetime(["2020-01-01", None, "2021-06-30"]),
        },
        index=[7, 3, 9],  # a split's rows keep the table's index
    )
    value = {"frame": frame, "arrays": (np.arange(4), np.eye(2, dtype=np.float32)), "texts": ["x", ""], "k": None}
    (tmp_path / "a").mkdir()
    back = read_value(tmp_path / "a", json.loads(json.dumps(encode(value, tmp_path / "a", "in"))))
    pd.testing.assert_frame_equal(back["frame"], frame)
    assert isinstance(back["arrays"], tuple) and back["arrays"][1].dtype == np.float32
    assert back["texts"] == ["x", ""] and back["k"] is None
    (tmp_path / "b").mkdir()
    with pytest.raises(ValueError):  # an object array would need a pickle
        encode(np.array([{"a": 1}], dtype=object), tmp_path / "b", "in")
    with pytest.raises(TypeError):
        encode(pd.DataFrame({0: [1.0]}), tmp_path / "b", "in")
    with pytest.raises(TypeError):
        encode({"x": object()}, tmp_path / "b", "in")


def test_no_second_process_where_it_cannot_help(diabetes_csv, monkeypatch, started):
    from layerwise.experiment import steps
    from layerwise.tasks import get

    cfg = config(diabetes_csv, report=False, reference="none", leakage=False)
    assert steps.second_process(cfg, get("rows"), None) is None  # no work for it
    monkeypatch.setattr(steps, "CpuLoad", lambda: SimpleNamespace(capacity=1.5))  # a quota of 1.5 CPUs
    assert steps.second_process(config(diabetes_csv), get("rows"), "out") is None
    assert started == []


def test_a_run_refused_after_the_process_started_leaves_nothing_behind(diabetes_csv, tmp_path, started):
    cfg = config(diabetes_csv)
    cfg.data.target = "no_such_column"  # refused once the data is read, after the second process started
    with pytest.raises(layerwise.LayerwiseError, match="no_such_column"):
        layerwise.Experiment(cfg).run(tmp_path / "run")
    assert started and started[0].process.poll() is not None and not started[0].folder.exists()


def test_a_process_already_ended_when_handed_a_job_leaves_it_to_the_run_and_says_why(tmp_path):
    from layerwise.evaluation.classical import ReferenceFit
    from layerwise.training.runlog import RunLog

    log = RunLog(quiet=True)
    offload = Offload.start(["layerwise.no_such"])
    assert offload is not None
    offload.process.wait(timeout=120)  # it fails at its first import and ends
    x, y = np.arange(40.0).reshape(20, 2), np.arange(20) % 2
    fit = ReferenceFit("trees", "trees", ("classification", x, y, x[:5], np.zeros(2, bool)), {"classes": 2})
    got = offload.reference(fit, fit.run, log)()
    assert got["reference"]["out"].shape == (5, 2)  # fitted here
    assert "ModuleNotFoundError" in "\n".join(log.lines)  # the second process's own error, not a broken pipe
    assert offload.report(tmp_path, log) is False
    offload.close()  # no error from the pipe to a process that is gone
    assert not offload.folder.exists()


def test_the_process_removes_the_data_it_was_handed_when_the_run_is_gone():
    offload = Offload.start([])
    assert offload is not None
    assert offload.process.stdin is not None
    offload.process.stdin.close()  # as when the run is killed: its end of the pipe closes
    offload.process.wait(timeout=120)
    assert not offload.folder.exists()
    offload.close()


def test_a_column_of_mixed_values_is_audited_here_with_the_same_warnings(diabetes_csv, monkeypatch):
    frame = pd.read_csv(diabetes_csv)
    # category labels of several kinds: Arrow would type train's and test's column each its own way
    frame["code"] = pd.Series(["a", "b", 3, 4.5] * (len(frame) // 4) + ["a"] * (len(frame) % 4), dtype=object)
    cfg = {"data": {"target": "target"}, "model": {"type": "mlp", "hidden": [8]}, "train": FAST}
    cfg["evaluate"] = {"report": False, "reference": "none", "bootstrap": 50}
    two = layerwise.Experiment(cfg, data=frame).run()
    assert any("the leakage audit runs here (column 'code'" in line for line in two.log)
    one_process(monkeypatch)
    assert layerwise.Experiment(cfg, data=frame).run().metrics["leakage"] == two.metrics["leakage"]
