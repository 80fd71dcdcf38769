r"""The experiment runner behind ``jrelu run``: solve a Kolmogorov PDE and measure the errors.

:func:`run_experiment` takes a validated :class:`jrelu.config.RunConfig` and

1. builds the problem (:mod:`jrelu.pde`) and a network, by one of three solvers:

   * ``learning`` — train on Feynman–Kac samples (:func:`train_learning`), with a
     checkpoint every ``training.checkpoint_every`` steps and resume from it;
   * ``constructive`` — the Monte-Carlo averaging network of a squaring network and its
     error-vs-n study (:func:`solve_constructive`);
   * ``global`` — the local-to-global network :math:`\Phi_\varepsilon` of [BEGJ] for
     :math:`\varphi=\|x\|^2` (:func:`solve_global`);

2. measures the relative :math:`L^2` errors of u and ∇u on uniform points of the box
   (:func:`jrelu.pde.relative_l2_errors`) and the weighted error sweep
   (:func:`jrelu.error_sweep`, :func:`run_sweep`);
3. writes ``network.npz``, ``report.json`` and ``errors.png`` (:func:`plot_report`) and
   prints a table (:func:`print_table`).

Every random draw comes from ``jax.random.fold_in(key(seed), i)`` with a fixed i per use
(0 the initial network, 1 training, 2 the box points, 3 the Feynman–Kac paths, 4 the
constructive study's points, 5 the sweep, 6 the plot's sample), so a run is reproducible
and a resumed run equals an uninterrupted one.

This module is internal to the ``jrelu`` command; it is not part of the library's public API.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import math
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from .config import RunConfig

__all__ = ["RunError", "run_experiment", "output_folder", "make_optimizer", "fingerprint",
           "train_learning", "sweep_sampler", "run_sweep", "solve_constructive",
           "solve_global", "square_bound", "mc_average", "describe_problem", "loss_curve",
           "theorem_check", "plot_report", "print_table", "versions"]

#: Version of the layout of report.json.
REPORT_VERSION = 1


class RunError(RuntimeError):
    """A run that cannot proceed (e.g. a checkpoint written by another config); one line."""


def _say(verbose, *args):
    if verbose:
        print(*args, flush=True)


def versions() -> dict:
    """The versions of jrelu, its dependencies, Python, the platform and the devices."""
    import optax

    from . import __version__

    try:
        import jaxlib

        jaxlib_version = jaxlib.__version__
    except Exception:  # pragma: no cover - jaxlib ships with jax
        jaxlib_version = None
    return {"jrelu": __version__, "jax": jax.__version__, "jaxlib": jaxlib_version,
            "optax": optax.__version__, "numpy": np.__version__,
            "python": platform.python_version(), "platform": platform.platform(),
            "devices": [str(d) for d in jax.devices()]}


# -- learning --------------------------------------------------------------------------


def make_optimizer(cfg: RunConfig):
    r"""The optax optimizer and learning-rate schedule of a validated learning config.

    Over S = ``training.steps`` steps, after W = ``warmup_steps`` steps of linear warm-up
    from 0: ``constant``; ``cosine`` decay from lr to ``final_learning_rate`` over S − W
    steps; ``exponential`` :math:`\mathrm{lr}\,(\mathrm{final}/\mathrm{lr})^{t/(S-W)}`;
    ``piecewise``: lr multiplied by ``decay_factor`` at each of the ``milestones``
    (fractions of S). Returns ``(optimizer, schedule)``.
    """
    import optax

    o, steps = cfg.optimizer, cfg.training.steps
    lr, final, warm = o.learning_rate, o.final_learning_rate, o.warmup_steps
    span = steps - warm
    if o.schedule == "constant":
        sched = optax.constant_schedule(lr)
    elif o.schedule == "cosine":
        sched = optax.cosine_decay_schedule(lr, span, alpha=final / lr)
    elif o.schedule == "exponential":
        sched = optax.exponential_decay(lr, span, decay_rate=final / lr)
    else:
        bounds = {}
        for m in o.milestones:
            b = int(m * steps) - warm
            if b > 0:
                bounds[b] = bounds.get(b, 1.0) * o.decay_factor
        sched = optax.piecewise_constant_schedule(lr, bounds)
    if warm:
        sched = optax.join_schedules([optax.linear_schedule(0.0, lr, warm), sched], [warm])
    if o.name == "adam":
        opt = optax.adam(sched)
    elif o.name == "adamw":
        opt = optax.adamw(sched, weight_decay=o.weight_decay)
    else:
        opt = optax.sgd(sched, momentum=o.momentum or None)
    if o.clip_norm is not None:
        opt = optax.chain(optax.clip_by_global_norm(o.clip_norm), opt)
    return opt, sched


def fingerprint(cfg: RunConfig) -> str:
    """SHA-256 of everything that determines the trained network (stored in checkpoints)."""
    d = cfg.to_dict()
    keep = {k: d.get(k) for k in ("seed", "dtype", "solver", "problem", "network",
                                  "optimizer", "constructive")}
    tr = d.get("training") or {}
    keep["training"] = {k: tr.get(k) for k in ("steps", "batch_size", "checkpoint_every")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()


@dataclasses.dataclass
class _TrainState:
    """The state of a training run between segments (what a checkpoint holds)."""

    net: object
    opt_state: object
    step: int = 0
    losses: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    kinks: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    seconds_before: float = 0.0


def _resume(ckpt: str, state: _TrainState, fp: str, steps: int, verbose) -> _TrainState:
    """The state stored in ``ckpt``, if it was written by the same config."""
    from .io import load_checkpoint

    try:
        saved = load_checkpoint(ckpt, opt_state_template=state.opt_state)
        if saved.metadata.get("fingerprint") != fp:
            raise RunError(f"{ckpt} was written by a different config (problem, network, "
                           "optimizer, training or seed differ); use --fresh to start over "
                           "or --out to write elsewhere")
        resumed = _TrainState(net=saved.net, opt_state=saved.opt_state, step=saved.step,
                              losses=saved.extra["loss"].astype(np.float64),
                              kinks=saved.extra["kinks"].astype(np.int64),
                              seconds_before=float(saved.extra["seconds"]))
        if not (0 <= resumed.step <= steps and len(resumed.losses) == resumed.step
                == len(resumed.kinks)):
            raise ValueError(f"step {resumed.step} does not match its loss history "
                             f"({len(resumed.losses)} steps)")
    except (ValueError, OSError, KeyError, TypeError) as e:
        why = " ".join(str(e).split()).removeprefix(f"{ckpt}: ")
        raise RunError(f"{ckpt}: cannot resume from this checkpoint ({why}); use --fresh to "
                       "start over") from None
    _say(verbose, f"resuming from {ckpt} at step {saved.step}/{steps}")
    return resumed


def _next_stop(step: int, steps: int, every: int, log_every: int) -> int:
    """The end of the next segment: the next checkpoint, progress line or the end."""
    return min(steps, (step // every + 1) * every, (step // log_every + 1) * log_every)


def _save_training(ckpt, state: _TrainState, key, seconds: float, fp: str, name: str):
    from .io import save_checkpoint

    save_checkpoint(ckpt, state.net, opt_state=state.opt_state, step=state.step, key=key,
                    extra={"loss": state.losses, "kinks": state.kinks,
                           "seconds": np.asarray(state.seconds_before + seconds)},
                    metadata={"fingerprint": fp, "config_name": name})


def train_learning(cfg: RunConfig, problem, key, out, *, fresh: bool = False,
                   verbose: bool = True):
    """Train with checkpoints every ``checkpoint_every`` steps; resume from one if present.

    Returns ``(net, losses, info)``; ``losses`` is the float64 per-step minibatch loss and
    ``info`` the ``training`` part of the report (without the loss curve).
    """
    from .network import init, num_params
    from .pde import solve_learning

    tr = cfg.training
    steps, batch = tr.steps, tr.batch_size
    every, log_every = tr.checkpoint_every, tr.log_every
    dtype = jnp.dtype(cfg.dtype)
    widths = (problem.dim, *cfg.network.hidden, 1)
    net = init(jax.random.fold_in(key, 0), widths, dtype=dtype)
    k_train = jax.random.fold_in(key, 1)
    opt, sched = make_optimizer(cfg)
    state = _TrainState(net=net, opt_state=opt.init(net))
    ckpt = os.path.join(out, "checkpoint.npz")
    fp = fingerprint(cfg)
    if os.path.exists(ckpt) and not fresh:
        state = _resume(ckpt, state, fp, steps, verbose)
    _say(verbose, f"training: widths {widths} ({num_params(state.net)} parameters), {steps} "
                  f"steps × batch {batch}, {cfg.optimizer.name} with {cfg.optimizer.schedule}"
                  f" schedule, {cfg.dtype}; checkpoint every {every} steps")
    t0, start_step = time.perf_counter(), state.step
    last_log = state.step
    while state.step < steps:
        nxt = _next_stop(state.step, steps, every, log_every)
        state.net, hist = solve_learning(problem, state.net, optimizer=opt,
                                         steps=nxt - state.step, batch_size=batch, key=k_train,
                                         opt_state=state.opt_state, start_step=state.step)
        state.opt_state = hist.opt_state
        state.losses = np.concatenate([state.losses, np.asarray(hist.loss, np.float64)])
        state.kinks = np.concatenate([state.kinks, np.asarray(hist.kinks, np.int64)])
        state.step = nxt
        now = time.perf_counter() - t0
        if not np.isfinite(state.losses[-1]):
            raise RunError(f"training diverged: loss {state.losses[-1]} at step {state.step}; "
                           "lower optimizer.learning_rate")
        if state.step % every == 0 or state.step == steps:
            _save_training(ckpt, state, k_train, now, fp, cfg.name)
        if state.step % log_every == 0 or state.step == steps:
            eta = (steps - state.step) * now / (state.step - start_step)
            _say(verbose, f"  step {state.step:>7d}/{steps}  loss "
                          f"{state.losses[last_log:state.step].mean():.4e}  lr "
                          f"{float(sched(state.step - 1)):.2e}  "
                          f"{state.seconds_before + now:6.1f}s  eta {eta:4.0f}s")
            last_log = state.step
    losses = state.losses
    info = {"steps": steps, "batch_size": batch, "widths": list(widths),
            "num_params": num_params(state.net),
            "seconds": state.seconds_before + time.perf_counter() - t0,
            "resumed_from_step": start_step,
            "final_loss": float(losses[-max(1, steps // 100):].mean()),
            "kinks_hit": int(state.kinks.sum())}
    return state.net, losses, info


def loss_curve(losses, points: int = 200) -> dict:
    """The loss averaged over windows of k steps, at most ``points`` windows."""
    n = len(losses)
    k = max(1, -(-n // points))
    m = n // k * k
    means = losses[:m].reshape(-1, k).mean(axis=1) if m else np.zeros(0)
    return {"window": k, "step": [int(i) for i in range(k, m + 1, k)],
            "loss": [float(v) for v in means]}


# -- the constructive and global solvers -----------------------------------------------


def square_bound(cfg: RunConfig, problem) -> float:
    """B of the squaring network: the config's, else the smallest power of two covering the
    box plus 4 standard deviations of the Feynman–Kac shift √(2T)Z."""
    if cfg.constructive.bound is not None:
        return cfg.constructive.bound
    reach = max(abs(problem.box[0]), abs(problem.box[1])) + 4.0 * math.sqrt(2.0 * problem.T)
    return 2.0 ** math.ceil(math.log2(reach))


@jax.jit
def _mc_average(net, s, c, x):
    from .derivative import value_and_derivative

    def body(acc, sc):
        si, ci = sc
        y = si * x + ci
        v, g = value_and_derivative(net, y)
        return (acc[0] + v[:, 0], acc[1] + g[:, 0, :] * si), None

    init = (jnp.zeros(x.shape[0], x.dtype), jnp.zeros(x.shape, x.dtype))
    (v, g), _ = jax.lax.scan(body, init, (s, c))
    return v / s.shape[0], g / s.shape[0]


def mc_average(phi_net, scales, shifts, xs):
    """(1/n)Σ RΦ(s_i⊙x+c_i) and (1/n)Σ D^NΦ(s_i⊙x+c_i)diag(s_i), path by path (a scan), equal
    to the averaging network's realization and D^N (tested identity) without building it."""
    return _mc_average(phi_net, scales, shifts, xs)


