r"""The honest output of ``jrelu run``: what the numbers mean, a guaranteed global network,
the noise floor of the loss, ``errors.png`` and the printed table.

Internal to the ``jrelu`` command (:mod:`jrelu.experiment` calls it); not public API.

* :func:`problem_growth`: constants (c, ν) with :math:`|u|,\|\nabla u\|\le c(1+\|x\|^\nu)`,
  derived from the problem's closed form;
* :func:`noise_floor`: the smallest expected value of the Feynman–Kac loss,
  :math:`\mathbb E_\xi\operatorname{Var}\varphi(X_T^\xi)` (closed form for the heat
  equation with :math:`\varphi=\|x\|^2`, else a Monte-Carlo estimate with its standard error);
* :func:`zero_network_reference`: the weighted errors of the zero network on the sweep's
  own points (what "no extrapolation at all" scores);
* :func:`ratio_meaning`: one line saying what the sweep's weighted sup means;
* :func:`wrap_global`: the local-to-global network
  :math:`\Phi_\varepsilon=M\odot P(\chi_B,\Phi)` of a learned network Φ, with the local error
  *measured* on samples and the rest *guaranteed* by the construction's algebra;
* :func:`plot_report`, :func:`print_table`, :func:`theorem_check`.

Random draws: ``fold_in(key, 20)`` the noise floor's Monte-Carlo sample, ``fold_in(key, 21)``
the local-error sample of the global wrap (the run's other indices are listed in
:mod:`jrelu.experiment`).

References:
  Berner, Elbrächter, Grohs, Jentzen (2019),
  `arXiv:1905.04992 <https://arxiv.org/abs/1905.04992>`_;
  Beck, Becker, Grohs, Jaafari, Jentzen (2018),
  `arXiv:1806.00421 <https://arxiv.org/abs/1806.00421>`_.
"""

from __future__ import annotations

import functools
import math
import textwrap

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, _random

__all__ = ["problem_growth", "noise_floor", "data_noise_floor", "zero_network_reference",
           "ratio_meaning",
           "measure_local_error", "choose_epsilon", "wrap_global", "guarantee_line",
           "wrapped_errors", "plot_sample", "pointwise", "sweep_points",
           "network_local_measured", "plot_report", "print_table", "theorem_check"]


def _fmt(v) -> str:
    return "n/a" if v is None else f"{v:.3g}"


# -- what the problem is ---------------------------------------------------------------


def problem_growth(problem):
    r"""``(c, nu, why)`` with :math:`|u(T,x)|,\|\nabla u(T,x)\|\le c(1+\|x\|^\nu)` on
    :math:`\mathbb R^d`, or ``(None, None, why)`` where no such global bound applies.

    * heat_square, :math:`u=\|x\|^2+2Td`: :math:`|u|\le\max(1,2Td)(1+\|x\|^2)` and
      :math:`\|\nabla u\|=2\|x\|\le1+\|x\|^2`, so :math:`c=\max(1,2Td)`, ν = 2;
    * heat_cosine, :math:`u=e^{-T}\sum_i\cos x_i`: :math:`|u|\le e^{-T}d`,
      :math:`\|\nabla u\|\le e^{-T}\sqrt d`, so with ν = 0 (:math:`1+\|x\|^0=2`),
      :math:`c=e^{-T}d/2`;
    * black_scholes_geometric: u is defined for positive prices only, not on
      :math:`\mathbb R^d`.
    """
    name, d, T = problem.name, problem.dim, problem.T
    if name == "heat_square":
        return (max(1.0, 2.0 * T * d), 2.0,
                "|u| = |x|^2 + 2Td <= max(1, 2Td)(1+|x|^2) and |grad u| = 2|x| <= 1+|x|^2")
    if name == "heat_cosine":
        return (math.exp(-T) * d / 2.0, 0.0,
                "|u| <= e^-T d and |grad u| <= e^-T sqrt(d), so c(1+|x|^0) = 2c with "
                "c = e^-T d/2")
    return None, None, f"{name}: u(T, .) is defined for positive prices only, not on R^d"


# -- the noise floor of the loss -------------------------------------------------------


@functools.partial(jax.jit, static_argnums=(0, 3, 4))
def _squared_noise(problem, k1, k2, n, dtype):
    xi = problem.sample_box(k1, n, dtype=dtype)
    x = problem.terminal(xi, key=k2)
    return (problem.phi(x) - problem.solution(xi)) ** 2


def noise_floor(problem, key, *, num_samples: int = 65536, method: str = "auto",
                dtype=None) -> dict:
    r"""The noise floor of the Feynman–Kac loss :math:`\mathbb E(N(\xi)-\varphi(X_T^\xi))^2`.

    The exact solution minimizes the loss, at

    .. math::
        \mathbb E_\xi\operatorname{Var}\varphi(X_T^\xi)
        =\mathbb E\big(\varphi(X_T^\xi)-u(T,\xi)\big)^2
        =\mathbb E\varphi(X_T^\xi)^2-\mathbb Eu(T,\xi)^2,\qquad\xi\sim\mathcal U([a,b]^d).

    ``method="auto"``: the closed form for heat_square
    (:math:`X=\xi+\sqrt{2T}Z`, :math:`\operatorname{Var}\|X\|^2=8T\|\xi\|^2+8T^2d`,
    :math:`\mathbb E\xi_i^2=(a^2+ab+b^2)/3`), else ``"monte_carlo"``: the mean of
    :math:`(\varphi(X_T^{\xi_j})-u(T,\xi_j))^2` over ``num_samples`` draws from the
    problem's own sampler, with its standard error (sample standard deviation / √n).
    """
    a, b = problem.box
    d, T = problem.dim, problem.T
    what = ("mean over the box of Var phi(X_T^xi) = E(phi(X_T^xi) - u(xi))^2: the loss of the "
            "exact solution u, below which the Feynman-Kac loss cannot go")
    if method not in ("auto", "monte_carlo"):
        raise ValueError(f"method must be 'auto' or 'monte_carlo', got {method!r}")
    if method == "auto" and problem.name == "heat_square":
        value = 8.0 * T * d * (a * a + a * b + b * b) / 3.0 + 8.0 * T * T * d
        return {"value": value, "method": "closed form: 8T d (a^2+ab+b^2)/3 + 8T^2 d",
                "num_samples": None, "standard_error": 0.0, "what": what}
    k1, k2 = jax.random.split(key)
    dt = np.dtype(_checks.default_float_dtype(dtype))
    mean, se, total = _monte_carlo_mean(
        lambda i, n: _squared_noise(problem, jax.random.fold_in(k1, i),
                                    jax.random.fold_in(k2, i), n, dt), num_samples, d)
    return {"value": mean, "method": "monte carlo: mean of (phi(X_T^xi) - u(xi))^2",
            "num_samples": total, "standard_error": se, "what": what}


