"""explain() end to end: the acceptance cases of the issue, the CLI, and the bad inputs."""

import json

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

import layerwise
from layerwise.explain import Explanation

FAST = ["--set", "train.epochs=15", "--set", "train.patience=5"]


def test_both_global_methods_rank_the_signal_features_above_every_noise_feature():
    rng = np.random.default_rng(0)
    n = 1500
    frame = pd.DataFrame({name: rng.normal(size=n) for name in ["a", "b", "noise1", "noise2", "noise3"]})
    frame["colour"] = rng.choice(["red", "green", "blue"], size=n)  # a one-hot noise feature
    frame["y"] = 3 * frame["a"] - 2 * frame["b"] + 0.1 * rng.normal(size=n)
    result = layerwise.Experiment(
        {"data": {"target": "y"}, "task": {"type": "regression"}, "train": {"epochs": 40, "patience": 5}}, data=frame
    ).run()
    e = result.explain(rows="all", repeats=5)
    assert set(e.names) == {"a", "b", "noise1", "noise2", "noise3", "colour"}  # one-hot summed back
    for method in ("permutation", "ig"):
        ranked = e.importance[e.importance["method"] == method]["feature"].tolist()
        assert set(ranked[:2]) == {"a", "b"}, (method, ranked)
    assert e.checks[0]["check"] == "completeness" and e.checks[0]["passed"]
    assert e.checks[1]["check"] == "randomization" and e.checks[1]["passed"]
    assert layerwise.explain(result, rows="0:5", method="saliency", checks=False).attributions.shape == (5, 6)


def test_breast_cancer_from_the_cli_writes_csvs_plots_and_report(cli, tmp_path):
    data = tmp_path / "cancer.csv"
    load_breast_cancer(as_frame=True).frame.to_csv(data, index=False)
    config = tmp_path / "cancer.yaml"
    assert cli("init", data, "--target", "target", "-o", config)[0] == 0
    run = tmp_path / "run"
    assert cli("run", config, "--out", run, "--quiet", *FAST)[0] == 0
    code, out, err = cli("explain", run / "bundle", "--rows", "0:40")
    assert code == 0, err
    folder = run / "explain"
    importance = pd.read_csv(folder / "importance.csv")
    assert list(importance.columns) == ["feature", "importance", "ci_low", "ci_high", "method"]
    assert set(importance["method"]) == {"permutation", "ig"}
    ig = importance[importance["method"] == "ig"]["importance"].to_numpy()
    assert (np.diff(ig) <= 0).all()  # most important first
    assert (importance["ci_low"] <= importance["importance"] + 1e-12).all()
    attributions = pd.read_csv(folder / "attributions.csv")
    assert attributions["row"].nunique() == 40 and attributions["feature"].nunique() == 30
    meta = json.loads((folder / "explain.json").read_text())
    complete = next(c for c in meta["checks"] if c["check"] == "completeness")
    assert complete["relative_delta"] < 0.01, complete  # the 1% at default steps
    assert any(n.endswith(" rows, 10 shuffles per feature") for n in meta["notes"]), meta["notes"]
    for png in ("importance.png", "row-0.png"):
        assert (folder / png).read_bytes()[:4] == b"\x89PNG"
    assert "completeness: pass" in out
    assert 'id="explanations"' in (run / "report.html").read_text()  # report rewritten with the section

    # the same bundle on a DATA file, without the target: local only, said plainly
    rows = pd.read_csv(data).drop(columns=["target"]).head(10)
    rows.to_csv(tmp_path / "rows.csv", index=False)
    code, _, err = cli("explain", run / "bundle", tmp_path / "rows.csv", "--method", "ablation", "-o", tmp_path / "x")
    assert code == 0, err and "skipped" in err
    assert set(pd.read_csv(tmp_path / "x" / "importance.csv")["method"]) == {"ablation"}

    # bad input: the codes and messages a user sees
    code, _, err = cli("explain", run / "bundle", "--method", "integrated")
    assert code == 2 and "unknown method" in err
    code, _, err = cli("explain", run / "bundle", tmp_path / "rows.csv", "--method", "permutation")
    assert code == 2 and "needs the target column 'target'" in err
    pd.read_csv(data).drop(columns=["mean radius"]).to_csv(tmp_path / "short.csv", index=False)
    code, _, err = cli("explain", run / "bundle", tmp_path / "short.csv")
    assert code == 3 and "mean radius" in err
    code, _, err = cli("explain", run / "bundle", "--rows", "5:x")
    assert code == 2 and "--rows" in err


def test_btc_forecast_explains_time_steps_and_features(cli, btc_slice, tmp_path):
    config = tmp_path / "btc.yaml"
    config.write_text(
        f"data: {{path: {btc_slice}, target: Close, time: Date, features: [Close, High, Low, Volume],\n"
        "       window: {lookback: 10}, transform: log_return}\ntask: {type: forecast}\n"
        "train: {epochs: 10, seed: 0}\n"
    )
    run = tmp_path / "run"
    assert cli("run", config, "--out", run, "--quiet")[0] == 0
    code, out, err = cli("explain", run / "bundle")
    assert code == 0, err
    e = Explanation.read(run / "explain")
    assert e.kind == "series" and e.attributions.shape[1:] == (10, 4)
    assert any(n.endswith(" windows, 10 shuffles per feature") for n in e.notes), e.notes  # a forecast counts windows
    frame = pd.read_csv(run / "explain" / "attributions.csv")
    assert list(frame.columns) == ["row", "step", "feature", "attribution"] and frame["step"].max() == 0
    assert set(pd.read_csv(run / "explain" / "importance.csv")["feature"]) == {"Close", "High", "Low", "Volume"}
    assert (run / "explain" / "steps.png").is_file()
    assert e.checks[0]["relative_delta"] < 0.01, e.checks[0]
