"""jrelu: rigorous derivatives of ReLU networks in JAX.

The public API is re-exported here; see the module docstrings for the mathematics
(MATH.md in the design notes) and README.md for a tour.
"""

from . import examples, ops, pde, testing
from .activations import (
    Abs,
    Activation,
    HardTanh,
    LeakyReLU,
    ReLU,
    Softplus,
    Tanh,
    abs_activation,
    hard_tanh,
    leaky_relu,
    relu,
    softplus,
    tanh,
)
from .bounds import (
    CertifiedBound,
    certified_sup_error,
    derivative_bounds,
    lipschitz_bound,
    realize_bounds,
)
from .constructions import (
    ErrorBound,
    GlobalBound,
    GlobalRecord,
    LocalApproximant,
    abs_network,
    coordinate_product_local,
    cutoff_network,
    global_bound,
    global_network,
    max_network,
    maxmin_local,
    maxmin_network,
    min_network,
    monomial_network,
    multiplication_m,
    multiplication_network,
    network_local,
    polynomial_network,
    product_network,
    sawtooth_network,
    square_network,
    squared_norm_local,
    squared_norm_network,
    tooth_network,
)
from .derivative import (
    KinkReport,
    LimitingJacobians,
    derivative,
    directional_derivative,
    kink_report,
    lexicographic_jacobian,
    limiting_jacobians,
    value_and_derivative,
)
from .errors import (
    ErrorStats,
    Gaussian,
    Halton,
    PointSampler,
    RadialShell,
    RadialShells,
    Sampler,
    SweepReport,
    TensorGrid,
    UniformBox,
    error_sweep,
)
from .gradients import (
    SMOOTHING_FAMILIES,
    C1Blend,
    ConvergenceStudy,
    DifferentiabilityReport,
    ScaledSoftplus,
    ShiftedSoftplus,
    SubgradientCertificate,
    convergence_study,
    differentiability_report,
    empirical_risk,
    empirical_risk_flat,
    generalized_gradient,
    generalized_gradient_flat,
    limiting_subgradient_certificate,
    smoothed_gradient,
    smoothing_family,
)
from .io import load_checkpoint, load_network, save_checkpoint, save_network
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
from .pde import (
    BlackScholesGeometric,
    HeatCosine,
    HeatSquare,
    Problem,
    averaging_network,
    feynman_kac_data,
    make_problem,
    path_maps,
    relative_l2_errors,
    solve_learning,
)
from .train import TrainHistory, train

__version__ = "0.1.0"
