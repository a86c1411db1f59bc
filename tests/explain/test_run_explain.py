"""evaluate.explain: a tabular run explains its own test split, and its report shows the bars."""

import numpy as np
import pandas as pd
import pytest

from layerwise.config.schema import ExperimentConfig, ExplainConfig
from layerwise.errors import ConfigError


def test_the_option_takes_false_true_or_a_mapping():
    base = {"data": {"path": "x.csv", "target": "y"}}
    assert ExperimentConfig.from_dict(base).evaluate.explain is False
    assert ExperimentConfig.from_dict({**base, "evaluate": {"explain": True}}).evaluate.explain is True
    chosen = ExperimentConfig.from_dict({**base, "evaluate": {"explain": {"method": "saliency", "rows": 4}}})
    assert chosen.evaluate.explain == ExplainConfig(method="saliency", rows=4)
    assert ExperimentConfig.from_dict(chosen.to_dict()).evaluate.explain == chosen.evaluate.explain  # round trip
    with pytest.raises(ConfigError, match="evaluate.explain"):
        ExperimentConfig.from_dict({**base, "evaluate": {"explain": {"method": "shap"}}})


def test_a_tabular_run_with_evaluate_explain_writes_importance_into_its_report(cli, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({name: rng.normal(size=400) for name in ["a", "b", "noise"]})
    frame["y"] = 2 * frame["a"] - frame["b"] + 0.1 * rng.normal(size=400)
    data = tmp_path / "signal.csv"
    frame.to_csv(data, index=False)
    config = tmp_path / "signal.yaml"
    assert cli("init", data, "--target", "y", "-o", config)[0] == 0
    run = tmp_path / "run"
    code, _, err = cli(
        "run",
        config,
        "--out",
        run,
        "--quiet",
        "--set",
        "train.epochs=20",
        "--set",
        "evaluate.explain=true",
        "--set",
        "evaluate.bootstrap=50",
    )
    assert code == 0, err
    importance = pd.read_csv(run / "explain" / "importance.csv")
    assert set(importance["method"]) == {"permutation", "ig"}
    assert importance[importance["method"] == "permutation"]["feature"].iloc[0] == "a"
    assert pd.read_csv(run / "explain" / "attributions.csv")["row"].nunique() == 16  # the default rows
    assert "explain: ig on 16 test rows" in (run / "run.log").read_text()
    html = (run / "report.html").read_text()
    section = html[html.index('id="explanations"') :]
    assert 'alt="Global importance"' in section and "16 explained rows" in section