def solve_constructive(cfg: RunConfig, problem, key, *, verbose: bool = True):
    """The Monte-Carlo averaging network (heat equation, φ = ‖x‖²) and its error-vs-n study.

    Φ_φ is :func:`jrelu.constructions.squared_norm_network` (Yarotsky squaring per
    coordinate, accurate on [−B, B]^d). The network of ``paths`` paths is built with
    :func:`jrelu.pde.averaging_network`; the study evaluates every n of ``paths_study``
    on the same points: n ≤ ``paths`` by building the network too, larger n path by path
    (identical values, by the chain-rule identity the tests check). Returns ``(net, info)``.
    """
    from .constructions import squared_norm_network
    from .pde import averaging_network, path_maps, relative_l2_errors

    c, dtype = cfg.constructive, jnp.dtype(cfg.dtype)
    d, m = problem.dim, c.square_depth
    B = square_bound(cfg, problem)
    phi_net = squared_norm_network(d, B, m, dtype=dtype)
    k_paths = jax.random.fold_in(key, 3)
    xs = problem.sample_box(jax.random.fold_in(key, 4), min(cfg.sweep.box_points, 4096),
                            dtype=dtype)
    u, gu = problem.solution(xs), problem.solution_grad(xs)
    nmax = max(max(c.paths_study), c.paths)
    s_all, c_all = path_maps(problem, nmax, key=k_paths, dtype=dtype)  # paths 1..n: first n
    _say(verbose, f"constructive: Φ_φ = squared_norm_network(d={d}, B={B:g}, m={m}), widths "
                  f"{phi_net.widths}; a priori on [-B, B]^d: |Φ − ‖x‖²| ≤ "
                  f"{d * B * B * 2.0 ** (-2 * m - 2):.2e}, ‖D^NΦ − 2x‖ ≤ "
                  f"{math.sqrt(d) * B * 2.0 ** -m:.2e}")
    study = []
    for n in sorted(set(c.paths_study) | {c.paths}):
        v, g = mc_average(phi_net, s_all[:n], c_all[:n], xs)
        ev = float(jnp.sqrt(jnp.sum((v - u) ** 2) / jnp.sum(u**2)))
        eg = float(jnp.sqrt(jnp.sum((g - gu) ** 2) / jnp.sum(gu**2)))
        study.append({"paths": n, "value_rel_l2": ev, "grad_rel_l2": eg,
                      "built_network": n <= c.paths})
        _say(verbose, f"  n = {n:>6d} paths: relative L2 error u {ev:.3e}, ∇u {eg:.3e}")
    net = averaging_network(phi_net, s_all[:c.paths], c_all[:c.paths])
    # the built network against the path-by-path evaluation, on the study's points
    built = relative_l2_errors(net, problem, xs, chunk_size=cfg.sweep.chunk_size)
    ref = next(r for r in study if r["paths"] == c.paths)
    ns = np.array([r["paths"] for r in study], float)
    egs = np.array([r["grad_rel_l2"] for r in study])
    slope = float(np.polyfit(np.log(ns), np.log(egs), 1)[0]) if len(ns) > 1 else None
    info = {"phi_network": {"name": "squared_norm_network", "widths": list(phi_net.widths),
                            "square_depth": m, "bound": B,
                            "value_error_bound": d * B * B * 2.0 ** (-2 * m - 2),
                            "grad_error_bound": math.sqrt(d) * B * 2.0**-m},
            "paths": c.paths, "paths_study": study, "grad_error_slope_vs_n": slope,
            "built_vs_pathwise": {"value_rel_l2": [built.value_rel_l2, ref["value_rel_l2"]],
                                  "grad_rel_l2": [built.grad_rel_l2, ref["grad_rel_l2"]]}}
    if slope is not None:
        _say(verbose, f"  gradient error ∝ n^{slope:.2f} (Monte Carlo: n^-0.5)")
    return net, info


