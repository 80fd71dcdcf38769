"""Sphinx configuration of the jrelu documentation.

Build (CI runs exactly this; warnings are errors)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The notebooks in ``notebooks/`` (linked here as ``docs/notebooks``) are rendered as stored,
without executing them: the test suite executes them (``tests/test_notebooks.py``).
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))

# -- Project -------------------------------------------------------------------------------------
project = "jrelu"
author = "the jrelu authors"
copyright = "the jrelu authors, Apache-2.0"
try:
    release = importlib.metadata.version("jrelu")
except importlib.metadata.PackageNotFoundError:  # building from a checkout that is not installed
    release = "unknown"
version = ".".join(release.split(".")[:2])

# -- Extensions ----------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "myst_nb",          # Markdown pages (MyST) and the notebooks
    "jrelu_api",        # docs/_ext/jrelu_api.py: API pages driven by each module's __all__
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]

# -- MyST and MyST-NB ----------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
nb_execution_mode = "off"        # render the stored notebooks; the tests execute them
nb_merge_streams = True

# -- autodoc / napoleon --------------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = False  # defaults as repr(): ReLU(deriv_at_kink=0.0)
autodoc_default_options = {"members": True, "show-inheritance": True}
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True          # "Attributes:" as fields: no duplicate object descriptions
napoleon_use_rtype = False
napoleon_preprocess_types = False
python_maximum_signature_line_length = 88
add_module_names = False

# -- HTML ----------------------------------------------------------------------------------------
html_theme = "furo"
html_title = f"jrelu {release}"
html_theme_options = {"navigation_with_keys": True}

# -- The top-level API page (docs/api/jrelu.rst) ---------------------------------------------------
# Each name of jrelu.__all__ goes to the group of the module that defines it; names no group
# claims are listed under "Other" (nothing of __all__ is left out).
jrelu_api_groups = [
    ("Networks", ["jrelu.network"],
     "A network is data: the pytree of its affine maps :math:`(A_k, b_k)`. Its realization, "
     "composition, parallelization and sizes (see :doc:`/theory/network_calculus`)."),
    ("Activations", ["jrelu.activations"],
     "Each activation is a ``jax.custom_jvp`` with one chosen derivative at its kinks, "
     "delivered under every JAX transformation, plus the piece data the certified bounds use."),
    ("Derivatives", ["jrelu.derivative"],
     "The network derivative :math:`D^N\\Phi`, directional and lexicographic derivatives, "
     "limiting Jacobians and kink reports (see :doc:`/theory/network_derivative` and "
     ":doc:`/theory/kinks`)."),
    ("Generalized gradients", ["jrelu.gradients", "jrelu.losses"],
     "Training costs, the generalized gradient :math:`G(\\theta)`, the smoothing study and the "
     "limiting-subgradient certificate (see :doc:`/theory/generalized_gradients`)."),
    ("Training", ["jrelu.train"],
     "Any optax optimizer in one compiled ``lax.scan``, with counts of exact kinks."),
    ("Error sweeps", ["jrelu.sweep", "jrelu._stats"],
     "Weighted value and derivative errors over large sample sets: chunked, sharded and "
     "resumable (see :doc:`/theory/local_to_global`)."),
    ("Certified bounds", ["jrelu.bounds"],
     "Interval enclosures of :math:`R\\Phi` and :math:`D^N\\Phi` on boxes, with rounding "
     "accounted for, and certified sup errors by branch and bound."),
    ("Input and output", ["jrelu.io"],
     "Networks and checkpoints as ``.npz`` files with checksums, written atomically."),
]