def _monte_carlo_mean(draw, num_samples: int, dim: int):
    """``(mean, standard error, n)`` of the values ``draw(i, n)`` returns for chunks
    i = 0, 1, ... of n ≤ 2^20/dim samples each, ``num_samples`` in all (float64 sums)."""
    total = s1 = s2 = 0.0
    chunk = max(1, min(num_samples, 2**20 // max(1, dim)))
    for i, start in enumerate(range(0, num_samples, chunk)):
        n = min(chunk, num_samples - start)
        e = np.asarray(draw(i, n), np.float64)
        total += n
        s1 += float(e.sum())
        s2 += float((e * e).sum())
    mean = s1 / total
    var = max(0.0, (s2 - total * mean * mean) / max(1, total - 1))
    return mean, math.sqrt(var / total), int(total)


def data_noise_floor(problem, data, t: float, key, *, num_samples: int = 65536) -> dict:
    r"""The noise floor :math:`\mathbb E(y-u(t,x))^2` of a training data stream
    ``data(key, n) -> (x, y)`` whose targets have conditional mean :math:`u(t,x)`
    (:func:`jrelu.pde.feynman_kac_data` with any inputs and paths per point): the loss of
    the exact u(t, ·). Monte Carlo over ``num_samples`` draws of the stream itself (chunks of
    at most 2^20 numbers, key ``fold_in(key, i)``), with its standard error."""
    def squared(k, n):
        x, y = data(k, n)
        return (y[:, 0] - problem.value(t, x)) ** 2

    sq = jax.jit(squared, static_argnums=1)
    mean, se, total = _monte_carlo_mean(lambda i, n: sq(jax.random.fold_in(key, i), n),
                                        num_samples, problem.dim)
    return {"value": mean, "method": "monte carlo over the training data stream: mean of "
                                     "(y - u(t, x))^2",
            "num_samples": total, "standard_error": se,
            "what": "E(y - u(t, x))^2 over the training data (x, y): the loss of the exact "
                    "u(t, .), below which the Feynman-Kac loss cannot go"}


# -- the zero network, on the sweep's own points ---------------------------------------


def _shell_edges(shells):
    return [(s["r_min"], np.inf if s["r_max"] is None else s["r_max"]) for s in shells]


#: points per compiled evaluation of the helpers below (one compilation per network)
CHUNK = 1024


@functools.partial(jax.jit, static_argnames=("problem",))
def _errors(net, x, problem):
    from .sweep import pointwise_errors

    e = pointwise_errors(net, problem.solution, x, target_grad=problem.solution_grad)
    return e.norm, e.value_error, e.derivative_error


def pointwise(net, problem, x, kappa: float = 0.0) -> dict:
    r""":func:`jrelu.sweep.pointwise_errors` of ``net`` against u(T,·) at the points ``x``
    (n, d), evaluated jit-compiled in padded chunks of :data:`CHUNK` points (one
    compilation per network); float64 NumPy arrays ``r``, ``value``, ``grad`` and the
    weighted ``value_w``, ``grad_w`` (divided by :math:`1+r^\kappa` in float64)."""
    n = x.shape[0]
    parts = []
    for i in range(0, n, CHUNK):
        xc = x[i:i + CHUNK]
        m = xc.shape[0]
        if m < CHUNK:
            xc = jnp.concatenate([xc, jnp.broadcast_to(xc[:1], (CHUNK - m, xc.shape[1]))])
        parts.append([np.asarray(a, np.float64)[:m] for a in _errors(net, xc, problem)])
    out = {k: np.concatenate([p[j] for p in parts]) for j, k in enumerate(("r", "value",
                                                                            "grad"))}
    w = 1.0 + out["r"] ** float(kappa)
    out["value_w"], out["grad_w"] = out["value"] / w, out["grad"] / w
    return out


@functools.partial(jax.jit, static_argnames=("problem",))
def _solution_norms(x, problem):
    return (jnp.abs(problem.solution(x)), jnp.linalg.norm(problem.solution_grad(x), axis=-1),
            jnp.linalg.norm(x, axis=-1))


def sweep_points(sampler, key, num_points: int, *, dtype=None, chunk: int = 8192):
    """The sweep's points ``sampler.points(key, i)``, i < ``num_points``, in chunks of
    ``chunk`` indices (the last one padded, so one compilation): yields ``(n, d)`` arrays."""
    for start in range(0, num_points, chunk):
        x = sampler.points(key, jnp.arange(start, start + chunk), dtype=dtype)
        yield x[:min(chunk, num_points - start)]


def zero_network_reference(problem, sampler, key, num_points: int, kappas, *, shells=(),
                           dtype=None) -> dict:
    r"""Weighted errors of the zero network N = 0 on the sweep's points.

    For the points :math:`x_i=` ``sampler.points(key, i)``, i < ``num_points`` (those of the
    sweep), and each κ in ``kappas``:

    .. math::
        \max_i\frac{|u(x_i)|}{1+\|x_i\|^\kappa},\qquad
        \max_i\frac{\|\nabla u(x_i)\|}{1+\|x_i\|^\kappa},

    over all points and per shell :math:`r_{\min}\le\|x\|<r_{\max}` of ``shells`` (the
    sweep's radial profile), with the unweighted maxima per shell. u is evaluated in the
    points' dtype, the ratios in float64.
    """
    r_all, u_all, g_all = [], [], []
    for x in sweep_points(sampler, key, num_points, dtype=dtype):
        u, g, r = (np.asarray(a, np.float64) for a in _solution_norms(x, problem))
        r_all.append(r)
        u_all.append(u)
        g_all.append(g)
    r, u, g = (np.concatenate(v) for v in (r_all, u_all, g_all))
    edges = _shell_edges(shells)
    out = {"num_points": int(num_points),
           "what": "errors of the zero network N = 0 (|u| and |grad u|) on the sweep's points",
           "kappas": {}}
    for kappa in kappas:
        w = 1.0 + r**kappa
        prof = []
        for lo, hi in edges:
            m = (r >= lo) & (r < hi)
            prof.append({"r_min": lo, "r_max": None if not np.isfinite(hi) else hi,
                         "value_sup": float((u[m] / w[m]).max()) if m.any() else None,
                         "derivative_sup": float((g[m] / w[m]).max()) if m.any() else None,
                         "value_sup_unweighted": float(u[m].max()) if m.any() else None,
                         "derivative_sup_unweighted": float(g[m].max()) if m.any() else None})
        out["kappas"][f"{kappa:g}"] = {"kappa": float(kappa), "value_sup": float((u / w).max()),
                                      "derivative_sup": float((g / w).max()),
                                      "radial_profile": prof}
    return out


def _argmax_radius(stats) -> float | None:
    p = (stats or {}).get("argmax")
    return None if p is None else float(np.linalg.norm(np.asarray(p, np.float64)))


def ratio_meaning(sweep: dict, zero: dict, problem) -> str:
    """One line: what the sweep's weighted sup error/(1+|x|^κ) means, against the zero
    network N = 0 on the same points (in the outermost shell, where growth decides)."""
    kappa = sweep["kappa"]
    z = zero["kappas"][f"{kappa:g}"]
    dv, dg = sweep["value"], sweep.get("derivative") or {}
    where = (f"the sups {_fmt(dv['sup'])} (u) / {_fmt(dg.get('sup'))} (grad u) are at "
             f"|x| = {_fmt(_argmax_radius(dv))} / {_fmt(_argmax_radius(dg))}")
    shells = [s for s in sweep.get("radial_profile") or [] if s.get("count")]
    zs = {s["r_min"]: s for s in z["radial_profile"]}
    if len(shells) < 2 or shells[-1]["r_min"] not in zs:
        return (f"error/(1+|x|^{kappa:g}): {where}; the zero network N = 0 scores "
                f"{_fmt(z['value_sup'])} / {_fmt(z['derivative_sup'])} on the same points")
    out, zo = shells[-1], zs[shells[-1]["r_min"]]
    pairs = ((out["value_sup"], zo["value_sup"]), (out.get("derivative_sup"),
                                                   zo["derivative_sup"]))
    head = (f"far out (|x| >= {out['r_min']:.3g}) error/(1+|x|^{kappa:g}) is "
            f"{_fmt(pairs[0][0])} (u) / {_fmt(pairs[1][0])} (grad u), the zero network N = 0 "
            f"scores {_fmt(pairs[0][1])} / {_fmt(pairs[1][1])} there")
    same = [a is not None and b is not None and a >= 0.5 * b for a, b in pairs]
    _, nu, _ = problem_growth(problem)
    if all(same):
        verdict = ": no better than predicting 0"
        if nu is not None and nu > 1 and kappa <= nu:
            verdict += (f" (u grows like |x|^{nu:g}, a ReLU network at most like |x|, so the "
                        f"ratio tends to |u|/(1+|x|^{kappa:g})): it measures no extrapolation")
        elif nu is not None and kappa > max(nu, 1.0):
            verdict += (f" (the weight 1+|x|^{kappa:g} outgrows u and every ReLU network, so far "
                        "out all networks score about N = 0's): far out it tells nothing")
    elif any(same):
        verdict = (f": no better than predicting 0 for {'u' if same[0] else 'grad u'}, "
                   "better for the other")
    else:
        verdict = ": better than predicting 0 far out"
    return f"{head}{verdict}; {where}"


# -- the local-to-global wrap ----------------------------------------------------------


def measure_local_error(net, problem, half_width: float, key, num_points: int):
    """The sample maxima of |u - RΦ| and ‖∇u - D^NΦ‖ on ``num_points`` uniform points of
    the open cube (-half_width, half_width)^d (a lower estimate of the true sup)."""
    u = _random.uniform(key, (num_points, problem.dim), net.dtype, -1.0, 1.0)
    x = jnp.asarray(half_width, net.dtype) * u
    e = pointwise(net, problem, x)
    return float(e["value"].max()), float(e["grad"].max())


def network_local_measured(net, problem, *, growth, key, num_points: int, returned=None):
    """``net`` as a :class:`jrelu.constructions.LocalApproximant` of u(T,·) whose local
    error on the cube is measured on ``num_points`` uniform points (``certified=False``),
    like :func:`jrelu.constructions.network_local`, with one compiled evaluation.
    ``measure(B)`` returns (and caches) the measured errors on (-B, B)^d. ``returned``:
    the network the builder returns instead of ``net`` (a stand-in when ``net`` is not a
    plain :class:`jrelu.Network`: the construction's constants do not depend on it)."""
    from .constructions import LocalApproximant

    returned = net if returned is None else returned

    cache = {}

    def measure(half_width):
        if half_width not in cache:
            cache[half_width] = measure_local_error(net, problem, half_width, key, num_points)
        return cache[half_width]

    def build(delta, B):
        ev, ed = measure(B)
        if ev > delta or ed > delta:
            raise ValueError(f"the network's measured local error on (-{B:g}, {B:g})^"
                             f"{problem.dim} (value {ev:.3g}, derivative {ed:.3g}, "
                             f"{num_points} samples) exceeds the requested delta = {delta:.3g}")
        return returned, {"certified": False, "measured_value_error": ev,
                          "measured_derivative_error": ed, "num_points": num_points}

    loc = LocalApproximant(build, problem.dim, growth, f"network{tuple(net.widths)}",
                           f=problem.solution, grad=problem.solution_grad, certified=False)
    return loc, measure


def choose_epsilon(measure, c: float, *, max_doublings: int = 20):
    r"""The smallest ε on the grid :math:`4c/2^k` for which the measured local error e on
    the cube :math:`(-B_\varepsilon-1,B_\varepsilon+1)^d`, :math:`B_\varepsilon=
    \max(1,4c/\varepsilon)`, is at most δ = ε/2 (as
    :func:`jrelu.constructions.global_network` requires); if even k = 0 fails, ε = 2e on
    (-2, 2)^d (then B = 1). Returns ``(eps, tried)``."""
    tried, best = [], None
    for k in range(max_doublings + 1):
        eps = 4.0 * c / 2.0**k
        B = max(1.0, 4.0 * c / eps)  # as global_network computes it
        ev, ed = measure(B + 1.0)
        tried.append({"epsilon": eps, "half_width": B + 1.0, "value_error": ev,
                      "derivative_error": ed, "fits": max(ev, ed) <= eps / 2.0})
        if not tried[-1]["fits"]:
            break
        best = eps
    if best is None:  # even B = 1 fails: the smallest ε > 4c with e <= ε/2 (B stays 1)
        best = 2.0 * max(tried[0]["value_error"], tried[0]["derivative_error"])
    return best, tried


#: the largest dense network (parameters) that :func:`wrap_global` builds from a structured one
DENSE_LIMIT = 2_000_000


def wrap_global(net, problem, key, *, epsilon=None, growth_c=None, growth_nu=None,
                num_points: int = 2048) -> dict:
    r"""Wrap ``net`` with the cut-off and multiplication networks: :math:`\Phi_\varepsilon`.

    :func:`jrelu.constructions.global_network` on ``net`` as a local approximant of u(T,·)
    (:func:`network_local_measured`): the local error of ``net`` on the cube
    :math:`(-B-1,B+1)^d` is *measured* on ``num_points`` uniform samples (a lower estimate
    of the true sup: not a certificate); given that local error, the construction's
    algebra *guarantees* :math:`|u-R\Phi_\varepsilon|\le\varepsilon(1+\|x\|^\kappa)` for
    every x and :math:`\|\nabla u-D^N\Phi_\varepsilon\|\le C\varepsilon^r(1+\|x\|^\kappa)`
    a.e., κ = ν + 1. ``epsilon=None`` takes the smallest ε that the measured local error
    allows (:func:`choose_epsilon`).

    A ``net`` that is not a plain :class:`jrelu.Network` (e.g. a structured averaging
    network) is densified with ``to_network()`` if the dense form has at most
    :data:`DENSE_LIMIT` parameters; otherwise Φ_ε is not built, but its guarantee is
    still computed from the measured local error (the constants ε, C, κ do not depend on
    the local network's weights).

    Returns a dict: ``status`` ("built" or "skipped"), ``reason`` (skipped), ``network``
    (the :class:`jrelu.Network`) and ``record`` (its
    :class:`jrelu.constructions.GlobalRecord`) when built, and ``measured`` and
    ``guaranteed`` (JSON-able) whenever the local error was measured.
    """
    from .constructions import global_network
    from .network import Network

    c0, nu0, why = problem_growth(problem)
    if c0 is None:
        return {"status": "skipped", "reason": why}
    c = growth_c if growth_c is not None else c0
    nu = growth_nu if growth_nu is not None else nu0
    standin, not_built = None, None
    if not isinstance(net, Network):
        widths = list(getattr(net, "widths", None) or [])
        dense = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:])) if widths else None
        if hasattr(net, "to_network") and dense is not None and dense <= DENSE_LIMIT:
            net = net.to_network()
        else:  # the guarantee's constants need only the measured local error
            standin = Network([(jnp.zeros((1, problem.dim), net.dtype),
                                jnp.zeros((1,), net.dtype))])
            not_built = (f"the solver's {type(net).__name__} is not a plain jrelu.Network "
                         f"and its dense form ({dense} parameters) is too large: Phi_eps is "
                         "not built; its guarantee (computed) needs only the measured local "
                         "error")
    local, measure = network_local_measured(net, problem, growth=(c, nu), key=key,
                                            num_points=num_points, returned=standin)
    tried = None
    if epsilon is None:
        epsilon, tried = choose_epsilon(measure, c)
    try:
        wrapped, record = global_network(local, epsilon)
    except ValueError as e:
        return {"status": "skipped", "reason": " ".join(str(e).split())}
    info = record.local_info
    half = record.B + 1.0
    measured = {
        "local_value_error": info["measured_value_error"],
        "local_derivative_error": info["measured_derivative_error"],
        "cube": [-half, half], "num_points": num_points, "epsilon_search": tried,
        "note": (f"measured: sample maxima on {num_points} uniform points of "
                 f"(-{half:g}, {half:g})^{problem.dim}, a lower estimate of the true local "
                 "sup error, not a certificate")}
    guaranteed = {
        "epsilon": record.eps, "kappa": record.kappa, "C": record.C, "r": record.r,
        "grad_constant": record.C * record.eps ** record.r, "growth": [c, nu],
        "growth_why": why if (growth_c, growth_nu) == (None, None) else "given in the config",
        "value_bound": f"|u - R Phi_eps| <= {record.eps:.4g} (1+|x|^{record.kappa:g}) for every x",
        "grad_bound": (f"|grad u - D^N Phi_eps| <= {record.C * record.eps ** record.r:.4g} "
                       f"(1+|x|^{record.kappa:g}) for almost every x"),
        "note": ("guaranteed by the construction's algebra given the local error "
                 f"(<= delta = eps/2 = {record.delta:.4g} on the cube); exactly 0 with D^N = 0 "
                 f"where max_i |x_i| > {half:g}")}
    if not_built:
        return {"status": "skipped", "reason": not_built, "certified": False,
                "measured": measured, "guaranteed": guaranteed}
    return {"status": "built", "network": wrapped, "record": record, "certified": False,
            "measured": measured, "guaranteed": guaranteed}