def solve_global(cfg: RunConfig, problem, *, verbose: bool = True):
    """The local-to-global network Φ_ε of [BEGJ] for φ = ‖x‖², shifted by the constant 2Td
    so that it approximates u(T,·) = ‖x‖² + 2Td with the same weighted bounds.
    Returns ``(net, info)``."""
    from .constructions import global_network, squared_norm_local
    from .network import Network, compose

    eps, dtype = cfg.constructive.epsilon, jnp.dtype(cfg.dtype)
    net, record = global_network(squared_norm_local(problem.dim, dtype=dtype), eps)
    shift = Network([(jnp.ones((1, 1), dtype), jnp.full((1,), 2.0 * problem.T * problem.dim,
                                                         dtype))])
    net = compose(shift, net)
    _say(verbose, f"global network Φ_ε, ε = {eps:g}: κ = {record.kappa:g}, B = {record.B:g}, "
                  f"C = {record.C:.3g}, r = {record.r:g}, depth {record.depth}, width "
                  f"{record.width}, {record.num_params} parameters")
    return net, {"epsilon": eps, "record": record.to_dict(),
                 "value_bound": f"|u - RΦ| ≤ ε(1+‖x‖^κ) = {eps:g}(1+‖x‖^{record.kappa:g})",
                 "grad_bound": f"‖∇u - D^NΦ‖ ≤ Cε^r(1+‖x‖^κ), C ε^r = "
                               f"{record.C * eps ** record.r:.4g}"}


