r"""Constructive approximation networks and the local-to-global theorem.

Every builder returns a plain :class:`jrelu.Network` (it works with :func:`jrelu.realize`,
:func:`jrelu.derivative`, :func:`jrelu.compose`, …) and its docstring states the exact
realized function, the error bounds and the sizes. Notation: :math:`\varrho` is ReLU,
:math:`h=2^{-m}`; sizes are those of :func:`jrelu.depth`, :func:`jrelu.width`,
:func:`jrelu.num_params` (:math:`\sum_k N_k(N_{k-1}+1)`) and :func:`jrelu.connectivity`
(nonzero weights and biases).

The namespace has three parts:

* **exact building blocks**: :func:`tooth_network`, :func:`sawtooth_network`,
  :func:`square_network`, :func:`abs_network`, :func:`multiplication_network` (with
  :func:`multiplication_m`), :func:`cutoff_network`, :func:`max_network`,
  :func:`min_network`, :func:`maxmin_network`, :func:`squared_norm_network`;
* **approximations with guaranteed error bounds** (:class:`ErrorBound`):
  :func:`product_network`, :func:`monomial_network`, :func:`polynomial_network`;
* **the local-to-global theorem**: a :class:`LocalApproximant` of f (ready-made ones:
  :func:`squared_norm_local`, :func:`coordinate_product_local`, :func:`maxmin_local`,
  and :func:`network_local` for a trained network) becomes the global network
  :math:`\Phi_\varepsilon` of :func:`global_network` with
  :math:`|f-R\Phi_\varepsilon|\le\varepsilon(1+\|x\|^\kappa)` everywhere and
  :math:`\|\nabla f-D^N\Phi_\varepsilon\|\le C\varepsilon^r(1+\|x\|^\kappa)` a.e.; its
  constants are a :class:`GlobalRecord`, and :func:`global_bound` gives the envelopes
  (:class:`GlobalBound`) at points.

**Derivative bounds and kinks.** Derivative bounds of piecewise-linear approximants hold
on the interior of every linear piece, i.e. for almost every x. At a kink the network
derivative :math:`D^N` is not always a one-sided derivative: for the squaring network
with :math:`D\varrho(0)=0`, :math:`D^N` at x = 1 (m = 3) is 1.5 while the adjacent
slopes are 1.875 and 1. The a.e. bounds are exactly what the chain-rule arguments of
:func:`global_network` need.

**Floating point.** Bounds are statements about exact arithmetic. Weights built from
dyadic parameters (b, B powers of two, …) are exact in binary floating point, and the
identities :math:`M(0,t)=0`, :math:`\partial_tD^NM(0,t)=0` of the multiplication network
hold *bitwise* in floating point (the two branches of M are interleaved identical
computations).

References:
  - Berner, Elbrächter, Grohs, Jentzen (2019),
    `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_ (chain rule, local-to-global
    estimates);
  - Yarotsky (2017), `arXiv:1610.01145 <https://arxiv.org/abs/1610.01145>`_ (squaring);
  - Telgarsky (2016), `arXiv:1602.04485 <https://arxiv.org/abs/1602.04485>`_ (sawtooth);
  - Elbrächter, Grohs, Jentzen, Schwab (2018),
    `arXiv:1809.07669 <https://arxiv.org/abs/1809.07669>`_ (cut-off, products).
"""

from ._blocks import (
    abs_network,
    cutoff_network,
    max_network,
    maxmin_network,
    min_network,
    multiplication_m,
    multiplication_network,
    sawtooth_network,
    square_network,
    squared_norm_network,
    tooth_network,
)
from ._global import (
    GlobalBound,
    GlobalRecord,
    LocalApproximant,
    coordinate_product_local,
    global_bound,
    global_network,
    maxmin_local,
    network_local,
    squared_norm_local,
)
from ._polynomials import ErrorBound, monomial_network, polynomial_network, product_network

__all__ = [
    # exact building blocks
    "tooth_network",
    "sawtooth_network",
    "square_network",
    "abs_network",
    "multiplication_network",
    "multiplication_m",
    "cutoff_network",
    "max_network",
    "min_network",
    "maxmin_network",
    "squared_norm_network",
    # approximations with error bounds
    "ErrorBound",
    "product_network",
    "monomial_network",
    "polynomial_network",
    # the local-to-global theorem
    "LocalApproximant",
    "squared_norm_local",
    "coordinate_product_local",
    "maxmin_local",
    "network_local",
    "GlobalRecord",
    "GlobalBound",
    "global_network",
    "global_bound",
]