def guarantee_line(wrap: dict, zero_theorem: dict | None, problem=None) -> str:
    """One line: what the local-to-global construction guarantees for this network, which
    parts are measured and which guaranteed, against the zero network in the same weight."""
    if "guaranteed" not in wrap:
        return f"local-to-global guarantee: not available ({wrap['reason']})"
    m, g = wrap["measured"], wrap["guaranteed"]
    half = m["cube"][1]
    line = (f"local-to-global guarantee (kappa = {g['kappa']:g}): |u - R Phi_eps| <= "
            f"{g['epsilon']:.3g}(1+|x|^{g['kappa']:g}) everywhere, |grad u - D^N Phi_eps| <= "
            f"{g['grad_constant']:.3g}(1+|x|^{g['kappa']:g}) a.e. [guaranteed, given the local "
            f"error {max(m['local_value_error'], m['local_derivative_error']):.3g} on "
            f"(-{half:g}, {half:g})^d measured on {m['num_points']} points: not a "
            "certificate]")
    if zero_theorem is not None:
        line += (f"; N = 0 scores {zero_theorem['value_sup']:.3g} / "
                 f"{zero_theorem['derivative_sup']:.3g} in that weight")
        if g["epsilon"] >= zero_theorem["value_sup"] and problem is not None:
            a, b = problem.box
            line += (f": weaker than predicting 0, as the construction needs accuracy on "
                     f"(-{half:g}, {half:g})^d and the network was made for [{a:g}, {b:g}]^d")
    return line