def theorem_check(report: dict, sweep, kappa: float) -> dict:
    """Whether the sweep's weighted sup errors satisfy the global network's bounds
    (only meaningful with the theorem's κ)."""
    rec = report["global"]["record"]
    bound = rec["C"] * rec["eps"] ** rec["r"]
    return {
        "kappa_used": kappa, "kappa_theorem": rec["kappa"],
        "value_sup": sweep.value.sup, "value_bound": rec["eps"],
        "value_bound_holds": bool(kappa == rec["kappa"] and sweep.value.sup <= rec["eps"]),
        "grad_sup": sweep.derivative.sup, "grad_bound": bound,
        "grad_bound_holds": bool(kappa == rec["kappa"] and sweep.derivative.sup <= bound),
    }


# -- measuring -------------------------------------------------------------------------


def sweep_sampler(cfg: RunConfig, problem):
    """The :mod:`jrelu.samplers` sampler of the ``[sweep]`` section."""
    from .samplers import Gaussian, Halton, RadialShells, TensorGrid, UniformBox

    s, d = cfg.sweep, problem.dim
    low = s.low if s.low is not None else problem.box[0]
    high = s.high if s.high is not None else problem.box[1]
    if s.sampler == "uniform_box":
        return UniformBox(d, low=low, high=high)
    if s.sampler == "halton":
        return Halton(d, low=low, high=high)
    if s.sampler == "grid":
        return TensorGrid(d, num_per_axis=s.per_axis, low=low, high=high)
    if s.sampler == "gaussian":
        return Gaussian(d, mean=0.0, std=s.std)
    return RadialShells(d, r_max=s.r_max, num_shells=s.num_shells, r_min=s.r_min)


