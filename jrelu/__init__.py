r"""jrelu: rigorous derivatives of ReLU networks in JAX.

The top level holds the core: networks and their calculus, activations, the network
derivative :math:`D^N` and its Clarke-correct relatives, generalized gradients and training,
error sweeps, certified bounds, and file io. Applications live in namespaces:
:mod:`jrelu.constructions`, :mod:`jrelu.pde`, :mod:`jrelu.samplers`, :mod:`jrelu.losses`,
:mod:`jrelu.ops`, :mod:`jrelu.testing`, :mod:`jrelu.examples`, :mod:`jrelu.interop`,
:mod:`jrelu.io` (and :mod:`jrelu.plot`, which needs matplotlib and is imported on demand).

References:
  Berner, Elbrächter, Grohs, Jentzen (2019), *Towards a regularity theory for ReLU networks –
  chain rule and global error estimates*, `arXiv:1905.04992
  <https://arxiv.org/abs/1905.04992>`_.
  Dereich, Do, Jentzen, Weber (2025), *Mathematical analysis of the gradients in deep
  learning*, `arXiv:2501.15646 <https://arxiv.org/abs/2501.15646>`_.
"""

from importlib.metadata import PackageNotFoundError as _PackageNotFoundError
from importlib.metadata import version as _version

from . import constructions, examples, interop, io, losses, ops, pde, samplers, testing
from .activations import Abs, Activation, HardTanh, LeakyReLU, ReLU, Smoothing, Softplus, Tanh
from .bounds import (
    CertifiedBound,
    certified_sup_error,
    derivative_bounds,
    lipschitz_bound,
    realize_bounds,
)
from .derivative import (
    KinkReport,
    LimitingJacobians,
    derivative,
    directional_derivative,
    kink_report,
    lexicographic_jacobian,
    lexicographic_pattern,
    limiting_jacobians,
    value_and_derivative,
)
from .gradients import (
    ConvergenceStudy,
    DifferentiabilityReport,
    KinkLocation,
    SubgradientCertificate,
    convergence_study,
    differentiability_report,
    empirical_risk,
    generalized_gradient,
    limiting_subgradient_certificate,
    smoothed_gradient,
)
from .io import Checkpoint, load_checkpoint, load_network, save_checkpoint, save_network
from .network import (
    Network,
    compose,
    connectivity,
    depth,
    flatten,
    identity,
    init,
    linear_combination,
    num_params,
    parallel,
    parallel_full,
    preactivations,
    realize,
    sparse_compose,
    unflatten,
    width,
)
from .sweep import (
    ErrorStats,
    PointwiseErrors,
    ShellStats,
    SweepReport,
    error_sweep,
    pointwise_errors,
)
from .train import TrainHistory, train

try:
    __version__ = _version("jrelu")
except _PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = [
    # namespaces
    "constructions", "examples", "interop", "io", "losses", "ops", "pde", "samplers",
    "testing",
    # networks and their calculus
    "Network", "init", "realize", "preactivations", "compose", "sparse_compose", "parallel",
    "parallel_full", "identity", "linear_combination", "flatten", "unflatten", "depth",
    "width", "num_params", "connectivity",
    # activations
    "Activation", "ReLU", "LeakyReLU", "Abs", "HardTanh", "Softplus", "Tanh", "Smoothing",
    # the network derivative and Clarke-correct derivatives
    "derivative", "value_and_derivative", "directional_derivative", "lexicographic_jacobian",
    "lexicographic_pattern", "limiting_jacobians", "LimitingJacobians", "kink_report",
    "KinkReport",
    # generalized gradients of training costs
    "empirical_risk", "generalized_gradient", "smoothed_gradient", "convergence_study",
    "ConvergenceStudy", "limiting_subgradient_certificate", "SubgradientCertificate",
    "differentiability_report", "DifferentiabilityReport", "KinkLocation",
    # training
    "train", "TrainHistory",
    # error sweeps
    "error_sweep", "SweepReport", "ErrorStats", "ShellStats", "pointwise_errors",
    "PointwiseErrors",
    # certified bounds
    "realize_bounds", "derivative_bounds", "lipschitz_bound", "certified_sup_error",
    "CertifiedBound",
    # files
    "save_network", "load_network", "save_checkpoint", "load_checkpoint", "Checkpoint",
]