def wrapped_errors(wrapped, record, problem, sampler, key, num_points: int, kappas, *,
                   dtype=None) -> dict:
    r"""Errors of Φ_ε on the sweep's points: the weighted sups for each κ in ``kappas``, the
    theorem's check (κ = ν + 1: sup ≤ ε and ≤ Cε^r) and whether every point lies under
    :func:`jrelu.constructions.global_bound`'s envelopes (which hold wherever the measured
    local error is the true local sup), up to rounding: an error counts as a violation if it
    exceeds the envelope by more than 32 units in the last place of the network's dtype
    (outside the cube the envelope |u| is attained exactly). The first (at most 8192)
    points' radii, errors and envelopes come along under ``plot`` (NumPy; not JSON)."""
    from .constructions import global_bound

    slack = 1.0 + 32 * float(jnp.finfo(wrapped.dtype).eps)
    sups = {f"{k:g}": {"kappa": float(k), "value_sup": 0.0, "derivative_sup": 0.0,
                       "value_argmax_radius": None, "derivative_argmax_radius": None}
            for k in kappas}
    check = {"points": 0, "value_violations": 0, "derivative_violations": 0,
             "value_max_error_over_envelope": 0.0, "derivative_max_error_over_envelope": 0.0}
    plot = None
    for x in sweep_points(sampler, key, num_points, dtype=dtype):
        e = pointwise(wrapped, problem, x)
        r, ev, ed = e["r"], e["value"], e["grad"]
        for s in sups.values():
            w = 1.0 + r ** s["kappa"]
            for name, err in (("value", ev), ("derivative", ed)):
                i = int(np.argmax(err / w))
                if err[i] / w[i] > s[f"{name}_sup"]:
                    s[f"{name}_sup"], s[f"{name}_argmax_radius"] = float(err[i] / w[i]), float(r[i])
        env = global_bound(record, np.asarray(x, np.float64))
        check["points"] += int(x.shape[0])
        for name, err, bound in (("value", ev, env.value), ("derivative", ed, env.derivative)):
            check[f"{name}_violations"] += int((err > bound * slack).sum())
            with np.errstate(divide="ignore", invalid="ignore"):
                q = float(np.nanmax(np.where(bound > 0, err / bound, 0.0)))
            check[f"{name}_max_error_over_envelope"] = max(
                check[f"{name}_max_error_over_envelope"], q)
        if plot is None:
            plot = {"r": r, "errors": (ev, ed),
                    "envelope": (np.asarray(env.value), np.asarray(env.derivative))}
    th = sups[f"{record.kappa:g}"]
    bound = record.C * record.eps ** record.r
    theorem = {"kappa_theorem": record.kappa, "value_sup": th["value_sup"],
               "value_bound": record.eps, "value_bound_holds": th["value_sup"] <= record.eps,
               "grad_sup": th["derivative_sup"], "grad_bound": bound,
               "grad_bound_holds": th["derivative_sup"] <= bound}
    return {"num_points": int(num_points), "sups": sups, "theorem_check": theorem,
            "envelope_check": check, "plot": plot}


