"""`layerwise init`: the header says whether the task was the user's choice or a guess, and from what."""

from __future__ import annotations

from sklearn.datasets import load_breast_cancer, load_diabetes


def _csv(tmp_path, loader, target, name):
    frame = loader(as_frame=True).frame.rename(columns={"target": target})
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def test_inferred_task_says_it_was_inferred_and_from_what(cli, tmp_path):
    data = _csv(tmp_path, load_breast_cancer, "diagnosis", "cancer")
    config = tmp_path / "x.yaml"
    code, _, err = cli("init", data, "--target", "diagnosis", "-o", config)
    assert code == 0, err
    line = config.read_text().splitlines()[1]
    assert line.startswith("# Task: classification (inferred: target 'diagnosis' looks binary, 2 distinct values")
    assert "you chose" not in line and "--task" in line  # how to override the guess


def test_continuous_target_is_inferred_as_regression(cli, tmp_path):
    data = _csv(tmp_path, load_diabetes, "progression", "diabetes")
    config = tmp_path / "x.yaml"
    assert cli("init", data, "--target", "progression", "-o", config)[0] == 0
    line = config.read_text().splitlines()[1]
    assert line.startswith("# Task: regression (inferred: target 'progression' looks continuous")


def test_task_given_on_the_command_line_says_so(cli, tmp_path):
    # A 0/1 target the user wants treated as a number: their choice wins and the header says so.
    data = _csv(tmp_path, load_breast_cancer, "diagnosis", "cancer")
    config = tmp_path / "x.yaml"
    assert cli("init", data, "--target", "diagnosis", "--task", "regression", "-o", config)[0] == 0
    text = config.read_text()
    assert text.splitlines()[1].startswith("# Task: regression (you chose it with --task)")
    assert "inferred" not in text.splitlines()[1]
    assert "  type: regression" in text
