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
import functools
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
           "train_learning", "training_horizon_box", "training_inputs", "feynman_kac_stream",
           "training_data", "Scales",
           "average_learned", "sweep_sampler", "noise_floor_as_trained",
           "run_sweep", "solve_constructive",
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
    if tr.get("target_paths", 1) != 1 or tr.get("antithetic_targets", False):
        keep["training"].update(target_paths=tr.get("target_paths"),
                                antithetic_targets=tr.get("antithetic_targets"))
    if tr.get("normalize", False):
        keep["training"]["normalize"] = True
    # keys added after 0.2 enter only when not at their defaults (old checkpoints resume)
    if isinstance(keep.get("network"), dict) and keep["network"].get("members") == 1:
        keep["network"] = {k: v for k, v in keep["network"].items() if k != "members"}
    av = d.get("averaging") or {}
    if av.get("tau", 0.0) > 0 or av.get("enlarge", 0.0) > 0:
        keep["averaging"] = {k: av.get(k) for k in ("tau", "enlarge")}
        if av.get("inputs", "box") != "box":
            keep["averaging"]["inputs"] = av["inputs"]
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
    from .pde import ensemble_average, ensemble_init, ensemble_members, solve_learning

    tr = cfg.training
    steps, batch = tr.steps, tr.batch_size
    every, log_every = tr.checkpoint_every, tr.log_every
    dtype = jnp.dtype(cfg.dtype)
    widths = (problem.dim, *cfg.network.hidden, 1)
    members = cfg.network.members
    horizon, box = training_horizon_box(cfg, problem)
    opt, sched = make_optimizer(cfg)
    if members == 1:
        net = init(jax.random.fold_in(key, 0), widths, dtype=dtype)
        opt_state = opt.init(net)
    else:  # P(Φ^1, ..., Φ^M); the optimizer state is over the members stacked
        net = ensemble_init(jax.random.fold_in(key, 0), widths, members=members, dtype=dtype)
        opt_state = opt.init(jax.tree_util.tree_map(lambda *a: jnp.stack(a),
                                                    *ensemble_members(net, members=members)))
    k_train = jax.random.fold_in(key, 1)
    data, scales = training_data(cfg, problem, jax.random.fold_in(key, 30))
    loss_unit = 1.0 if scales is None else scales.output_std ** 2  # to the targets' units
    state = _TrainState(net=net, opt_state=opt_state)
    ckpt = os.path.join(out, "checkpoint.npz")
    fp = fingerprint(cfg)
    if os.path.exists(ckpt) and not fresh:
        state = _resume(ckpt, state, fp, steps, verbose)
    ens = f" × {members} members (ensemble)" if members > 1 else ""
    split = ""
    if horizon is not None or box is not None:
        t = problem.T if horizon is None else horizon
        a, b = problem.box if box is None else box
        split = f"; learning u({t:g}, ·) on [{a:g}, {b:g}]^{problem.dim}"
        if training_inputs(cfg) == "paths":
            split = (f"; learning u({t:g}, ·) at X_τ^ξ (τ = {problem.T - t:g}), "
                     f"ξ ~ U([{a:g}, {b:g}]^{problem.dim})")
    if tr.target_paths > 1:
        split += (f"; targets averaged over {tr.target_paths} "
                  f"{'antithetic ' if tr.antithetic_targets else ''}paths per point")
    nparams = members * num_params(init(jax.random.key(0), widths, dtype=dtype))
    _say(verbose, f"training: widths {widths}{ens} ({nparams} parameters), "
                  f"{steps} steps × batch {batch}, {cfg.optimizer.name} with "
                  f"{cfg.optimizer.schedule} schedule, {cfg.dtype}{split}; checkpoint every "
                  f"{every} steps")
    t0, start_step = time.perf_counter(), state.step
    last_log = state.step
    while state.step < steps:
        nxt = _next_stop(state.step, steps, every, log_every)
        state.net, hist = solve_learning(problem, state.net, optimizer=opt,
                                         steps=nxt - state.step, batch_size=batch, key=k_train,
                                         opt_state=state.opt_state, start_step=state.step,
                                         members=members, data=data)
        state.opt_state = hist.opt_state
        state.losses = np.concatenate([state.losses, loss_unit * np.asarray(hist.loss,
                                                                            np.float64)])
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
    net = state.net if members == 1 else ensemble_average(state.net, members=members)
    if scales is not None:
        net = scales.fold(net)
    info = {"steps": steps, "batch_size": batch, "widths": list(widths),
            "members": members, "horizon": problem.T if horizon is None else horizon,
            "box": list(problem.box if box is None else box),
            "num_params": num_params(net),
            "seconds": state.seconds_before + time.perf_counter() - t0,
            "resumed_from_step": start_step,
            "final_loss": float(losses[-max(1, steps // 100):].mean()),
            "kinks_hit": int(state.kinks.sum()),
            "target_paths": tr.target_paths, "antithetic_targets": tr.antithetic_targets}
    if scales is not None:
        info["normalized"] = scales.to_dict()
    return net, losses, info


@dataclasses.dataclass(frozen=True)
class Scales:
    r"""The standardization of ``[training] normalize``: the network is trained on
    :math:`((x-m)/s,\,(y-\mu)/\varsigma)` and returned as
    :math:`x\mapsto\mu+\varsigma\,R\Phi((x-m)/s)`, an affine map of each side folded into
    the first and the last layer (:func:`jrelu.compose`), so it is again a ReLU network whose
    :math:`D^N` is :math:`\varsigma\,D^N\Phi\,\mathrm{diag}(1/s)` by the chain rule."""

    input_mean: tuple
    input_std: tuple
    output_mean: float
    output_std: float

    def fold(self, net):
        from .network import Network, compose

        dt = net.dtype
        inv = 1.0 / np.asarray(self.input_std)
        inner = Network([(jnp.asarray(np.diag(inv), dt),
                          jnp.asarray(-np.asarray(self.input_mean) * inv, dt))])
        outer = Network([(jnp.asarray([[self.output_std]], dt),
                          jnp.asarray([self.output_mean], dt))])
        return compose(outer, compose(net, inner))

    def to_dict(self) -> dict:
        return {"input_mean": [min(self.input_mean), max(self.input_mean)],
                "input_std": [min(self.input_std), max(self.input_std)],
                "output_mean": self.output_mean, "output_std": self.output_std,
                "what": "training in standardized coordinates (x - m)/s, (y - mu)/sigma; "
                        "ranges of m and s over the coordinates"}


def feynman_kac_stream(cfg: RunConfig, problem):
    """The learning solver's Feynman–Kac data stream in the problem's coordinates
    (:func:`jrelu.pde.feynman_kac_data` with the config's horizon, box, inputs and target
    paths)."""
    from .pde import feynman_kac_data

    horizon, box = training_horizon_box(cfg, problem)
    tr = cfg.training
    return feynman_kac_data(problem, dtype=jnp.dtype(cfg.dtype), horizon=horizon, box=box,
                            inputs=training_inputs(cfg), paths=tr.target_paths,
                            antithetic=tr.antithetic_targets)


def training_data(cfg: RunConfig, problem, key, *, pilot: int = 16384):
    """The learning solver's data stream and, with ``[training] normalize``, its
    :class:`Scales` (per-coordinate mean and standard deviation of ``pilot`` inputs, mean and
    standard deviation of their targets, drawn with ``key``); ``(data, None)`` otherwise."""
    data = feynman_kac_stream(cfg, problem)
    if not cfg.training.normalize:
        return data, None
    x, y = (np.asarray(a, np.float64) for a in data(key, pilot))
    scales = Scales(tuple(float(v) for v in x.mean(0)), tuple(float(v) for v in x.std(0)),
                    float(y.mean()), float(y.std()))
    return _standardized(data, scales), scales


@functools.lru_cache(maxsize=16)
def _standardized(data, scales: Scales):
    """``data`` in the standardized coordinates of ``scales`` (cached: one compiled program)."""
    m, inv = np.asarray(scales.input_mean), 1.0 / np.asarray(scales.input_std)
    mu, sig = scales.output_mean, scales.output_std

    def data_std(key, batch_size):
        x, y = data(key, batch_size)
        return (x - m.astype(x.dtype)) * inv.astype(x.dtype), (y - mu) / sig

    return data_std


def training_horizon_box(cfg: RunConfig, problem):
    """The learning solver's target time T − τ and training box (enlarged by
    ``averaging.enlarge``); None for the problem's own."""
    av = cfg.averaging
    horizon = problem.T - av.tau if av is not None and av.tau > 0 else None
    box = None
    if av is not None and av.enlarge > 0:
        box = (problem.box[0] - av.enlarge, problem.box[1] + av.enlarge)
    return horizon, box


def training_inputs(cfg: RunConfig) -> str:
    """The learning solver's training inputs: ``"paths"`` (the ends of paths of the first τ)
    when ``averaging.inputs`` says so and τ > 0, else ``"box"``."""
    av = cfg.averaging
    return "paths" if av is not None and av.tau > 0 and av.inputs == "paths" else "box"


def average_learned(cfg: RunConfig, problem, net, key, *, verbose: bool = True):
    """The semigroup split's result: the learned u(T − τ, ·) averaged over ``paths``
    Feynman–Kac paths of the last τ (key ``fold_in(key, 7)``), as a
    :class:`jrelu.pde.AveragingNetwork`. Returns ``(avg, info)``."""
    from .pde import AveragingNetwork, path_maps

    av = cfg.averaging
    s, c = path_maps(problem, av.paths, key=jax.random.fold_in(key, 7), dtype=net.dtype,
                     t=av.tau, antithetic=av.antithetic, moment_matching=av.moment_matching)
    avg = AveragingNetwork(net, s, c, members=cfg.network.members)
    _say(verbose, f"averaging network: u(T, x) = E[u(T − τ, X_τ^x)], τ = {av.tau:g}, "
                  f"{av.paths} {'antithetic ' if av.antithetic else ''}paths; dense "
                  f"equivalent widths {avg.widths}, stored {avg.num_params} numbers")
    return avg, {"tau": av.tau, "paths": av.paths, "antithetic": av.antithetic,
                 "moment_matching": av.moment_matching,
                 "enlarge": av.enlarge, "inputs": training_inputs(cfg),
                 "base_widths": list(net.widths),
                 "members": cfg.network.members, "dense_widths": list(avg.widths),
                 "stored_numbers": avg.num_params}


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
    from ._outputs import theorem_check as check

    return check(report["global"]["record"], sweep, kappa)


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


def describe_problem(problem) -> dict:
    """The problem's name, a one-line description and its fields (the report's ``problem``)."""
    a, b = problem.box
    desc = (f"{problem.name}, d = {problem.dim}, T = {problem.T:g}, "
            f"ξ ~ U([{a:g}, {b:g}]^{problem.dim})")
    return {"name": problem.name, "description": desc,
            **{f.name: getattr(problem, f.name) for f in dataclasses.fields(problem)}}


# -- outputs ---------------------------------------------------------------------------


def plot_report(path, report: dict, pointwise, losses, problem, *, wrap_points=None) -> None:
    """``errors.png``: raw and weighted errors of u and ∇u against ‖x‖ (points in the
    training box apart from those outside it, the sweep's shell maxima, the zero network),
    the training curve with its noise floor (or the paths study, or the global network's
    constants) and the wrapped network against its envelopes (or how to read the numbers).
    ``pointwise`` is :func:`jrelu._outputs.plot_sample`'s result."""
    from ._outputs import plot_report as plot

    plot(path, report, pointwise, losses, problem, wrap_points=wrap_points)


def noise_floor_as_trained(cfg: RunConfig, problem, key) -> dict:
    """The noise floor of the learning solver's loss as it trains: targets at time T − τ
    (``[averaging] tau``), inputs on the box it trains on (``enlarge``) or at the ends of
    paths (``inputs``), targets averaged over ``training.target_paths``; the closed form
    or Monte Carlo (key ``fold_in(key, 20)``), see :func:`jrelu._outputs.noise_floor`, or
    Monte Carlo over the data stream itself (:func:`jrelu._outputs.data_noise_floor`)."""
    from . import _outputs

    horizon, box = training_horizon_box(cfg, problem)
    t = problem.T if horizon is None else horizon
    box = problem.box if box is None else tuple(box)
    inputs, tr = training_inputs(cfg), cfg.training
    key = jax.random.fold_in(key, 20)
    if inputs == "box" and tr.target_paths == 1:
        trained = dataclasses.replace(problem, T=t, box=box)
        floor = _outputs.noise_floor(trained, key, dtype=jnp.dtype(cfg.dtype))
    else:
        floor = _outputs.data_noise_floor(problem, feynman_kac_stream(cfg, problem), t, key)
    return {**floor, "horizon": t, "box": list(box), "inputs": inputs,
            "target_paths": tr.target_paths}


def _honest_outputs(cfg: RunConfig, problem, net, sampler, report: dict, key, xs, out, losses,
                    *, verbose: bool = True):
    """What the numbers mean: the zero network's reference on the sweep's points, the meaning
    line, the noise floor of the loss, the local-to-global guarantee and (``[global_wrap]``
    enabled) the wrapped network Φ_ε, written to ``network_global.npz``, with its box errors,
    sweeps and envelope check. Fills the report; returns ``(files, wrap_points, x)`` with x
    the sweep's first (at most 8192) points."""
    from . import _outputs
    from .config import GlobalWrapConfig
    from .io import save_network
    from .pde import relative_l2_errors

    sw, k_sweep = report["sweep"], jax.random.fold_in(key, 5)
    dtype = jnp.dtype(cfg.dtype)
    gw = cfg.global_wrap if cfg.global_wrap is not None else GlobalWrapConfig()
    c, nu, _ = _outputs.problem_growth(problem)
    nu = gw.growth_nu if gw.growth_nu is not None else nu
    kappas = sorted({cfg.sweep.kappa} | ({nu + 1.0} if nu is not None else set()))
    report["zero_network"] = _outputs.zero_network_reference(
        problem, sampler, k_sweep, sw["num_points"], kappas, shells=sw["radial_profile"],
        dtype=dtype)
    report["weighted_ratio_meaning"] = _outputs.ratio_meaning(sw, report["zero_network"],
                                                              problem)
    x_first = next(_outputs.sweep_points(sampler, k_sweep, min(sw["num_points"], 8192),
                                         dtype=dtype))
    if losses is not None:
        report["noise_floor"] = noise_floor_as_trained(cfg, problem, key)
    if cfg.solver == "global":
        report["global_guarantee"] = {"line": "local-to-global guarantee: this network is the "
                                              "construction's Phi_eps itself (theorem line)"}
        return [], None, x_first
    if cfg.solver != "learning" and not gw.enabled:
        return [], None, x_first
    _say(verbose, f"local-to-global wrap: measuring the local error on {gw.num_points} points")
    try:
        wrap = _outputs.wrap_global(net, problem, jax.random.fold_in(key, 21),
                                    epsilon=gw.epsilon, growth_c=gw.growth_c,
                                    growth_nu=gw.growth_nu, num_points=gw.num_points)
    except (TypeError, ValueError) as e:  # a network type the wrap cannot evaluate
        wrap = {"status": "skipped", "reason": " ".join(str(e).split())}
    zth = None
    if "guaranteed" in wrap:
        zth = report["zero_network"]["kappas"].get(f"{wrap['guaranteed']['kappa']:g}")
    line = _outputs.guarantee_line(wrap, zth, problem)
    report["global_guarantee"] = {"line": line, **{k: wrap[k] for k in (
        "measured", "guaranteed", "reason") if k in wrap}}
    if not gw.enabled:
        return [], None, x_first
    if wrap["status"] != "built":
        report["global_wrap"] = {"status": "skipped", "reason": wrap["reason"]}
        _say(verbose, f"global_wrap: skipped: {wrap['reason']}")
        return [], None, x_first
    wnet, record = wrap["network"], wrap["record"]
    path = os.path.join(out, "network_global.npz")
    save_network(path, wnet, metadata={
        "name": cfg.name, "problem": report["problem"]["description"],
        "what": "local-to-global network Phi_eps of the learned network (global_wrap)",
        "certified": False, "record": record.to_dict(), "measured": wrap["measured"],
        "guaranteed": wrap["guaranteed"]})
    _say(verbose, f"global_wrap: Φ_ε, ε = {record.eps:.4g}, κ = {record.kappa:g}, depth "
                  f"{record.depth}, {record.num_params} parameters -> {path}")
    box = relative_l2_errors(wnet, problem, xs, chunk_size=cfg.sweep.chunk_size).to_dict()
    werr = _outputs.wrapped_errors(wnet, record, problem, sampler, k_sweep, sw["num_points"],
                                   sorted({cfg.sweep.kappa, record.kappa}), dtype=dtype)
    report["global_wrap"] = {
        "status": "built", "file": "network_global.npz", "certified": False,
        "record": record.to_dict(), "measured": wrap["measured"],
        "guaranteed": wrap["guaranteed"], "box_errors": box, "sweeps": werr["sups"],
        "theorem_check": werr["theorem_check"], "envelope_check": werr["envelope_check"]}
    ec = werr["envelope_check"]
    _say(verbose, f"global_wrap: the envelopes hold at {ec['points'] - ec['value_violations']}"
                  f"/{ec['points']} (u) and {ec['points'] - ec['derivative_violations']}/"
                  f"{ec['points']} (∇u) sweep points")
    wrap_points = werr["plot"]
    return ["network_global.npz"], wrap_points, x_first


def _write_json(path, obj) -> None:
    from .io import atomic_write

    def write(f):
        json.dump(obj, f, indent=2, allow_nan=False)
        f.write("\n")

    atomic_write(path, write, mode="w")


def print_table(report: dict, out) -> None:
    """The run's summary: the solution, the errors on the box, the weighted sweep, what the
    weighted ratio means (against the zero network) and the local-to-global guarantee."""
    from ._outputs import print_table as table

    table(report, out)


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
        if cfg.averaging.tau > 0:
            net, report["averaging"] = average_learned(cfg, problem, net, key, verbose=verbose)
    elif cfg.solver == "constructive":
        net, info = solve_constructive(cfg, problem, key, verbose=verbose)
        report["constructive"] = info
    else:
        net, info = solve_global(cfg, problem, verbose=verbose)
        report["global"] = info
    return net, losses


def _network_summary(net) -> dict:
    from .network import connectivity, depth, num_params
    from .pde import AveragingNetwork

    if isinstance(net, AveragingNetwork):  # the dense equivalent's widths; stored numbers
        b = net.base
        return {"kind": "averaging_network", "widths": list(net.widths), "depth": depth(b),
                "num_params": net.num_params, "base_widths": list(b.widths),
                "num_paths": net.num_paths, "members": net.members,
                "connectivity": connectivity(b) + 2 * int(net.scales.size),
                "dtype": str(net.dtype)}
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
    more_files, wrap_points, x_sweep = _honest_outputs(cfg, problem, net, sampler, report, key,
                                                       xs, out, losses, verbose=verbose)
    files = ["report.json", "network.npz", *more_files]
    if plot:
        from ._outputs import plot_sample

        pw = plot_sample(problem, net, x_sweep, xs, cfg.sweep.kappa)
        plot_report(os.path.join(out, "errors.png"), report, pw, losses, problem,
                    wrap_points=wrap_points)
        files.append("errors.png")
    report["files"] = files
    report["seconds"] = time.perf_counter() - t_start
    _write_json(os.path.join(out, "report.json"), report)
    print_table(report, out)
    return report