def theorem_check(record: dict, sweep, kappa: float) -> dict:
    """Whether a sweep's weighted sup errors satisfy a global network's bounds (only
    meaningful with the theorem's κ)."""
    bound = record["C"] * record["eps"] ** record["r"]
    return {
        "kappa_used": kappa, "kappa_theorem": record["kappa"],
        "value_sup": sweep.value.sup, "value_bound": record["eps"],
        "value_bound_holds": bool(kappa == record["kappa"] and sweep.value.sup <= record["eps"]),
        "grad_sup": sweep.derivative.sup, "grad_bound": bound,
        "grad_bound_holds": bool(kappa == record["kappa"] and sweep.derivative.sup <= bound),
    }


# -- errors.png ------------------------------------------------------------------------


def plot_sample(problem, net, sweep_x, box_x, kappa, *, n: int = CHUNK) -> dict:
    """Pointwise errors for the figure on the first ``n`` sweep points ``sweep_x`` and the
    first ``n`` points ``box_x`` (uniform on the problem's box), raw and weighted, with each
    point's box membership (``in_box``)."""
    a, b = problem.box
    parts = {}
    for name, x in (("sweep", sweep_x[:n]), ("box", box_x[:n])):
        x = jnp.asarray(x, net.dtype)
        parts[name] = pointwise(net, problem, x, kappa)
        xn = np.asarray(x, np.float64)
        parts[name]["in_box"] = np.all((xn >= a) & (xn <= b), axis=-1)
    return parts


