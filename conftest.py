"""pytest set-up shared by the tests and the docstring examples (doctests).

The mathematics is checked in float64, so x64 is enabled for the whole session; float32 checks
pass an explicit dtype. Docstring examples print dtype-independent values, so they also hold
for a user who keeps JAX's float32 default.

One persistent compilation cache serves the whole session: the pytest-xdist workers, the
``jrelu`` subprocesses and the notebook kernels find it through ``JAX_COMPILATION_CACHE_DIR``
(a temporary folder made by the controlling process and removed at its end; a folder already
named by ``JAX_COMPILATION_CACHE_DIR``, e.g. by ``.ci/run``, is used as it is and kept).
``JRELU_COMPILE_CACHE=0`` turns it off. The cache holds compiled programs, so it changes no
number (``tests/test_cli.py`` checks this bit for bit).
"""

import os
import shutil
import tempfile

_CACHE_ENV = "JAX_COMPILATION_CACHE_DIR"
_MIN_TIME_ENV = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"
_made_here: list[str] = []  # the folder, if this process made it (and so removes it)


def _cache_on() -> bool:
    return os.environ.get("JRELU_COMPILE_CACHE", "").strip().lower() not in (
        "0", "off", "false", "no")


# Before jax is imported: jax reads these variables at import time, and the xdist workers
# and subprocesses inherit them.
# (Ownership is this module's state, not an environment variable: a pytest started by a
# test inherits the environment and must not remove the session's folder at its end.)
if _cache_on() and not os.environ.get(_CACHE_ENV):
    os.environ[_CACHE_ENV] = tempfile.mkdtemp(prefix="jrelu-jax-cache-")
    _made_here.append(os.environ[_CACHE_ENV])
if _cache_on():
    os.environ.setdefault(_MIN_TIME_ENV, "0")

import jax  # noqa: E402

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def pytest_unconfigure(config):
    """The process that made the session's cache folder removes it (xdist workers and
    nested sessions inherit the variable, not the folder)."""
    if _made_here and not hasattr(config, "workerinput"):
        shutil.rmtree(_made_here[0], ignore_errors=True)


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    import jrelu

    doctest_namespace.update(jax=jax, jnp=jnp, np=np, jrelu=jrelu)


# The longest tests of the default suite (each 10-45 s on 2 loaded cores), in that order, run
# first: a long test that starts last would leave one xdist worker running it alone at the
# end. pytest-xdist has no priorities; it hands out the tests in collection order (with
# ``--dist worksteal`` an idle worker takes the rest of another's queue from its end). Only
# tests that share no module-scoped fixture with the rest of their module are listed (or whole
# modules), so no fixture is set up twice.
_FIRST = (
    "tests/test_notebooks.py::test_notebook_executes[04",
    "tests/test_cli.py::test_killed_run_resumes",
    "tests/test_notebooks.py::test_notebook_executes[03",
    "tests/test_bench.py::test_every_suite_runs",
    "tests/test_sweep_scaleout.py::test_multi_device_equals_single_device_exactly",
    "tests/test_experiment.py::test_normalized_training_data_and_the_returned_network",
    "tests/test_cli.py::test_reduced_run_of_every_shipped_config[heat_d100]",
    "tests/test_notebooks.py::test_notebook_executes[01",
    "tests/test_notebooks.py::test_notebook_executes[02",
    "tests/test_docs.py::",
    "tests/test_bounds.py::test_certified_planted_bump_on_random_network",
    "tests/test_cli.py::test_reduced_run_of_every_shipped_config[constructive_heat_d20]",
    "tests/test_cli.py::test_reduced_run_of_every_shipped_config[black_scholes_geometric_d50]",
    "tests/test_constructions.py::test_multiplication_zero_branch_exact",
    "tests/test_experiment.py::test_run_experiment_end_to_end_with_ensemble_and_averaging",
    "tests/test_sweep_scaleout.py::test_two_processes_equal_single_process_exactly",
    "tests/test_device_check.py::",
    "tests/test_gradients.py::test_exact_identities_do_not_depend_on_xla_thread_settings",
)


def _first_rank(nodeid: str) -> int:
    return next((i for i, p in enumerate(_FIRST) if nodeid.startswith(p)), len(_FIRST))


def pytest_collection_modifyitems(config, items):
    """The tests of ``_FIRST`` move to the front (a stable sort: all else keeps its order)."""
    items.sort(key=lambda item: _first_rank(item.nodeid))
