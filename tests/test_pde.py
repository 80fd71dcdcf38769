"""Kolmogorov PDEs: closed forms, exact Feynman–Kac samplers, both solvers."""

import functools
import math

import chex
import helpers
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import dyadic_network, plant_kinks

import jrelu
from jrelu import pde

HEAT = [pde.HeatSquare(dim=5, T=0.7, box=(0.0, 1.0)),
        pde.HeatCosine(dim=4, T=0.3, box=(-2.0, 2.0))]
BS = pde.BlackScholesGeometric(dim=4, T=0.8, rate=0.03, volatility=(0.1, 0.2, 0.3, 0.25),
                               correlation=0.4, strike=100.0, box=(90.0, 110.0))


def _points(problem, n=6, seed=0):
    return problem.sample_box(jax.random.key(seed), n, dtype=jnp.float64)


def _pde_residual(problem, t, x):
    r"""∂_t u − ½Tr(σσᵀ∇²u) − ⟨μ,∇u⟩ by autodiff of the closed form, at one point."""
    u = lambda t_, x_: problem.value(t_, x_)
    dt = jax.grad(u, argnums=0)(t, x)
    grad = jax.grad(u, argnums=1)(t, x)
    hess = jax.hessian(u, argnums=1)(t, x)
    mu, sigma = problem.generator(x)
    return dt - 0.5 * jnp.trace(sigma @ sigma.T @ hess) - mu @ grad


# -- closed forms ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=0)
def _closed_form_checks(problem, ts, xs):
    """The PDE residual at (ts × xs), the solution's scale there, and solution_grad next to
    jax.grad of the solution (one compiled program per problem)."""
    res = jax.vmap(jax.vmap(lambda t, x: _pde_residual(problem, t, x), (None, 0)),
                   (0, None))(ts, xs)
    scale = 1.0 + jnp.abs(jax.vmap(lambda t: problem.value(t, xs))(ts))
    return res, scale, problem.solution_grad(xs), jax.vmap(jax.grad(problem.solution))(xs)