def run_sweep(cfg: RunConfig, problem, net, key, out, *, verbose: bool = True):
    """The weighted error sweep of ``net`` against u(T,·) and ∇u(T,·), resumable from
    ``out/sweep_checkpoint.json`` (one of another network or sweep is replaced; a damaged
    one raises :class:`RunError` naming it and suggesting ``--fresh``). Returns
    ``(sampler, report)``."""
    from .sweep import error_sweep

    s = cfg.sweep
    sampler = sweep_sampler(cfg, problem)
    n = s.points if sampler.size is None else min(s.points, sampler.size)
    _say(verbose, f"error sweep: {n} points, {type(sampler).__name__}, κ = {s.kappa:g}")
    ck = os.path.join(out, "sweep_checkpoint.json")

    def go():
        return error_sweep(net, problem.solution, sampler, num_points=n, key=key,
                           kappa=s.kappa, target_grad=problem.solution_grad,
                           chunk_size=s.chunk_size, checkpoint=ck,
                           progress=None if verbose else False)

    try:
        return sampler, go()
    except ValueError as e:
        if "checkpoint" not in str(e) or not os.path.exists(ck):
            raise
        if "not a jrelu sweep checkpoint" in str(e):  # damaged: the user decides
            raise RunError(f"{ck}: cannot resume the sweep from this checkpoint (not a jrelu "
                           "sweep checkpoint, or damaged); use --fresh to start over") from None
        os.remove(ck)  # a stale sweep checkpoint (another network or sweep): sweep again
        return sampler, go()


