"""Run the guide's examples the way its conventions say, so the guide cannot drift from the code.

A page's fenced blocks run in document order in a fresh working folder holding a copy of
examples/:
  yaml    validated as a whole ExperimentConfig (relative data paths against the folder);
          a first line `# file: NAME.yaml` also writes it there for the blocks that follow
  python  executed in one namespace shared by the page's python blocks, cwd = the folder
  bash    `bash -e -o pipefail`, the venv's bin first on PATH; a line ending `# exit N` must
          exit with exactly N (every other command with 0)
  other   shown, not run
Blocks inside content tabs (`=== "YAML"`, indented) count like any other. Every process a
page starts is killed when the page ends (its bash blocks run in their own process groups).
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN = ("yaml", "python", "bash")
BLOCK_TIMEOUT = 180  # seconds one bash block may take before it is killed and fails

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+-]*)[^\n]*$")
_EXIT = re.compile(r"^(?P<command>.*?)\s+#\s*exit\s+(?P<code>\d+)\s*$")
_FILE = re.compile(r"^#\s*file:\s*(?P<name>\S+)\s*$")


@dataclass
class Block:
    lang: str
    line: int  # 1-based line of the opening fence
    number: int  # 1-based position among the page's blocks
    code: str


@dataclass
class PageRun:
    page: str
    seconds: float = 0.0
    timings: list[tuple[int, str, float]] = field(default_factory=list)  # (line, lang, seconds) per block run

    @property
    def blocks(self) -> int:
        return len(self.timings)


class ExampleFailure(AssertionError):
    """A block of a page failed: the message names the page, the line and the block."""

    def __init__(self, page: str, block: Block, detail: str):
        self.page, self.block = page, block
        super().__init__(
            f"{page}:{block.line}: {block.lang} block {block.number} failed\n{detail.rstrip()}\n"
            f"--- the block ---\n{block.code.rstrip()}"
        )


def parse(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text, dedented, in order."""
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence, lang = match.group("indent"), match.group("fence"), match.group("lang").lower()
        body, j = [], i + 1
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        while j < len(lines) and not closing.match(lines[j]):
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        blocks.append(Block(lang, i + 1, len(blocks) + 1, "\n".join(body) + "\n"))
        i = j + 1
    return blocks


def run_page(path: Path, *, name: str | None = None, examples: Path = ROOT / "examples") -> PageRun:
    """Run every block of one page; raise ExampleFailure at the first that fails."""
    name = name or str(path)
    result = PageRun(name)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="layerwise-docs-") as folder:
        work = Path(folder)
        if examples.is_dir():
            shutil.copytree(examples, work / "examples")
        page = _Page(name, work)
        try:
            for block in parse(path.read_text(encoding="utf-8")):
                if block.lang not in RUN:
                    continue
                began = time.perf_counter()
                page.run(block)
                result.timings.append((block.line, block.lang, time.perf_counter() - began))
        finally:
            page.close()
    result.seconds = time.perf_counter() - start
    return result