@pytest.mark.parametrize("problem", HEAT + [BS], ids=lambda p: p.name)
def test_closed_form_solves_the_kolmogorov_pde_and_gradient_is_its_gradient(problem):
    xs = _points(problem)
    ts = jnp.array([0.1, problem.T, 2.0])
    res, scale, grad, auto = _closed_form_checks(problem, ts, xs)
    assert float(jnp.max(jnp.abs(res) / scale)) <= 1e-10
    chex.assert_trees_all_close(grad, auto, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("problem", HEAT, ids=lambda p: p.name)
def test_heat_closed_form_is_the_feynman_kac_expectation_exactly(problem):
    """φ is a sum of one-dimensional terms, so E φ(x + √(2T)Z) is a sum of 1-d Gaussian
    integrals; Gauss–Hermite quadrature with 60 nodes integrates them to round-off (exactly
    for ‖x‖², a polynomial of degree 2). Independent of the closed form's derivation."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / math.sqrt(2 * math.pi)  # E g(Z) = Σ w_k g(z_k), Z ~ N(0, 1)
    a = math.sqrt(2 * problem.T)
    phi1 = (lambda y: y * y) if problem.name == "heat_square" else np.cos
    dphi1 = (lambda y: 2 * y) if problem.name == "heat_square" else (lambda y: -np.sin(y))
    x = np.asarray(_points(problem))
    shifted = x[..., None] + a * nodes  # (n, d, K)
    expect = np.sum(phi1(shifted) @ weights, axis=-1)
    expect_grad = dphi1(shifted) @ weights  # ∇E φ(x + aZ) = E ∇φ(x + aZ)
    np.testing.assert_allclose(problem.solution(x), expect, rtol=1e-14, atol=1e-13)
    np.testing.assert_allclose(problem.solution_grad(x), expect_grad, rtol=1e-14, atol=1e-13)
    # and at t = 0 the solution is φ itself
    np.testing.assert_array_equal(problem.value(0.0, jnp.asarray(x)), problem.phi(x))


def test_heat_square_formula_values():
    p = pde.HeatSquare(dim=3, T=0.5)
    x = jnp.array([[0.5, -1.0, 2.0]])
    assert float(p.solution(x)[0]) == 0.25 + 1.0 + 4.0 + 2 * 0.5 * 3
    np.testing.assert_array_equal(p.solution_grad(x), 2 * x)


def _bs_call(s, k, r, sigma, t, q=0.0):
    """Textbook Black–Scholes call with dividend yield q (price, delta), written with math.erf."""
    N = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    d1 = (math.log(s / k) + (r - q + sigma**2 / 2) * t) / (sigma * math.sqrt(t))
    d2 = d1 - sigma * math.sqrt(t)
    return s * math.exp(-q * t) * N(d1) - k * math.exp(-r * t) * N(d2), math.exp(-q * t) * N(d1)


def test_black_scholes_d1_is_the_textbook_formula():
    p = pde.BlackScholesGeometric(dim=1, T=0.75, rate=0.04, volatility=0.3, strike=95.0)
    solution_and_grad = jax.jit(lambda x: (p.solution(x), p.solution_grad(x)))
    for s in (80.0, 95.0, 123.0):
        price, delta = _bs_call(s, 95.0, 0.04, 0.3, 0.75)
        u, du = solution_and_grad(jnp.array([s]))
        assert abs(float(u) - price) < 1e-12 * price
        assert abs(float(du[0]) - delta) < 1e-13


def test_black_scholes_geometric_on_the_diagonal_is_a_one_asset_call_with_dividends():
    """At x = (s, …, s) the geometric average is a GBM started at s with volatility
    σ̄ = √(1ᵀΣ1)/d and dividend yield q = ½ mean(σ_i²) − ½σ̄², so the price is the textbook
    call with dividends and Σ_j ∂u/∂x_j is its delta."""
    p = BS
    s = 104.0
    sig = np.array(p.volatility)
    rho = np.asarray(p.correlation_matrix(dtype=jnp.float64))
    sbar = math.sqrt(sig @ rho @ sig) / p.dim
    q = 0.5 * np.mean(sig**2) - 0.5 * sbar**2
    price, delta = _bs_call(s, p.strike, p.rate, sbar, p.T, q)
    x = jnp.full(p.dim, s)
    assert abs(float(p.solution(x)) - price) < 1e-12 * price
    assert abs(float(jnp.sum(p.solution_grad(x))) - delta) < 1e-13


def test_black_scholes_price_and_delta_match_monte_carlo_within_4_sigma():
    """Fixed seed; 400k paths; price vs MC mean of φ(X_T^x), delta vs the pathwise MC delta
    e^{-rT} 1{G_T > K} G_T / (d x_j), both within 4 standard errors."""
    p = BS
    x = jnp.array([95.0, 102.0, 108.0, 99.0])
    n = 400_000

    @jax.jit
    def stats(key):
        xt = p.terminal(jnp.broadcast_to(x, (n, p.dim)), key=key)
        pay = p.phi(xt)
        g = jnp.exp(jnp.mean(jnp.log(xt), axis=-1))
        path_delta = (jnp.exp(-p.rate * p.T) * (g > p.strike) * g)[:, None] / (p.dim * x)
        return (pay.mean(), pay.std() / math.sqrt(n), path_delta.mean(0),
                path_delta.std(0) / math.sqrt(n))

    mean, se, d_mean, d_se = stats(jax.random.key(11))
    assert abs(float(p.solution(x)) - float(mean)) <= 4 * float(se)
    assert np.all(np.abs(np.asarray(p.solution_grad(x)) - d_mean) <= 4 * d_se)
    # the pathwise delta is jax.grad of φ(X_T^x) with the same paths
    @jax.jit
    def pathwise(x, z):
        s, c = p.scale_shift(z)
        pw = jax.vmap(jax.grad(lambda xx, s, c: p.phi(s * xx + c)), in_axes=(None, 0, 0))
        return pw(x, s, c), (jnp.exp(-p.rate * p.T) * (p.phi(s * x + c) > 0)
                             * jnp.exp(jnp.mean(jnp.log(s * x), axis=-1)))[:, None] / (p.dim * x)

    z = helpers.normal(jax.random.key(3), (1000, p.dim), jnp.float64)
    np.testing.assert_allclose(*pathwise(x, z), rtol=1e-12)


def test_black_scholes_delta_matches_central_differences_of_the_price():
    p = BS
    x = jnp.array([91.0, 100.0, 107.5, 110.0])
    h = 1e-4
    fd = jnp.stack([(p.solution(x + h * e) - p.solution(x - h * e)) / (2 * h)
                    for e in jnp.eye(p.dim)])
    np.testing.assert_allclose(p.solution_grad(x), fd, rtol=1e-7)


@pytest.mark.parametrize("problem", HEAT + [BS], ids=lambda p: p.name)
def test_heat_and_bs_closed_forms_match_monte_carlo(problem):
    x = _points(problem, 3, seed=5)
    n = 200_000

    @jax.jit
    def stats(key, xi):
        pay = problem.phi(problem.terminal(jnp.broadcast_to(xi, (n, xi.size)), key=key))
        return pay.mean(), pay.std() / math.sqrt(n)

    for i, xi in enumerate(x):
        mean, se = stats(jax.random.key(i), xi)
        assert abs(float(mean) - float(problem.solution(xi))) <= 4 * float(se)


# -- samplers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("problem", HEAT + [BS], ids=lambda p: p.name)
def test_terminal_is_scale_shift_of_the_same_normal_draw(problem):
    x = _points(problem, 5)
    key = jax.random.key(4)
    z = jax.random.normal(key, x.shape, x.dtype)
    s, c = problem.scale_shift(z)
    np.testing.assert_array_equal(problem.terminal(x, key=key), s * x + c)


def test_bs_log_returns_have_covariance_T_sigma():
    p = BS
    z = helpers.normal(jax.random.key(0), (200_000, p.dim), jnp.float64)
    s, _ = p.scale_shift(z)
    logr = np.log(np.asarray(s))
    sig = np.array(p.volatility)
    cov = p.T * sig[:, None] * np.asarray(p.correlation_matrix(dtype=jnp.float64)) * sig
    np.testing.assert_allclose(np.cov(logr.T), cov, atol=4e-3 * cov.max())
    np.testing.assert_allclose(logr.mean(0), (p.rate - sig**2 / 2) * p.T, atol=5e-3)


def test_feynman_kac_data_shapes_box_and_targets():
    p = HEAT[0]
    data = pde.feynman_kac_data(p, dtype=jnp.float64)
    assert pde.feynman_kac_data(p, dtype=jnp.float64) is data  # cached: train reuses its program
    key = jax.random.key(1)
    xi, y = data(key, 64)
    chex.assert_shape(xi, (64, 5))
    chex.assert_shape(y, (64, 1))
    assert float(xi.min()) >= 0 and float(xi.max()) <= 1
    k1, k2 = jax.random.split(key)
    np.testing.assert_array_equal(y[:, 0], p.phi(p.terminal(xi, key=k2)))
    xi2, y2 = jax.jit(data, static_argnums=1)(key, 64)
    np.testing.assert_array_equal(xi, xi2)


def test_problem_validation():
    with pytest.raises(ValueError, match="dim"):
        pde.HeatSquare(dim=-3)
    with pytest.raises(ValueError, match="T"):
        pde.HeatCosine(dim=2, T=0.0)
    with pytest.raises(ValueError, match="box"):
        pde.HeatSquare(dim=2, box=(1.0, 1.0))
    with pytest.raises(ValueError, match="correlation"):
        pde.BlackScholesGeometric(dim=3, correlation=-0.6)
    with pytest.raises(ValueError, match="volatility"):
        pde.BlackScholesGeometric(dim=3, volatility=(0.1, 0.2))
    with pytest.raises(ValueError, match=r"\(0, ∞\)"):
        pde.BlackScholesGeometric(dim=3, box=(-1.0, 1.0))
    with pytest.raises(ValueError, match="unknown parameter"):
        pde.make_problem("heat_square", dim=2, strike=3.0)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        pde.HeatSquare(dim=3).solution(jnp.ones(4))
    full = pde.BlackScholesGeometric(dim=2, correlation=((1.0, 0.5), (0.5, 1.0)))
    eq = pde.BlackScholesGeometric(dim=2, correlation=0.5)
    x = jnp.array([97.0, 104.0])
    assert float(full.solution(x)) == float(eq.solution(x))


# -- constructive solver: the averaging network --------------------------------------------


@functools.partial(jax.jit, static_argnames="act")
def _at_shifted_points(avg, phi, x, shifts, act):
    """D^N and RΦ of avg at x, and of phi at x + c_i for every shift c_i (one program)."""
    return (jrelu.derivative(avg, x, activation=act), jrelu.realize(avg, x, activation=act),
            jax.vmap(lambda c: jrelu.derivative(phi, x + c, activation=act))(shifts),
            jax.vmap(lambda c: jrelu.realize(phi, x + c, activation=act))(shifts))


def test_averaging_network_derivative_is_the_average_of_derivatives_exactly_at_kinks():
    """Dyadic Φ, dyadic shifts, n = 4 paths, a point where hidden neurons of every copy sit
    exactly on kinks: D^N of the averaging network equals (1/n)Σ D^NΦ(x + c_i) bit for bit,
    for several kink values Dϱ(0) — the chain rule holds at every x."""
    rng = np.random.default_rng(0)
    d, n = 3, 4
    x = np.array([0.5, -0.25, 1.0])
    base = dyadic_network(rng, (d, 5, 4, 1))
    shifts = rng.integers(-4, 5, (n, d)) / 4.0
    shifts[1] = 0.0
    phi = plant_kinks(base, x, rng)  # kinks at x + 0, the second path
    scales = np.ones((n, d))
    avg = pde.averaging_network(phi, scales, shifts)
    for c in (0.0, 0.5, 1.0):
        act = jrelu.ReLU(deriv_at_kink=c)
        D, v, Ds, vs = _at_shifted_points(avg, phi, jnp.asarray(x), jnp.asarray(shifts), act)
        ref = sum(np.asarray(Di) for Di in Ds) / n
        np.testing.assert_array_equal(D, ref)
        np.testing.assert_array_equal(v, sum(np.asarray(vi) for vi in vs) / n)
    pre = jrelu.preactivations(phi, x)
    assert any(np.any(np.asarray(z) == 0) for z in pre[:-1])  # kinks really are hit


def test_averaging_network_derivative_with_scales_to_round_off():
    """General (Black–Scholes-type) paths x ↦ s_i ⊙ x + c_i: D^N of the averaging network
    equals (1/n)Σ D^NΦ(s_i ⊙ x + c_i) diag(s_i) to float64 round-off, and equals jax.jacrev."""
    key = jax.random.key(2)
    d, n = 4, 8
    phi = jrelu.init(key, (d, 10, 10, 1), dtype=jnp.float64)
    s, c = pde.path_maps(BS, n, key=jax.random.key(3), dtype=jnp.float64)
    s, c = s / 100.0, c + 0.25  # keep the hidden pre-activations of mixed signs
    avg = pde.averaging_network(phi, s, c)
    assert avg.widths == (d, 10 * n, 10 * n, 1)
    xs = helpers.uniform(jax.random.key(4), (32, d), jnp.float64, 90.0, 110.0)

    @jax.jit
    def both(avg_, phi_, xs_):
        D = jrelu.derivative(avg_, xs_)
        ref = jnp.mean(jax.vmap(lambda si, ci: jrelu.derivative(phi_, si * xs_ + ci) * si)(s, c), 0)
        v = jrelu.realize(avg_, xs_)
        vref = jnp.mean(jax.vmap(lambda si, ci: jrelu.realize(phi_, si * xs_ + ci))(s, c), 0)
        J = jax.vmap(jax.jacrev(lambda x: jrelu.realize(avg_, x)))(xs_)
        return D, ref, v, vref, J

    D, ref, v, vref, J = both(avg, phi, xs)
    assert not np.allclose(D, D[0])  # several activation patterns among the points
    np.testing.assert_allclose(D, ref, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(v, vref, rtol=1e-13, atol=1e-15)
    np.testing.assert_array_equal(J, D)  # custom JVP: jacrev is D^N, bit for bit


def test_averaging_network_input_checks():
    phi = helpers.np_init(0, (3, 4, 1), np.float64)
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        pde.averaging_network(phi, jnp.ones((2, 4)), jnp.zeros((2, 4)))


# -- evaluation and the learning solver ------------------------------------------------------


def test_relative_l2_errors_against_numpy():
    p = pde.HeatSquare(dim=3, T=0.25)
    A = jnp.array([[1.0, 0.5, -0.25]])
    net = jrelu.Network([(A, jnp.array([0.75]))])  # affine: value a·x+b, gradient a
    xs = p.sample_box(jax.random.key(0), 1000, dtype=jnp.float64)
    e = pde.relative_l2_errors(net, p, xs, chunk_size=128)
    x = np.asarray(xs)
    u = (x**2).sum(1) + 2 * 0.25 * 3
    v = x @ np.asarray(A)[0] + 0.75
    g_err = np.linalg.norm(np.asarray(A)[0] - 2 * x, axis=1)
    assert e.value_rel_l2 == pytest.approx(np.sqrt(((v - u) ** 2).sum() / (u**2).sum()),
                                              rel=1e-12)
    assert e.grad_rel_l2 == pytest.approx(np.sqrt((g_err**2).sum() / (4 * x**2).sum()),
                                             rel=1e-12)
    assert e.grad_max_abs == pytest.approx(g_err.max(), rel=1e-12)


def test_solve_learning_reduces_error_and_segments_reproduce_one_run():
    p = pde.HeatSquare(dim=2, T=0.1, box=(0.0, 1.0))
    net0 = jrelu.init(jax.random.key(0), (2, 32, 32, 1), dtype=jnp.float64)
    opt = optax.adam(optax.cosine_decay_schedule(3e-3, 600))
    key = jax.random.key(1)
    net, hist = pde.solve_learning(p, net0, optimizer=opt, steps=600, batch_size=256, key=key)
    xs = p.sample_box(jax.random.key(2), 4096, dtype=jnp.float64)
    e0 = pde.relative_l2_errors(net0, p, xs)
    e1 = pde.relative_l2_errors(net, p, xs)
    assert e1.value_rel_l2 < 0.1 * e0.value_rel_l2
    assert e1.grad_rel_l2 < 0.5 * e0.grad_rel_l2
    assert e1.value_rel_l2 < 0.05
    # the final loss is near the noise floor E Var(φ(X_T^ξ) | ξ) = 8T E‖ξ‖² + 8T²d
    floor = 8 * p.T * p.dim / 3 + 8 * p.T**2 * p.dim
    assert float(hist.loss[-100:].mean()) < 1.2 * floor
    # two segments with the returned optimizer state equal the single run, bit for bit
    # (of equal length: one compiled training loop serves both)
    net_a, h_a = pde.solve_learning(p, net0, optimizer=opt, steps=300, batch_size=256, key=key)
    net_b, h_b = pde.solve_learning(p, net_a, optimizer=opt, steps=300, batch_size=256, key=key,
                                    opt_state=h_a.opt_state, start_step=300)
    chex.assert_trees_all_equal(net_b, net)
    np.testing.assert_array_equal(np.concatenate([h_a.loss, h_b.loss]), hist.loss)
    with pytest.raises(ValueError, match="R\\^2"):
        pde.solve_learning(p, helpers.np_init(0, (3, 4, 1)), optimizer=opt, steps=1, batch_size=8,
                           key=key)


# -- the 0.2 API: keyword-only options, checks, result type ---------------------------------


def test_problem_fields_are_keyword_only_and_checked():
    with pytest.raises(TypeError):
        pde.HeatSquare(3)  # fields are keyword-only
    with pytest.raises(TypeError, match="dim must be an integer"):
        pde.HeatSquare(dim=2.5)
    with pytest.raises(TypeError, match="dim must be an integer"):
        pde.HeatSquare(dim=True)
    with pytest.raises(ValueError, match="T must be finite"):
        pde.HeatSquare(dim=2, T=math.inf)
    with pytest.raises(TypeError, match="strike"):
        pde.BlackScholesGeometric(dim=2, strike="100")
    with pytest.raises(ValueError, match="box must be a pair"):
        pde.HeatSquare(dim=2, box=(0.0, 1.0, 2.0))
    with pytest.raises(TypeError, match="problem must be a jrelu.pde.Problem"):
        pde.feynman_kac_data("heat_square")
    with pytest.raises(TypeError, match="n must be an integer"):
        pde.path_maps(HEAT[0], 2.0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        pde.path_maps(HEAT[0], 0, key=jax.random.key(0))
    with pytest.raises(TypeError, match="phi_net must be a jrelu.Network"):
        pde.averaging_network("net", jnp.ones((2, 3)), jnp.ones((2, 3)))


def test_relative_l2_errors_result_and_checks():
    p = pde.HeatSquare(dim=2, T=0.5)
    net = jrelu.Network([(jnp.array([[1.0, 1.0]]), jnp.array([2.0]))])
    x = p.sample_box(jax.random.key(0), 100, dtype=jnp.float64)
    e = pde.relative_l2_errors(net, p, x, chunk_size=7)
    assert isinstance(e, pde.RelativeL2Errors) and e.points == 100
    whole = pde.relative_l2_errors(net, p, x)  # chunking only reorders the float64 sums
    assert whole.value_rel_l2 == pytest.approx(e.value_rel_l2, rel=1e-12)
    assert whole.grad_max_abs == e.grad_max_abs
    assert e.to_dict() == {"value_rel_l2": e.value_rel_l2, "grad_rel_l2": e.grad_rel_l2,
                           "value_max_abs": e.value_max_abs, "grad_max_abs": e.grad_max_abs,
                           "points": 100}
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        pde.relative_l2_errors(net, p, x[None])
    with pytest.raises(ValueError, match="chunk_size"):
        pde.relative_l2_errors(net, p, x, chunk_size=0)
    with pytest.raises(TypeError, match="activation"):
        pde.relative_l2_errors(net, p, x, activation=jax.nn.relu)
    with pytest.raises(ValueError, match=r"R\^2 to R"):
        pde.relative_l2_errors(helpers.np_init(0, (2, 3, 2)), p, x)


# -- ensembles, the semigroup split and the structured averaging network ---------------------


def _dyadic_ensemble(rng, widths, members):
    nets = [dyadic_network(rng, widths) for _ in range(members)]
    return jrelu.parallel(*nets), nets


@pytest.mark.parametrize("members, unit", [(1, True), (2, False)], ids=["heat", "scaled-ensemble"])
def test_averaging_network_structured_equals_dense_bit_for_bit(members, unit):
    """Dyadic members, dyadic path maps, n = 4 (a power of two), points on kinks: the
    structured AveragingNetwork's realization and D^N equal the dense averaging_network's
    bit for bit (every sum is exact), with and without unit scales, for an ensemble base."""
    rng = np.random.default_rng(3 + members + 10 * unit)
    d, n = 3, 4
    par, nets = _dyadic_ensemble(rng, (d, 4, 4, 1), members)
    base = pde.ensemble_average(par, members=members)
    scales = np.ones((n, d)) if unit else rng.integers(1, 5, (n, d)) / 2.0
    shifts = rng.integers(-4, 5, (n, d)) / 4.0
    avg = pde.AveragingNetwork(base, scales, shifts, members=members)
    dense = avg.to_network()
    assert avg.widths == dense.widths == (d, 4 * n * members, 4 * n * members, 1)
    assert avg.input_dim == d and avg.output_dim == 1 and avg.num_paths == n
    x = jnp.asarray(rng.integers(-8, 9, (40, d)) / 4.0)
    kinked = False
    for c in (0.0, 1.0):
        act = jrelu.ReLU(deriv_at_kink=c)
        v, J = avg.value_and_derivative(x, activation=act)
        v2, J2 = jrelu.value_and_derivative(dense, x, activation=act)
        np.testing.assert_array_equal(v, v2)
        np.testing.assert_array_equal(J, J2)
        np.testing.assert_array_equal(avg.realize(x, activation=act), v2)
        np.testing.assert_array_equal(avg.derivative(x[0], activation=act), J2[0])
        kinked = kinked or any(np.any(np.asarray(z) == 0)
                               for z in jrelu.preactivations(dense, x)[:-1])
    assert kinked  # the dyadic grid hits kinks, where the convention matters
    # the ensemble's D^N is exactly the mean of its members' D^N
    Jm = sum(np.asarray(jrelu.derivative(m, x)) for m in nets) / members
    np.testing.assert_array_equal(jrelu.derivative(base, x), Jm)


def test_averaging_network_derivative_is_jacfwd_away_from_kinks_and_float32_works():
    key = jax.random.key(0)
    d = 4
    base = pde.ensemble_average(pde.ensemble_init(key, (d, 16, 8, 1), members=2, dtype=jnp.float64),
                                members=2)
    s, c = pde.path_maps(BS, 6, key=jax.random.key(1), dtype=jnp.float64, t=0.1,
                         antithetic=True)
    avg = pde.AveragingNetwork(base, s / 100.0, c, members=2)
    x = helpers.uniform(jax.random.key(2), (1030, d), jnp.float64, 90.0, 110.0)  # > a block
    v, J = avg.value_and_derivative(x)
    assert v.shape == (1030, 1) and J.shape == (1030, 1, d)
    Jf = jax.vmap(jax.jacfwd(lambda y: avg.realize(y)))(x[1020:])  # across the block edge
    np.testing.assert_allclose(Jf, J[1020:], rtol=1e-12, atol=1e-14)
    v2, J2 = jrelu.value_and_derivative(avg.to_network(), x)
    np.testing.assert_allclose(v, v2, rtol=1e-12)
    np.testing.assert_allclose(J, J2, rtol=1e-10, atol=1e-14)
    avg32 = jax.tree.map(lambda a: a.astype(jnp.float32), avg)
    v32, J32 = avg32.value_and_derivative(x[:10].astype(jnp.float32))
    assert v32.dtype == J32.dtype == jnp.float32 and avg32.dtype == jnp.float32
    np.testing.assert_allclose(v32, v[:10], rtol=1e-4)


def test_averaging_network_checks():
    phi = helpers.np_init(0, (3, 4, 1), np.float64)
    with pytest.raises(TypeError, match="base"):
        pde.AveragingNetwork("net", jnp.ones((2, 3)), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(n, 3\)"):
        pde.AveragingNetwork(phi, jnp.ones((2, 4)), jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="base"):
        pde.AveragingNetwork(helpers.np_init(0, (3, 2)), jnp.ones((1, 3)),
                             jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="block-diagonal"):  # a dense 8-wide net: no ensemble
        pde.AveragingNetwork(helpers.np_init(0, (3, 8, 8, 1)), jnp.ones((1, 3)),
                             jnp.zeros((1, 3)), members=2)
    avg = pde.AveragingNetwork(phi, jnp.ones((2, 3)), jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"x must have shape \(3,\)"):
        avg.realize(jnp.ones(4))
    with pytest.raises(TypeError, match="activation"):
        avg.value_and_derivative(jnp.ones(3), activation="relu")


def test_ensemble_members_round_trip_and_checks():
    rng = np.random.default_rng(0)
    par, nets = _dyadic_ensemble(rng, (3, 5, 4, 2), 3)
    back = pde.ensemble_members(par, members=3)
    for a, b in zip(back, nets):
        np.testing.assert_array_equal(jrelu.flatten(a), jrelu.flatten(b))
    np.testing.assert_array_equal(jrelu.flatten(jrelu.parallel(*back)), jrelu.flatten(par))
    with pytest.raises(ValueError, match="block-diagonal"):
        pde.ensemble_members(helpers.np_init(0, (3, 6, 6, 3)), members=3)
    with pytest.raises(ValueError, match="members"):
        pde.ensemble_members(par, members=4)
    with pytest.raises(ValueError, match="members"):
        pde.ensemble_average(par, members=2)  # output dimension is 6
    with pytest.raises(TypeError, match="members"):
        pde.ensemble_init(jax.random.key(0), (3, 4, 1), members=2.0)


def test_path_maps_antithetic_and_horizon():
    p = pde.HeatSquare(dim=3, T=0.5)
    s, c = pde.path_maps(p, 6, key=jax.random.key(0), dtype=jnp.float64, t=0.125,
                         antithetic=True)
    np.testing.assert_array_equal(c[0::2], -c[1::2])
    np.testing.assert_array_equal(s, 1.0)
    s1, c1 = pde.path_maps(p, 4, key=jax.random.key(0), dtype=jnp.float64, t=0.125)
    s2, c2 = pde.path_maps(p, 4, key=jax.random.key(0), dtype=jnp.float64)
    np.testing.assert_allclose(c1 * 2.0, c2)  # √(2t): t = T/4 halves the shifts
    with pytest.raises(ValueError, match="even"):
        pde.path_maps(p, 3, key=jax.random.key(0), antithetic=True)
    with pytest.raises(ValueError, match="t"):
        pde.path_maps(p, 2, key=jax.random.key(0), t=-1.0)
    s, c = pde.path_maps(p, 8, key=jax.random.key(0), dtype=jnp.float64, t=0.125,
                         antithetic=True, moment_matching=True)
    np.testing.assert_allclose(c.T @ c / 8, 0.25 * np.eye(3), atol=1e-14)  # 2t I exactly
    np.testing.assert_array_equal(c[0::2], -c[1::2])
    s, c = pde.path_maps(BS, 5, key=jax.random.key(0), dtype=jnp.float64, t=0.5,
                         moment_matching=True)
    z = np.log(np.asarray(s)) - (0.03 - 0.5 * np.asarray(BS.vols()) ** 2) * 0.5
    np.testing.assert_allclose(z.mean(0), 0, atol=1e-14)  # centred; covariance 0.5 Σ
    L = np.asarray(BS.cholesky())
    np.testing.assert_allclose(z.T @ z / 5, 0.5 * L @ L.T, atol=1e-14)
    with pytest.raises(ValueError, match="moment matching"):
        pde.path_maps(p, 4, key=jax.random.key(0), antithetic=True, moment_matching=True)
    with pytest.raises(ValueError, match="moment matching"):
        pde.path_maps(p, 3, key=jax.random.key(0), moment_matching=True)


def test_feynman_kac_data_horizon_and_enlarged_box():
    p = pde.HeatSquare(dim=3, T=0.5)
    data = pde.feynman_kac_data(p, dtype=jnp.float64, horizon=0.125, box=(-2.0, 3.0))
    assert data is pde.feynman_kac_data(p, dtype=jnp.float64, horizon=0.125, box=(-2.0, 3.0))
    assert pde.feynman_kac_data(p, dtype=jnp.float64, horizon=0.5, box=(0.0, 1.0)) is \
        pde.feynman_kac_data(p, dtype=jnp.float64)  # the defaults spelled out
    xi, y = data(jax.random.key(0), 20000)
    assert float(xi.min()) >= -2.0 and float(xi.max()) <= 3.0 and float(xi.min()) < -1.9
    # E[y | ξ] = u(0.125, ξ) = ‖ξ‖² + 2·0.125·3: the mean residual is Monte-Carlo small
    r = np.asarray(y[:, 0] - p.value(0.125, xi))
    assert abs(r.mean()) < 4 * r.std() / math.sqrt(len(r))
    assert abs(r.var() - float(jnp.mean(8 * 0.125 * jnp.sum(xi**2, -1) + 8 * 0.125**2 * 3))) \
        < 0.05 * r.var()
    with pytest.raises(ValueError, match="horizon"):
        pde.feynman_kac_data(p, horizon=0.75)
    with pytest.raises(ValueError, match="box"):
        pde.feynman_kac_data(p, box=(1.0, 0.0))


def test_feynman_kac_data_inputs_at_path_ends_and_targets_over_paths():
    from jrelu import _outputs

    p = pde.HeatSquare(dim=4, T=0.5)
    t, tau, d = 0.375, 0.125, 4
    # inputs X_τ^ξ = ξ + √(2τ) Z: mean 1/2, variance 1/12 + 2τ per coordinate
    zeta, y = pde.feynman_kac_data(p, dtype=jnp.float64, horizon=t, inputs="paths")(
        jax.random.key(1), 40000)
    z = np.asarray(zeta)
    se_mean, se_var = math.sqrt((1 / 12 + 2 * tau) / z.size), 0.02 * (1 / 12 + 2 * tau)
    assert abs(z.mean() - 0.5) < 4 * se_mean and abs(z.var() - (1 / 12 + 2 * tau)) < se_var
    # the noise floors of the streams against their closed forms, within 4 standard errors:
    #   inputs at path ends, one path: E[8t‖ζ‖² + 8t²d], E‖ζ‖² = d(1/3 + 2τ);
    #   K antithetic paths: the pair means are ‖x‖² + 2t‖Z‖², so Var = 4(2t)²d / K
    cases = [(dict(horizon=t, inputs="paths"), 8 * t * d * (1 / 3 + 2 * tau) + 8 * t * t * d),
             (dict(paths=8, antithetic=True), 16 * 0.25 * d / 8),
             (dict(paths=4), (8 * 0.5 * d / 3 + 8 * 0.25 * d) / 4),
             (dict(horizon=t, inputs="paths", paths=6, antithetic=True), 16 * t * t * d / 6)]
    for kw, exact in cases:
        data = pde.feynman_kac_data(p, dtype=jnp.float64, **kw)
        assert data is pde.feynman_kac_data(p, dtype=jnp.float64, **kw)
        fl = _outputs.data_noise_floor(p, data, kw.get("horizon", p.T), jax.random.key(2))
        assert abs(fl["value"] - exact) < 4 * fl["standard_error"], (kw, fl, exact)
    # the targets' conditional mean is u(t, ·): the mean residual is Monte-Carlo small
    r = np.asarray(y[:, 0] - p.value(t, zeta))
    assert abs(r.mean()) < 4 * r.std() / math.sqrt(len(r))
    with pytest.raises(ValueError, match="inputs=\"paths\" needs a horizon"):
        pde.feynman_kac_data(p, inputs="paths")
    with pytest.raises(ValueError, match="inputs"):
        pde.feynman_kac_data(p, horizon=t, inputs="ends")
    with pytest.raises(TypeError, match="inputs"):
        pde.feynman_kac_data(p, horizon=t, inputs=1)
    with pytest.raises(ValueError, match="paths must be even"):
        pde.feynman_kac_data(p, paths=3, antithetic=True)
    with pytest.raises(ValueError, match="paths"):
        pde.feynman_kac_data(p, paths=0)
    with pytest.raises(TypeError, match="antithetic"):
        pde.feynman_kac_data(p, paths=2, antithetic="yes")
    net0 = helpers.np_init(0, (4, 4, 1), np.float64)
    kw = dict(optimizer=optax.sgd(1e-3), steps=1, batch_size=4, key=jax.random.key(1))
    with pytest.raises(TypeError, match="data must be a callable"):
        pde.solve_learning(p, net0, data=[1, 2], **kw)
    with pytest.raises(ValueError, match="data: pass either"):
        pde.solve_learning(p, net0, data=pde.feynman_kac_data(p), paths=2, **kw)
    a, _ = pde.solve_learning(p, net0, paths=2, antithetic=True, **kw)
    b, _ = pde.solve_learning(p, net0, data=pde.feynman_kac_data(p, dtype=jnp.float64, paths=2,
                                                                  antithetic=True), **kw)
    np.testing.assert_array_equal(jrelu.flatten(a), jrelu.flatten(b))  # the same stream


def test_solve_learning_ensemble_stays_parallel_and_segments_reproduce():
    p = pde.HeatSquare(dim=2, T=0.1)
    net0 = pde.ensemble_init(jax.random.key(0), (2, 8, 1), members=2, dtype=jnp.float64)
    opt = optax.adam(1e-2)
    kw = dict(optimizer=opt, batch_size=32, key=jax.random.key(1), members=2, horizon=0.05,
              box=(-0.5, 1.5))
    net, hist = pde.solve_learning(p, net0, steps=24, **kw)
    assert net.widths == (2, 16, 2) and hist.loss.shape == (24,)
    assert float(hist.loss[-6:].mean()) < float(hist.loss[:6].mean())
    A2 = np.asarray(net.layers[1][0])
    assert np.all(A2[0, 8:] == 0) and np.all(A2[1, :8] == 0)  # still block-diagonal
    half, h1 = pde.solve_learning(p, net0, steps=12, **kw)
    rest, h2 = pde.solve_learning(p, half, steps=12, opt_state=h1.opt_state, start_step=12,
                                  **kw)
    np.testing.assert_array_equal(jrelu.flatten(rest), jrelu.flatten(net))
    np.testing.assert_array_equal(np.concatenate([h1.loss, h2.loss]), hist.loss)
    with pytest.raises(ValueError, match="members"):
        pde.solve_learning(p, net0, steps=1, **{**kw, "members": 3})


def test_relative_l2_errors_of_an_averaging_network():
    p = pde.HeatSquare(dim=3, T=0.2)
    phi = helpers.np_init(0, (3, 8, 1), np.float64)
    s, c = pde.path_maps(p, 4, key=jax.random.key(1), dtype=jnp.float64, t=0.05)
    avg = pde.AveragingNetwork(phi, s, c)
    xs = p.sample_box(jax.random.key(2), 300, dtype=jnp.float64)
    e = pde.relative_l2_errors(avg, p, xs, chunk_size=128)
    e2 = pde.relative_l2_errors(avg.to_network(), p, xs)
    for f in ("value_rel_l2", "grad_rel_l2", "value_max_abs", "grad_max_abs"):
        assert getattr(e, f) == pytest.approx(getattr(e2, f), rel=1e-12)
    with pytest.raises(ValueError, match="R\\^4"):
        pde.relative_l2_errors(avg, pde.HeatSquare(dim=4), jnp.zeros((2, 4)))