def _plot_sample(problem, net, sampler, key, kappa, n=2048):
    """Radii and weighted pointwise errors on a small sample of the sweep's sampler."""
    from .sweep import pointwise_errors

    x = sampler.points(key, jnp.arange(n), dtype=net.dtype)
    err = pointwise_errors(net, problem.solution, x, target_grad=problem.solution_grad,
                           kappa=kappa)
    return tuple(np.asarray(jax.device_get(a), np.float64)
                 for a in (err.norm, err.weighted_value_error, err.weighted_derivative_error))


def describe_problem(problem) -> dict:
    """The problem's name, a one-line description and its fields (the report's ``problem``)."""
    a, b = problem.box
    desc = (f"{problem.name}, d = {problem.dim}, T = {problem.T:g}, "
            f"ξ ~ U([{a:g}, {b:g}]^{problem.dim})")
    return {"name": problem.name, "description": desc,
            **{f.name: getattr(problem, f.name) for f in dataclasses.fields(problem)}}


# -- outputs ---------------------------------------------------------------------------


def _radial_midpoints(shells):
    # JSON has no inf: the outermost shell's r_max is serialized as None
    r_hi = [np.inf if s["r_max"] is None else s["r_max"] for s in shells]
    return np.array([np.sqrt(s["r_min"] * hi) if np.isfinite(hi) and s["r_min"] > 0
                     else (hi / 2 if np.isfinite(hi) else 2 * s["r_min"])
                     for s, hi in zip(shells, r_hi)])


def _plot_error_panels(axes, report, pointwise, problem):
    sweep = report["sweep"]
    kappa = sweep["kappa"]
    shells = sweep["radial_profile"]
    rmid = _radial_midpoints(shells)
    a, b = problem.box
    lo = 0.0 if a <= 0 <= b else min(abs(a), abs(b)) * np.sqrt(problem.dim)
    hi = max(abs(a), abs(b)) * np.sqrt(problem.dim)
    r, ev, eg = pointwise
    for ax, key, pts, title in ((axes[0], "value_sup", ev, r"value: $|u-R\Phi|$"),
                                (axes[1], "derivative_sup", eg,
                                 r"gradient: $\|\nabla u-D^N\Phi\|$")):
        ax.axvspan(max(lo, float(np.min(r))), hi, color="0.9", label="radii of the box")
        ax.scatter(r, np.maximum(pts, 1e-300), s=3, alpha=0.35, label="sample points")
        ax.plot(rmid, [max(s[key], 1e-300) for s in shells], "o-", color="C3",
                label="shell maximum (sweep)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\|x\|$")
        ax.set_ylabel(rf"error $/(1+\|x\|^{{{kappa:g}}})$")
        ax.set_title(f"weighted {title}")
        ax.legend(fontsize=8)