def _radial_midpoints(shells):
    # JSON has no inf: the outermost shell's r_max is serialized as None
    r_hi = [np.inf if s["r_max"] is None else s["r_max"] for s in shells]
    return np.array([np.sqrt(s["r_min"] * hi) if np.isfinite(hi) and s["r_min"] > 0
                     else (hi / 2 if np.isfinite(hi) else 2 * s["r_min"])
                     for s, hi in zip(shells, r_hi)])


def _legend(ax, **kwargs):
    """A small legend whose scatter markers are drawn large enough to see."""
    leg = ax.legend(fontsize=7, framealpha=0.85, scatterpoints=1, **kwargs)
    for h in getattr(leg, "legend_handles", getattr(leg, "legendHandles", [])):
        if hasattr(h, "set_sizes"):
            h.set_sizes([16])
            h.set_alpha(1)
    return leg


def _box_label(problem):
    a, b = problem.box
    return f"[{a:g}, {b:g}]^{{{problem.dim}}}"


def _plot_error_panels(axes, report, pw, problem):
    """axes[0][j] raw, axes[1][j] weighted; j = 0 value of u, j = 1 gradient."""
    sweep = report["sweep"]
    kappa = sweep["kappa"]
    shells = sweep.get("radial_profile") or []
    rmid = _radial_midpoints(shells) if shells else np.zeros(0)
    zero = (report.get("zero_network") or {}).get("kappas", {}).get(f"{kappa:g}")
    zshells = zero["radial_profile"] if zero else []
    zmid = _radial_midpoints(zshells) if zshells else np.zeros(0)
    box = _box_label(problem)
    inside = np.concatenate([pw["box"]["in_box"], pw["sweep"]["in_box"]])
    where = "the training box" if report.get("solver") == "learning" else "the box"
    weight = rf"$/\,(1+\|x\|^{{{kappa:g}}})$"
    panels = [("value", "value_sup", r"$|u(x)-N(x)|$", "u"),
              ("grad", "derivative_sup", r"$\|\nabla u(x)-D^N N(x)\|$", r"$\nabla u$")]
    for j, (key, skey, err, what) in enumerate(panels):
        for i, weighted in enumerate((False, True)):
            ax = axes[i][j]
            k = key + ("_w" if weighted else "")
            r = np.concatenate([pw["box"]["r"], pw["sweep"]["r"]])
            e = np.concatenate([pw["box"][k], pw["sweep"][k]])
            pos = e[e > 0]
            floor = pos.min() / 2 if pos.size else 1e-300
            ax.scatter(r[~inside], np.maximum(e[~inside], floor), s=3, alpha=0.35, color="C0",
                       lw=0, label=f"sweep points outside the box ({int((~inside).sum())})")
            ax.scatter(r[inside], np.maximum(e[inside], floor), s=3, alpha=0.5, color="C2",
                       lw=0, label=rf"points in {where} ${box}$ ({int(inside.sum())})")
            if weighted and shells:
                ax.plot(rmid, [max(s[skey] or 0.0, floor) for s in shells], "o-", color="C3",
                        ms=4, label="network: largest value in each shell (sweep)")
            if zshells:
                zk = skey if weighted else skey + "_unweighted"
                ax.plot(zmid, [max(s[zk] or 0.0, floor) for s in zshells], "--", color="0.3",
                        lw=1.2, label=r"zero network $N=0$: largest in each shell (error = "
                        + (r"$|u|$)" if key == "value" else r"$\|\nabla u\|$)"))
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(r"distance from the origin $\|x\|$")
            ax.set_ylabel(err + (" " + weight if weighted else ""))
            ax.set_title(("weighted error of " if weighted else "error of ") + what
                         + (rf" (divided by $1+\|x\|^{{{kappa:g}}}$)" if weighted else
                            " (raw)"), fontsize=10)
            ax.grid(True, which="major", alpha=0.3)
            _legend(ax, loc="best")


