"""The example runner itself, on small synthetic pages: what passes, what fails, and how it says so."""

from __future__ import annotations

import os
import sys
import textwrap
import time
from pathlib import Path

import pytest
from docs_examples import ExampleFailure, parse, run_page


def page(tmp_path, text: str):
    path = tmp_path / "page.md"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_blocks_are_found_inside_content_tabs_and_dedented(tmp_path):
    blocks = parse(
        textwrap.dedent("""\
        # Title

        === "YAML"

            ```yaml
            data: {target: y}
            ```

        === "Python"

            ```python
            x = 1
            ```

        ```text
        shown only
        ```
        """)
    )
    assert [(b.lang, b.line, b.code) for b in blocks] == [
        ("yaml", 5, "data: {target: y}\n"),
        ("python", 11, "x = 1\n"),
        ("text", 15, "shown only\n"),
    ]


def test_python_blocks_share_a_namespace_and_see_files_written_by_yaml_and_bash(tmp_path):
    path = page(
        tmp_path,
        """\
        ```yaml
        # file: exp.yaml
        data: {path: examples/data/btc-usd-daily.csv, target: Close, time: Date}
        train: {epochs: 1}
        ```

        ```python
        from layerwise.config import ExperimentConfig
        config = ExperimentConfig.from_yaml("exp.yaml")
        ```

        ```bash
        echo hello > note.txt
        ```

        ```python
        import pathlib
        assert config.train.epochs == 1
        assert config.data.path.endswith("examples/data/btc-usd-daily.csv")
        assert pathlib.Path("note.txt").read_text() == "hello\\n"
        ```
        """,
    )
    result = run_page(path)
    assert result.blocks == 4
    assert [t[:2] for t in result.timings] == [(1, "yaml"), (7, "python"), (12, "bash"), (16, "python")]


def test_a_failing_python_block_names_the_page_line_and_block(tmp_path):
    path = page(
        tmp_path,
        """\
        ```python
        x = 1
        ```

        Some prose.

        ```python
        assert x == 2, "x is not two"
        ```
        """,
    )
    with pytest.raises(ExampleFailure) as failure:
        run_page(path, name="docs/page.md")
    message = str(failure.value)
    assert message.startswith("docs/page.md:7: python block 2 failed")
    assert "x is not two" in message and 'assert x == 2, "x is not two"' in message


def test_an_invalid_yaml_config_fails_with_its_key(tmp_path):
    path = page(
        tmp_path,
        """\
        ```yaml
        data: {target: y}
        train: {epochs: 0}
        ```
        """,
    )
    with pytest.raises(ExampleFailure, match=r"(?s)page\.md:1: yaml block 1 failed.*train\.epochs"):
        run_page(path, name="page.md")


def test_bash_exit_comment_must_match_exactly(tmp_path):
    good = page(
        tmp_path,
        """\
        ```bash
        test "$(command -v layerwise)" = "$VENV_BIN/layerwise"
        bash -c "exit 2"  # exit 2
        bash -c \\
          "exit 3"  # exit 3
        echo after
        ```
        """,
    )
    os.environ["VENV_BIN"] = str(Path(sys.prefix) / "bin")  # the venv's layerwise comes first on PATH
    try:
        assert run_page(good).blocks == 1
    finally:
        del os.environ["VENV_BIN"]
    wrong = page(
        tmp_path,
        """\
        ```bash
        true
        bash -c "exit 3"  # exit 2
        ```
        """,
    )
    with pytest.raises(ExampleFailure, match=r"(?s)page\.md:1: bash block 1 failed.*line 3: expected exit 2, got 3"):
        run_page(wrong, name="page.md")


def test_a_failing_bash_command_fails_the_block(tmp_path):
    path = page(
        tmp_path,
        """\
        ```bash
        false | cat
        echo never
        ```
        """,
    )
    with pytest.raises(ExampleFailure, match=r"exit status 1"):
        run_page(path)


def test_processes_left_running_are_killed_when_the_page_ends(tmp_path):
    path = (
        page(
            tmp_path,
            """\
        ```bash
        sleep 300 &
        echo $! > pid.txt
        ```

        ```python
        import pathlib
        pid = int(pathlib.Path("pid.txt").read_text())
        pathlib.Path(PID_FILE).write_text(str(pid))
        ```
        """,
        )
        .read_text()
        .replace("PID_FILE", repr(str(tmp_path / "pid")))
    )
    (tmp_path / "page.md").write_text(path)
    run_page(tmp_path / "page.md")
    pid = int((tmp_path / "pid").read_text())
    stat = Path(f"/proc/{pid}/stat")

    def ended() -> bool:  # gone, or dead and not yet reaped
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except FileNotFoundError:
            return True

    deadline = time.monotonic() + 60  # the kill was sent; this only stops a hung test
    while not ended():
        assert time.monotonic() < deadline, f"process {pid} still runs"
        time.sleep(0.01)


def test_warnings_fail_a_block_but_an_unclosed_file_does_not(tmp_path):
    leaky = page(
        tmp_path,
        """\
        ```python
        import json
        json.dump({"a": 1}, open("a.json", "w"))
        data = json.load(open("a.json"))
        ```
        """,
    )
    assert run_page(leaky).blocks == 1
    deprecated = page(
        tmp_path,
        """\
        ```python
        import warnings
        warnings.warn("old API", DeprecationWarning)
        ```
        """,
    )
    with pytest.raises(ExampleFailure, match=r"(?s)page\.md:1: python block 1 failed.*DeprecationWarning: old API"):
        run_page(deprecated, name="page.md")
