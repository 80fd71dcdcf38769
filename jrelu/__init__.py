"""jrelu: rigorous derivatives of ReLU networks in JAX.

The public API is re-exported here; see the module docstrings for the mathematics
(MATH.md in the design notes) and README.md for a tour.
"""

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
from .derivative import derivative
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

__version__ = "0.1.0"