def _plot_training_curve(ax, losses, floor: dict | None):
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, lw=0.4, alpha=0.4, color="C0", label="loss of one batch")
    k = max(1, len(losses) // 100)
    m = np.convolve(losses, np.ones(k) / k, mode="valid")
    ax.plot(steps[k - 1:], m, lw=1.5, color="C1", label=f"running mean over {k} steps")
    if floor is not None:
        how = "closed form" if floor["num_samples"] is None else \
            f"Monte Carlo, {floor['num_samples']} samples"
        if "horizon" in floor and "box" in floor:
            a, b = floor["box"]
            how += f"; t = {floor['horizon']:g}, ξ in [{a:g}, {b:g}]^d"
        if floor.get("inputs") == "paths":
            how += ", inputs at path ends"
        if floor.get("target_paths", 1) > 1:
            how += f", targets over {floor['target_paths']} paths"
        how = "\n".join(textwrap.wrap(f"({how})", 60))
        ax.axhline(floor["value"], color="k", ls="--", lw=1.2,
                   label=f"noise floor {floor['value']:.4g} = "
                         r"$\mathbb{E}\,(y-u(t,x))^2$" f"\n{how}\n"
                         "the loss of the exact solution; no network can go lower")
        hi = float(np.quantile(losses, 0.995)) if len(losses) > 10 else float(losses.max())
        lo = min(float(m.min()), floor["value"])
        ax.set_ylim(lo * 0.97, max(hi * 1.05, floor["value"] * 1.1))
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(r"loss: batch mean of $(N(x)-y)^2$, targets $y$")
    ax.set_title("training: noisy Feynman–Kac targets (flat = at the noise floor)",
                 fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="best", framealpha=0.85)


def _plot_paths_study(ax, study):
    n = np.array([s["paths"] for s in study])
    ax.loglog(n, [s["value_rel_l2"] for s in study], "o-", label=r"$u$")
    ax.loglog(n, [s["grad_rel_l2"] for s in study], "s-", label=r"$\nabla u$")
    g0 = study[0]["grad_rel_l2"]
    ax.loglog(n, g0 * np.sqrt(n[0] / n), "k--", lw=0.8, label=r"$n^{-1/2}$ (Monte Carlo)")
    ax.set_xlabel("number of Feynman–Kac paths n averaged")
    ax.set_ylabel("relative $L^2$ error on the box")
    ax.set_title("Monte-Carlo averaging network: error vs paths", fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)


def _plot_global_summary(ax, glob):
    rec = glob["record"]
    ax.axis("off")
    lines = [r"local-to-global network $\Phi_\varepsilon$ (BEGJ, arXiv:1905.04992)",
             f"ε = {rec['eps']:g}, κ = ν + 1 = {rec['kappa']:g}, r = {rec['r']:g}",
             f"B = {rec['B']:g}, b = {rec['b']:g}, m = {rec['m']}, C = {rec['C']:.3g}",
             f"depth {rec['depth']}, width {rec['width']}, {rec['num_params']} parameters"]
    t = glob.get("theorem_check")
    if t:
        lines += [f"sup weighted value error {t['value_sup']:.2e} ≤ ε: "
                  f"{t['value_bound_holds']}",
                  f"sup weighted gradient error {t['grad_sup']:.2e} ≤ Cε^r = "
                  f"{t['grad_bound']:.2e}: {t['grad_bound_holds']}"]
    ax.text(0.0, 0.95, "\n".join(lines), va="top", fontsize=9, family="monospace")


def _plot_wrap_panel(ax, wrap_report, env):
    """The wrapped network's weighted errors (theorem's κ) against its envelopes."""
    g = wrap_report["guaranteed"]
    kappa = g["kappa"]
    r, (ev, ed), (vv, vd) = env["r"], env["errors"], env["envelope"]
    w = 1.0 + r**kappa
    pos = np.concatenate([ev[ev > 0] / w[ev > 0], ed[ed > 0] / w[ed > 0], [g["epsilon"]]])
    floor = pos.min() / 2
    ax.scatter(r, np.maximum(ev / w, floor), s=3, color="C0", lw=0, alpha=0.5,
               label="value error (measured)")
    ax.scatter(r, np.maximum(ed / w, floor), s=3, color="C1", lw=0, alpha=0.5,
               label="gradient error (measured)")
    ax.plot(r, vv / w, "_", color="C0", ms=5, label="value envelope at each point "
            "(guaranteed*)")
    ax.plot(r, vd / w, "_", color="C1", ms=5, label="gradient envelope at each point "
            "(guaranteed*)")
    ax.axhline(g["epsilon"], color="C0", ls="--", lw=1,
               label=rf"$\varepsilon$ = {g['epsilon']:.3g}")
    ax.axhline(g["grad_constant"], color="C1", ls="--", lw=1,
               label=rf"$C\varepsilon^r$ = {g['grad_constant']:.3g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"distance from the origin $\|x\|$")
    ax.set_ylabel(rf"error of $\Phi_\varepsilon$ $/\,(1+\|x\|^{{{kappa:g}}})$")
    ax.set_title(r"wrapped network $\Phi_\varepsilon$ (global_wrap): errors vs envelopes"
                 "\n*guaranteed given its local error, measured on samples (not a certificate)",
                 fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    _legend(ax, loc="best")


def _plot_text(ax, report):
    ax.axis("off")
    paras = ["How to read these numbers"]
    if report.get("weighted_ratio_meaning"):
        paras.append(report["weighted_ratio_meaning"])
    g = report.get("global_guarantee")
    if g and g.get("line"):
        paras.append(g["line"])
    text = "\n\n".join(textwrap.fill(p, 58) for p in paras)
    ax.text(0.0, 1.0, text, va="top", ha="left", fontsize=8, transform=ax.transAxes)


def plot_report(path, report: dict, pw, losses, problem, *, wrap_points=None):
    """``errors.png``, 2 × 3 panels: raw (top) and weighted (bottom) errors of u and ∇u
    against ‖x‖ (points in the training box apart from those outside it, the sweep's shell
    maxima and the zero network for reference); the training curve with its noise floor
    (or the paths study, or the global network's constants); the wrapped network against
    its envelopes, or how to read the numbers. ``path=None``: not saved. Returns the
    matplotlib figure."""
    from .io import atomic_write
    from .plot import figure

    fig = figure(figsize=(17, 9), layout="constrained")
    axes = fig.subplots(2, 3)
    _plot_error_panels(axes, report, pw, problem)
    if losses is not None and len(losses):
        _plot_training_curve(axes[0][2], np.asarray(losses, np.float64),
                             report.get("noise_floor"))
    elif report.get("constructive"):
        _plot_paths_study(axes[0][2], report["constructive"]["paths_study"])
    elif report.get("global"):
        _plot_global_summary(axes[0][2], report["global"])
    else:
        axes[0][2].axis("off")
    wrap = report.get("global_wrap")
    if wrap and wrap.get("status") == "built" and wrap_points is not None:
        _plot_wrap_panel(axes[1][2], wrap, wrap_points)
    else:
        _plot_text(axes[1][2], report)
    what = {"learning": "the learned network", "constructive": "the Monte-Carlo averaging "
            "network", "global": r"the local-to-global network $\Phi_\varepsilon$"}
    fig.suptitle(f"jrelu run {report['name']}: {report['problem']['description']}\n"
                 f"$N$ = {what.get(report['solver'], 'the network')}, $D^N N$ = its network "
                 "derivative (what backpropagation computes), u = the exact solution u(T, x)",
                 fontsize=11)
    if path is not None:
        atomic_write(path, lambda f: fig.savefig(f, dpi=100, format="png"))
    return fig


# -- the printed table -----------------------------------------------------------------


def print_table(report: dict, out) -> None:
    """The run's summary: the solution, the errors on the box, the weighted sweep, what the
    weighted ratio means, the zero network's reference and the local-to-global guarantee."""
    be, sw = report["box_errors"], report["sweep"]
    n = report["network"]
    print(f"\n== jrelu run {report['name']}: {report['problem']['description']} ==")
    if "training" in report:
        t = report["training"]
        fl = report.get("noise_floor")
        floor = f" (noise floor {fl['value']:.4g}: the loss of the exact solution)" if fl else ""
        print(f"learned network {tuple(n['widths'])}, {t['steps']} steps × batch "
              f"{t['batch_size']}, final loss {t['final_loss']:.4g}{floor}, training "
              f"{t['seconds']:.1f}s")
    elif "constructive" in report:
        c = report["constructive"]
        print(f"Monte-Carlo averaging network of {c['paths']} paths, widths "
              f"{tuple(n['widths'])}")
        for r in c["paths_study"]:
            print(f"  n = {r['paths']:>6d}: relative L2 error u {r['value_rel_l2']:.3e}, "
                  f"grad u {r['grad_rel_l2']:.3e}")
    else:
        g = report["global"]
        print(f"local-to-global network, eps = {g['epsilon']:g}, widths {tuple(n['widths'])}")
    sampler = sw["sampler"]["sampler"]
    kappa = sw["kappa"]
    rows = [
        (f"relative L2 error on the box ({be['points']} pts)", be["value_rel_l2"],
         be["grad_rel_l2"]),
        ("max abs error on the box", be["value_max_abs"], be["grad_max_abs"]),
        (f"sup error/(1+|x|^{kappa:g}), {sampler} ({sw['num_points']} pts)",
         sw["value"]["sup"], (sw.get("derivative") or {}).get("sup")),
    ]
    zero = (report.get("zero_network") or {}).get("kappas", {}).get(f"{kappa:g}")
    if zero:
        rows.append(("  same, zero network N = 0 (reference)", zero["value_sup"],
                     zero["derivative_sup"]))
    wrap = report.get("global_wrap")
    if wrap and wrap.get("status") == "built":
        w, g = wrap, wrap["guaranteed"]
        rows += [("wrapped Phi_eps: relative L2 error on the box",
                  w["box_errors"]["value_rel_l2"], w["box_errors"]["grad_rel_l2"]),
                 (f"wrapped Phi_eps: sup error/(1+|x|^{kappa:g})",
                  w["sweeps"][f"{kappa:g}"]["value_sup"],
                  w["sweeps"][f"{kappa:g}"]["derivative_sup"]),
                 (f"wrapped Phi_eps: sup error/(1+|x|^{g['kappa']:g})",
                  w["sweeps"][f"{g['kappa']:g}"]["value_sup"],
                  w["sweeps"][f"{g['kappa']:g}"]["derivative_sup"]),
                 ("  guaranteed: eps and C eps^r", g["epsilon"], g["grad_constant"])]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'u':>10}  {'grad u':>10}")
    for label, v, gr in rows:
        gs = f"{gr:10.3e}" if gr is not None else f"{'n/a':>10}"
        print(f"{label:{width}}  {v:10.3e}  {gs}")
    if report.get("weighted_ratio_meaning"):
        print(f"meaning: {report['weighted_ratio_meaning']}")
    gg = report.get("global_guarantee")
    if gg and gg.get("line"):
        print(gg["line"])
    if wrap and wrap.get("status") == "skipped":
        print(f"global_wrap: skipped: {wrap['reason']}")
    elif wrap and wrap.get("status") == "built":
        ec = wrap["envelope_check"]
        print(f"global_wrap: wrote {wrap['file']} ({tuple(wrap['record']['widths'][:1])[0]} -> "
              f"1, depth {wrap['record']['depth']}, {wrap['record']['num_params']} params); "
              f"envelope [guaranteed given the measured local error] holds at "
              f"{ec['points'] - ec['value_violations']}/{ec['points']} (u), "
              f"{ec['points'] - ec['derivative_violations']}/{ec['points']} (grad u) sweep points")
    if "global" in report and "theorem_check" in report["global"]:
        t = report["global"]["theorem_check"]
        print(f"theorem (kappa = {t['kappa_theorem']:g}): sup value error {t['value_sup']:.3e} "
              f"<= eps = {t['value_bound']:.3e}: {t['value_bound_holds']}; sup gradient error "
              f"{t['grad_sup']:.3e} <= C eps^r = {t['grad_bound']:.3e}: {t['grad_bound_holds']}")
    print(f"wrote {', '.join(report['files'])} to {out}  ({report['seconds']:.1f}s)")