def _plot_training_curve(ax, losses):
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, lw=0.4, alpha=0.4, label="minibatch loss")
    k = max(1, len(losses) // 100)
    m = np.convolve(losses, np.ones(k) / k, mode="valid")
    ax.plot(steps[k - 1:], m, lw=1.5, label=f"running mean ({k} steps)")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$(N(\xi)-\varphi(X_T^\xi))^2$, batch mean")
    ax.set_title("training curve")
    ax.legend(fontsize=8)


def _plot_paths_study(ax, study):
    n = np.array([s["paths"] for s in study])
    ax.loglog(n, [s["value_rel_l2"] for s in study], "o-", label=r"$u$")
    ax.loglog(n, [s["grad_rel_l2"] for s in study], "s-", label=r"$\nabla u$")
    g0 = study[0]["grad_rel_l2"]
    ax.loglog(n, g0 * np.sqrt(n[0] / n), "k--", lw=0.8, label=r"$n^{-1/2}$")
    ax.set_xlabel("paths n")
    ax.set_ylabel("relative $L^2$ error on the box")
    ax.set_title("Monte-Carlo averaging network")
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


def plot_report(path, report: dict, pointwise, losses, problem) -> None:
    """``errors.png``: weighted value and gradient errors against ‖x‖ (sample points and the
    sweep's shell maxima), and the training curve, the paths study or the global bounds."""
    from .io import atomic_write
    from .plot import figure

    fig = figure(figsize=(15, 4.2), layout="tight")
    axes = fig.subplots(1, 3)
    _plot_error_panels(axes, report, pointwise, problem)
    if losses is not None and len(losses):
        _plot_training_curve(axes[2], losses)
    elif report.get("constructive"):
        _plot_paths_study(axes[2], report["constructive"]["paths_study"])
    elif report.get("global"):
        _plot_global_summary(axes[2], report["global"])
    else:
        axes[2].axis("off")
    fig.suptitle(f"jrelu run {report['name']}: {report['problem']['description']}")
    atomic_write(path, lambda f: fig.savefig(f, dpi=110, format="png"))


def _write_json(path, obj) -> None:
    from .io import atomic_write

    def write(f):
        json.dump(obj, f, indent=2, allow_nan=False)
        f.write("\n")

    atomic_write(path, write, mode="w")


def print_table(report: dict, out) -> None:
    """The run's summary: the solution, the errors on the box and the weighted sweep."""
    be, sw = report["box_errors"], report["sweep"]
    n = report["network"]
    print(f"\n== jrelu run {report['name']}: {report['problem']['description']} ==")
    if "training" in report:
        t = report["training"]
        print(f"learned network {tuple(n['widths'])}, {t['steps']} steps × batch "
              f"{t['batch_size']}, final loss {t['final_loss']:.4g}, training {t['seconds']:.1f}s")
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
    rows = [
        (f"relative L2 error on the box ({be['points']} pts)", be["value_rel_l2"],
         be["grad_rel_l2"]),
        ("max abs error on the box", be["value_max_abs"], be["grad_max_abs"]),
        (f"sup error/(1+|x|^{sw['kappa']:g}), {sampler} ({sw['num_points']} pts)",
         sw["value"]["sup"], sw["derivative"]["sup"]),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'':{width}}  {'u':>10}  {'grad u':>10}")
    for label, v, g in rows:
        print(f"{label:{width}}  {v:10.3e}  {g:10.3e}")
    if "global" in report and "theorem_check" in report["global"]:
        t = report["global"]["theorem_check"]
        print(f"theorem (kappa = {t['kappa_theorem']:g}): sup value error {t['value_sup']:.3e} "
              f"<= eps = {t['value_bound']:.3e}: {t['value_bound_holds']}; sup gradient error "
              f"{t['grad_sup']:.3e} <= C eps^r = {t['grad_bound']:.3e}: {t['grad_bound_holds']}")
    print(f"wrote {', '.join(report['files'])} to {out}  ({report['seconds']:.1f}s)")


# -- the run ---------------------------------------------------------------------------


def output_folder(cfg: RunConfig, out=None) -> str:
    """The output folder of a run: ``out``, or ``runs/<name>``; checked without creating it.

    Raises:
      RunError: ``out`` is an existing file, or lies under one (one line naming ``--out``).
    """
    out = os.path.join("runs", cfg.name) if out is None else os.fspath(out)
    probe = out
    while probe and not os.path.exists(probe):
        parent = os.path.dirname(probe.rstrip(os.sep))
        if parent == probe:
            break
        probe = parent
    if probe and os.path.exists(probe) and not os.path.isdir(probe):
        where = "is an existing file" if probe == out else f"lies under the file {probe}"
        raise RunError(f"--out {out}: {where}, not a folder; choose another output folder")
    return out


def _prepare_output(cfg: RunConfig, out, *, fresh: bool) -> str:
    out = output_folder(cfg, out)
    try:
        os.makedirs(out, exist_ok=True)
        if not os.access(out, os.W_OK | os.X_OK):
            raise PermissionError(f"[Errno 13] Permission denied: {out!r}")
        if fresh:
            for f in ("checkpoint.npz", "sweep_checkpoint.json"):
                if os.path.lexists(os.path.join(out, f)):
                    os.remove(os.path.join(out, f))
    except OSError as e:
        raise RunError(f"--out {out}: cannot write the output folder "
                       f"({e.strerror or e}); choose another output folder") from None
    return out


def _solve(cfg: RunConfig, problem, key, out, report, *, fresh, verbose):
    """Run the config's solver; fills the report's solver part. Returns ``(net, losses)``."""
    losses = None
    if cfg.solver == "learning":
        net, losses, info = train_learning(cfg, problem, key, out, fresh=fresh,
                                           verbose=verbose)
        report["training"] = {**info, "loss_curve": loss_curve(losses)}
    elif cfg.solver == "constructive":
        net, info = solve_constructive(cfg, problem, key, verbose=verbose)
        report["constructive"] = info
    else:
        net, info = solve_global(cfg, problem, verbose=verbose)
        report["global"] = info
    return net, losses


def _network_summary(net) -> dict:
    from .network import connectivity, depth, num_params

    return {"widths": list(net.widths), "depth": depth(net), "num_params": num_params(net),
            "connectivity": connectivity(net), "dtype": str(net.dtype)}


def run_experiment(cfg: RunConfig, out=None, *, fresh: bool = False, verbose: bool = True,
                   plot: bool = True) -> dict:
    """Run the experiment of a validated config (:func:`jrelu.config.load_config`).

    Steps: build the problem; solve (``learning``: train with checkpoints in ``out``, resuming
    from ``out/checkpoint.npz`` unless ``fresh``; ``constructive``: the Monte-Carlo averaging
    network and its error-vs-n study; ``global``: the local-to-global network); relative L2
    errors of u and ∇u on ``box_points`` uniform points of the box; the weighted error
    sweep; then write ``out/network.npz``, ``out/report.json`` and (``plot``)
    ``out/errors.png``, print a table and return the report (the content of report.json).
    ``out`` defaults to ``runs/<name>``. Float64 configs turn on ``jax_enable_x64`` (this is
    the application entry point).

    Raises:
      RunError: matplotlib missing for the plot (before any work), an output folder that
        cannot be written (an existing file, a path under a file, no permission; before any
        work), a checkpoint that cannot be resumed (corrupt, another config; it names the
        file and suggests ``--fresh``), or a diverged training. One line each.
    """
    from .io import save_network
    from .pde import relative_l2_errors

    t_start = time.perf_counter()
    if plot and importlib.util.find_spec("matplotlib") is None:  # before any long work
        raise RunError("errors.png needs matplotlib: pip install 'jrelu[plot]', or pass --no-plot")
    if cfg.dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.dtype(cfg.dtype)
    out = _prepare_output(cfg, out, fresh=fresh)
    problem = cfg.problem.build()
    key = jax.random.key(cfg.seed)
    pdesc = describe_problem(problem)
    _say(verbose, f"jrelu run {cfg.name}: {pdesc['description']}, solver {cfg.solver}, "
                  f"output {out}")
    report = {"report_version": REPORT_VERSION, "name": cfg.name, "config": cfg.to_dict(),
              "versions": versions(), "problem": pdesc, "solver": cfg.solver}
    net, losses = _solve(cfg, problem, key, out, report, fresh=fresh, verbose=verbose)
    report["network"] = _network_summary(net)
    xs = problem.sample_box(jax.random.fold_in(key, 2), cfg.sweep.box_points, dtype=dtype)
    _say(verbose, f"relative L2 errors on {xs.shape[0]} uniform points of the box")
    report["box_errors"] = relative_l2_errors(net, problem, xs,
                                              chunk_size=cfg.sweep.chunk_size).to_dict()
    sampler, sweep = run_sweep(cfg, problem, net, jax.random.fold_in(key, 5), out,
                               verbose=verbose)
    report["sweep"] = sweep.to_dict()
    if "global" in report:
        report["global"]["theorem_check"] = theorem_check(report, sweep, cfg.sweep.kappa)
    save_network(os.path.join(out, "network.npz"), net,
                 metadata={"name": cfg.name, "problem": pdesc["description"]})
    files = ["report.json", "network.npz"]
    if plot:
        pw = _plot_sample(problem, net, sampler, jax.random.fold_in(key, 6), cfg.sweep.kappa)
        plot_report(os.path.join(out, "errors.png"), report, pw, losses, problem)
        files.append("errors.png")
    report["files"] = files
    report["seconds"] = time.perf_counter() - t_start
    _write_json(os.path.join(out, "report.json"), report)
    print_table(report, out)
    return report
