"""The reference pages are generated from the code: the committed ones must match a fresh
generation, every config key must be described, and a real run writes only documented keys."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from docs_examples import ROOT
from sklearn.datasets import load_iris

from layerwise import reference
from layerwise.config.schema import ExperimentConfig
from layerwise.evaluation.keys import documented
from layerwise.experiment.run import Experiment

REGENERATE = "run `python -m layerwise.reference docs/reference`"


@pytest.mark.parametrize("name", reference.PAGES)
def test_committed_reference_page_matches_the_code(name):
    committed = ROOT / "docs" / "reference" / name
    assert committed.is_file(), f"docs/reference/{name} is missing: {REGENERATE}"
    assert committed.read_text(encoding="utf-8") == reference.pages()[name], (
        f"docs/reference/{name} is out of date with the code: {REGENERATE}"
    )


def test_generation_in_a_fresh_process_gives_the_same_pages(tmp_path):
    # Another process has another hash seed: any set- or dict-order dependence shows here.
    done = subprocess.run(
        [sys.executable, "-m", "layerwise.reference", str(tmp_path / "ref")],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONHASHSEED": "7"},
    )
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == sorted(["wrote"] * 4 + [str(tmp_path / "ref" / n) for n in reference.PAGES])
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "ref").iterdir()}
    assert written == reference.pages()


def test_every_config_key_is_listed_with_a_description():
    page = reference.pages()["config.md"]
    undescribed = []
    for path, _field, section in reference.config_keys(ExperimentConfig):
        if section is not None and "." not in path:
            assert f"## {path}\n" in page  # a top-level section heads its own table
            continue
        row = next((line for line in page.splitlines() if line.startswith(f"| `{path}` |")), None)
        assert row is not None, f"{path} is not in config.md"
        if not re.split(r"(?<!\\)\|", row)[-2].strip():  # the last cell; `\|` inside a cell is text
            undescribed.append(path)
    assert not undescribed, (
        "config keys without a description (add a `#` comment above the field in "
        f"src/layerwise/config/schema.py, or Field(description=...)): {undescribed}"
    )


def test_cli_page_lists_every_command_and_option():
    import typer

    from layerwise.cli import app

    page = reference.pages()["cli.md"]
    root = typer.main.get_command(app)
    for name, command in root.commands.items():
        assert f"## layerwise {name}\n" in page
        for param in command.params:
            label = f"`{param.name.upper()}`" if param.param_type_name == "argument" else f"`{param.opts[0]}`"
            assert label in page, f"layerwise {name}: {label} missing from cli.md"


def test_exit_codes_page_has_every_code_the_cli_returns():
    page = reference.pages()["exit-codes.md"]
    for row in (
        "| 0 | success |",
        "| 2 | usage or configuration error",
        "| 3 | data error",
        "| 4 | the deploy gate says DO NOT DEPLOY",
        "| `ConfigError` | 2 |",
        "| `DataError` | 3 |",
    ):
        assert row in page


def test_a_real_runs_metrics_json_keys_are_all_documented(tmp_path):
    frame = load_iris(as_frame=True).frame
    config = ExperimentConfig.from_dict(
        {
            "data": {"target": "target"},
            "task": {"type": "classification"},
            "train": {"epochs": 2},
            "evaluate": {"bootstrap": 20, "report": False},
        }
    )
    Experiment(config, data=frame).run(out=tmp_path / "run", quiet=True)
    written = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    assert set(written) - documented("classification") == set(), "add them to layerwise.evaluation.keys"
    page = reference.pages()["metrics.md"]
    assert all(f"| `{key}` |" in page for key in written)
