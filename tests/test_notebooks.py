"""Execute every notebook in ``notebooks/`` top to bottom, in reduced-size mode.

Each notebook asserts the mathematical facts it displays, so running it is a test. The
notebooks read ``JRELU_NOTEBOOK_SMALL=1`` (set here) and shrink their sizes, steps and
sample counts; together they run in a few minutes on 2 CPU cores.

Needs the test extra (``nbclient``, ``nbformat``, ``ipykernel``); skipped with the reason
if nbclient is not installed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip(
    "nbformat", reason="nbformat is not installed (test extra: pip install 'jrelu[test]')")
nbclient = pytest.importorskip(
    "nbclient", reason="nbclient is not installed (test extra: pip install 'jrelu[test]')")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_chain_rule_and_counterexamples.ipynb",
    "02_generalized_gradients_and_certificate.ipynb",
    "03_global_error_estimates_and_construction.ipynb",
    "04_kolmogorov_pde_100d.ipynb",
]
CELL_TIMEOUT = 600  # seconds per cell; the small-mode cells take a few seconds each
MARKER = "JRELU-KERNEL-EXECUTABLE:"


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def test_all_notebooks_present():
    assert [p.name for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_colab_ready(path: Path):
    """Stored without outputs, valid Python; opens with a description and a Colab install cell."""
    nb = _read(path)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {i} is stored with outputs"
            assert cell.execution_count is None, f"{path.name}: cell {i} has an execution count"
            compile(cell.source, f"{path.name}, cell {i}", "exec")  # a syntax error fails here
    first, second = nb.cells[0], nb.cells[1]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "arXiv:" in first.source
    assert second.cell_type == "code" and '"google.colab" in sys.modules' in second.source
    assert 'find_spec("jrelu") is None' in second.source
    assert "JRELU_NOTEBOOK_SMALL" in "".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path: Path, monkeypatch):
    """Run all cells in a fresh ``python3`` kernel with the notebook's directory as cwd."""
    monkeypatch.setenv("JRELU_NOTEBOOK_SMALL", "1")
    nb = _read(path)
    # A last cell that reports which environment the kernel runs in: it must be this one
    # (same sys.prefix, i.e. the same venv), or the notebook would test another jrelu.
    nb.cells.append(nbformat.v4.new_code_cell(
        f"import sys\nprint({MARKER!r}, sys.prefix, '|', sys.executable)"))
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=CELL_TIMEOUT, startup_timeout=120,
        allow_errors=False, resources={"metadata": {"path": str(path.parent)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:  # show the failing cell, not the kernel
        pytest.fail(f"{path.name} failed:\n{err}", pytrace=False)
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert MARKER in out, f"no interpreter report from the kernel: {out!r}"
    prefix, executable = (t.strip() for t in out.split(MARKER, 1)[1].split("|", 1))
    assert os.path.realpath(prefix) == os.path.realpath(sys.prefix), (
        f"the python3 kernel runs {executable} (prefix {prefix}), not this environment "
        f"({sys.executable}, prefix {sys.prefix}); install ipykernel here")
