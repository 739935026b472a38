"""The python code blocks of README.md and the user guide run as written.

The blocks of one page run in order in one namespace, as a reader working
down the page would run them. Blocks fenced as ```python gpu need CUDA: the
test marked ``gpu`` runs them, in order with the page's other blocks, where
torch sees a CUDA device.
"""

import time
import traceback
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs" / "guide").glob("*.md"))]
RUNNABLE, GPU = "python", "python gpu"


def fenced_blocks(path):
    """The fenced code blocks of a markdown file as (info, first line, code).

    ``first line`` is the 1-based line number of the block's first code line.
    """
    blocks, fence = [], None
    lines = path.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines, 1):
        stripped = line.lstrip()
        if fence is None:
            if stripped.startswith("```"):
                fence = stripped[: len(stripped) - len(stripped.lstrip("`"))]
                indent = len(line) - len(stripped)
                info, start, code = stripped[len(fence) :].strip(), number + 1, []
        elif stripped.startswith(fence) and not stripped.strip("`\t "):
            blocks.append((info, start, "\n".join(code) + "\n"))
            fence = None
        else:
            # a fence inside a list item is indented: so is its code
            code.append(line[min(indent, len(line) - len(stripped)) :])
    assert fence is None, f"{path.name}: the fence on line {start - 1} never closes"
    return blocks


def python_blocks(path):
    """The page's ```python and ```python gpu blocks as (number, info, line, code).

    Blocks are numbered from 1 in the order of the page.
    """
    blocks = []
    for info, start, code in fenced_blocks(path):
        language = info.split()[0].lower() if info else ""
        if language in {"python", "python3", "py", "pycon", "ipython"}:
            # any other spelling would leave the block untested without a word
            assert info in (RUNNABLE, GPU), (
                f"{path.name} line {start - 1}: fence info {info!r}; use "
                f"{RUNNABLE!r}, or {GPU!r} for a block that needs CUDA"
            )
            blocks.append((len(blocks) + 1, info, start, code))
    assert blocks, f"{path.name} has no python code blocks"
    return blocks


def run_blocks(path, blocks, tmp_path, monkeypatch):
    """Run ``blocks`` of ``path`` in order in one namespace, in ``tmp_path``."""
    # blocks write files (model files, TensorBoard runs) into the working
    # directory, and their plots must not open windows
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    try:
        import matplotlib
    except ImportError:  # a page that plots fails, naming the missing module
        plt = None
    else:
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

    namespace = {"__name__": "__main__"}
    try:
        for number, _, start, code in blocks:
            # blank lines in front give tracebacks the markdown file's line numbers
            compiled = compile("\n" * (start - 1) + code, str(path), "exec")
            began = time.perf_counter()
            failure = None
            try:
                exec(compiled, namespace)
            except Exception as error:
                failure = (
                    f"{path.name}: python block {number} (line {start}) raised "
                    f"{type(error).__name__}: {error}\n{traceback.format_exc()}"
                )
            if failure:  # its traceback shows the page's lines: pytest's adds nothing
                pytest.fail(failure, pytrace=False)
            print(f"{path.name} block {number}: {time.perf_counter() - began:.1f} s")
    finally:
        if plt is not None:
            plt.close("all")


# the pages with blocks that need CUDA
GPU_PAGES = [page for page in PAGES if any(b[0] == GPU for b in fenced_blocks(page))]


def test_readme_has_runnable_examples():
    blocks = python_blocks(ROOT / "README.md")
    assert sum(info == RUNNABLE for _, info, _, _ in blocks) >= 4


@pytest.mark.parametrize("path", PAGES, ids=lambda path: path.name)
def test_code_blocks_run(path, tmp_path, monkeypatch):
    """The page's ```python blocks run in order; its ```python gpu blocks wait."""
    blocks = [block for block in python_blocks(path) if block[1] == RUNNABLE]
    if not blocks:
        pytest.skip(
            f"every python block of {path.name} needs CUDA: "
            "test_code_blocks_run_with_cuda runs them where there is a CUDA device"
        )
    run_blocks(path, blocks, tmp_path, monkeypatch)


@pytest.mark.gpu  # skipped where torch sees no CUDA device (conftest.py)
@pytest.mark.parametrize("path", GPU_PAGES, ids=lambda path: path.name)
def test_code_blocks_run_with_cuda(path, tmp_path, monkeypatch):
    """With CUDA, all python blocks of the page run in order, the gpu ones too."""
    run_blocks(path, python_blocks(path), tmp_path, monkeypatch)