class _Page:
    """The state one page's blocks share: the folder, the python namespace, its processes."""

    def __init__(self, name: str, work: Path):
        self.name, self.work = name, work
        self.namespace: dict[str, object] = {"__name__": "__main__"}
        self.groups: list[int] = []  # process groups of the bash blocks
        self.before = _children()  # processes of ours that are not the page's
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "MPLBACKEND": "Agg",
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, block: Block) -> None:
        getattr(self, f"_{block.lang}")(block)

    def _fail(self, block: Block, detail: str) -> None:
        raise ExampleFailure(self.name, block, detail)

    def _yaml(self, block: Block) -> None:
        from layerwise.config.schema import ExperimentConfig
        from layerwise.errors import ConfigError

        first = block.code.lstrip().splitlines()[0] if block.code.strip() else ""
        target = _FILE.match(first)
        if target:
            out = (self.work / target.group("name")).resolve()
            if self.work.resolve() not in out.parents:
                self._fail(block, f"# file: {target.group('name')} is outside the page's working folder")
            out.parent.mkdir(parents=True, exist_ok=True)
        else:
            out = self.work / f".block-{block.line}.yaml"
        out.write_text(block.code, encoding="utf-8")
        try:
            ExperimentConfig.from_yaml(out)  # resolves relative data paths like `layerwise run`
        except ConfigError as err:
            self._fail(block, f"not a valid experiment config:\n{err}")
        finally:
            if not target:
                out.unlink()

    def _python(self, block: Block) -> None:
        code = compile(block.code, f"{self.name}:{block.line}", "exec")
        here = os.getcwd()
        os.chdir(self.work)
        try:
            with _AsAUserSeesIt():
                exec(code, self.namespace)
        except BaseException as err:  # SystemExit too: a block must not end the test run
            if isinstance(err, KeyboardInterrupt):
                raise
            self._fail(block, "".join(traceback.format_exception(err)))
        finally:
            os.chdir(here)

    def _bash(self, block: Block) -> None:
        script = _expect_exits(block.code, block.line)
        with tempfile.TemporaryFile() as output:
            process = subprocess.Popen(
                ["bash", "-e", "-o", "pipefail", "-c", script],
                cwd=self.work,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # its own group: background jobs included
            self.groups.append(process.pid)
            try:
                code = process.wait(timeout=BLOCK_TIMEOUT)
            except subprocess.TimeoutExpired:
                _kill_group(process.pid)
                process.wait()
                code = None
            output.seek(0)
            text = output.read().decode("utf-8", "replace")
        if code is None:
            self._fail(block, f"still running after {BLOCK_TIMEOUT} s; output:\n{text[-4000:]}")
        if code != 0:
            self._fail(block, f"exit status {code}; output:\n{text[-4000:]}")

    def close(self) -> None:
        """Free the page's objects, and kill whatever it left running (a server a block forgot to stop)."""
        with _AsAUserSeesIt():
            self.namespace.clear()
            gc.collect()
        for group in self.groups:
            _kill_group(group)
        for pid in _children() - self.before:  # started by a python block (subprocess.Popen)
            if _pooled(pid):
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _pooled(pid: int) -> bool:
    """A worker of a pool a library keeps and reuses (joblib/loky, multiprocessing): killing it
    would break later tests in this process, and the library ends it at exit."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return any(word in command for word in (b"multiprocessing", b"loky", b"joblib"))


def _children() -> set[int]:
    """Every live descendant of this process (Linux /proc; empty elsewhere)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            stat = entry.read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()  # after "pid (name) "
        if fields[0] != "Z":
            parents[int(entry.parent.name)] = int(fields[1])
    found, frontier = set(), {os.getpid()}
    while frontier:
        frontier = {pid for pid, ppid in parents.items() if ppid in frontier} - found
        found |= frontier
    return found


class _AsAUserSeesIt(warnings.catch_warnings):
    """The suite's warning filters (warnings are errors), but for ResourceWarning.

    Why: `json.load(open(path))` is the idiom a guide shows; CPython closes the file at
    once and Python hides ResourceWarning by default, so a user running the example sees
    nothing. Every other warning (deprecated API, a model that does not converge) stays an
    error: it means the example is wrong or drifting.
    """

    def __enter__(self):
        entered = super().__enter__()
        warnings.filterwarnings("ignore", category=ResourceWarning)
        return entered


def _expect_exits(code: str, first_line: int) -> str:
    """The block as a script where each `cmd  # exit N` command is checked for exactly N.

    A command continued over lines with a trailing backslash is one command: its
    `# exit N` sits on its last line.
    """
    out: list[str] = []
    pending: list[str] = []  # the earlier lines of a command continued with `\`
    for offset, line in enumerate(code.splitlines(), start=1):
        if line.endswith("\\"):
            pending.append(line)
            continue
        command, pending = [*pending, line], []
        match = _EXIT.match(line)
        if not match or not match.group("command").strip() or match.group("command").lstrip().startswith("#"):
            out += command
            continue
        where, want = first_line + offset, match.group("code")
        out += [
            "set +e",
            *command[:-1],
            match.group("command"),
            "__lw_status=$?",
            "set -e",
            f'if [ "$__lw_status" -ne {want} ]; then '
            f'echo "line {where}: expected exit {want}, got $__lw_status" >&2; exit 97; fi',
        ]
    return "\n".join(out + pending) + "\n"


def _kill_group(group: int, grace: float = 2.0) -> None:
    """SIGTERM the group, then SIGKILL whatever has not ended within `grace` seconds."""
    try:
        os.killpg(group, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            os.killpg(group, 0)  # raises once no process of the group is left
            time.sleep(0.01)
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return


def pages(docs: Path = ROOT / "docs") -> list[Path]:
    """The guide's pages whose examples run: every Markdown file but the generated reference."""
    return sorted(p for p in docs.rglob("*.md") if "reference" not in p.relative_to(docs).parts)
