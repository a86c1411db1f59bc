"""`layerwise --version`: the installed distribution's version, as pip and bug reports know it."""

from __future__ import annotations

from importlib.metadata import version


def test_version_prints_the_installed_version_and_exits_0(cli):
    code, out, err = cli("--version")
    assert code == 0, err
    assert out == f"layerwise {version('layerwise')}\n"


def test_version_answers_before_any_command_runs(cli, tmp_path):
    # eager: `--version` wins over a command, which does not run (no config is written)
    code, out, _ = cli("--version", "init", tmp_path / "absent.csv", "--target", "y")
    assert code == 0 and out.startswith("layerwise ")
    assert not (tmp_path / "absent.yaml").exists()
