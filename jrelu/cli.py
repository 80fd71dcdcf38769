"""The ``jrelu`` command (also ``python -m jrelu``).

Subcommands:
  ``jrelu run [CONFIG.toml] [--out DIR] [--set KEY=VALUE ...] [--fresh]``
                           an experiment described by a TOML config (see :mod:`jrelu.config`):
                           a Kolmogorov PDE (:mod:`jrelu.pde`) solved by a ReLU network, with
                           relative L2 errors of u and ∇u on the box and a global weighted
                           error sweep (:func:`jrelu.errors.error_sweep`). Writes
                           DIR/report.json, DIR/network.npz, DIR/errors.png; resumes from
                           DIR/checkpoint.npz. Without CONFIG: the packaged quickstart
                           (heat equation, d = 10).
  ``jrelu demo``           the counterexamples of MATH.md §2 and the chain rule at a kink.
  ``jrelu bench [SUITE]``  the benchmark suites (see :mod:`jrelu.bench`).

Exit codes: 0 success, 2 invalid config or arguments (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import sys


def demo() -> int:
    """Print the MATH.md §2 counterexamples and a chain-rule check at a kink, in float64."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from .activations import ReLU
    from .derivative import derivative
    from .examples import identity_counterexamples, slope_network
    from .network import Network, compose, realize

    x0 = jnp.zeros(1)
    print("D^N at x = 0 for three ReLU networks, by the kink value c = Dϱ(0):")
    print(f"  {'c':>5} | {'2ϱ(x)-3ϱ(-x) [slopes 3 | 2]':>28} | {'ϱ(x)-ϱ(-x)':>12} | "
          f"{'ϱ(ϱ(x))-ϱ(ϱ(-x))':>18}")
    slope = slope_network(2.0, 3.0)
    id2, id3 = identity_counterexamples()
    for c in (0.0, 0.5, 1.0):
        act = ReLU(kink=c)
        vals = [float(derivative(n, x0, act)[0, 0]) for n in (slope, id2, id3)]
        print(f"  {c:5.2f} | {vals[0]:28.4g} | {vals[1]:12.4g} | {vals[2]:18.4g}")
    print("  expected: c(a+b) = 5c, 2c, 2c² — no c makes both identity networks give 1.\n")

    inner = Network([(jnp.array([[1.0, -1.0], [0.5, 0.5]]), jnp.array([0.0, -1.0])),
                     (jnp.array([[1.0, 2.0]]), jnp.array([0.0]))])
    outer = slope_network(2.0, 3.0)
    x = jnp.array([1.0, 1.0])  # every hidden pre-activation of inner is exactly 0 here
    for c in (0.0, 0.5, 1.0):
        act = ReLU(kink=c)
        lhs = derivative(compose(outer, inner), x, act)
        rhs = derivative(outer, realize(inner, x, act), act) @ derivative(inner, x, act)
        jac = jax.jacrev(lambda y, a=act: realize(compose(outer, inner), y, a))(x)
        print(f"chain rule at a kink, c={c}: D^N(Ψ∘Φ)(x) = {lhs.ravel().tolist()}, "
              f"D^NΨ(RΦ(x))·D^NΦ(x) = {rhs.ravel().tolist()}, jacrev = {jac.ravel().tolist()}, "
              f"equal: {bool(jnp.array_equal(lhs, rhs) and jnp.array_equal(lhs, jac))}")
    return 0


# -- jrelu run ---------------------------------------------------------------------------------


class RunError(RuntimeError):
    """A run that cannot proceed (e.g. a checkpoint written by another config); one line."""


def _say(verbose, *args):
    if verbose:
        print(*args, flush=True)


def _versions() -> dict:
    import platform

    import jax
    import numpy as np
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


def make_optimizer(cfg: dict):
    r"""The optax optimizer and learning-rate schedule of a validated learning config.

    Over S = ``training.steps`` steps, after W = ``warmup_steps`` steps of linear warm-up
    from 0: ``constant``; ``cosine`` decay from lr to ``final_learning_rate`` over S − W
    steps; ``exponential`` :math:`\mathrm{lr}\,(\mathrm{final}/\mathrm{lr})^{t/(S-W)}`;
    ``piecewise``: lr multiplied by ``decay_factor`` at each of the ``milestones``
    (fractions of S). Returns ``(optimizer, schedule)``.
    """
    import optax

    o, steps = cfg["optimizer"], cfg["training"]["steps"]
    lr, final, warm = o["learning_rate"], o["final_learning_rate"], o["warmup_steps"]
    span = steps - warm
    if o["schedule"] == "constant":
        sched = optax.constant_schedule(lr)
    elif o["schedule"] == "cosine":
        sched = optax.cosine_decay_schedule(lr, span, alpha=final / lr)
    elif o["schedule"] == "exponential":
        sched = optax.exponential_decay(lr, span, decay_rate=final / lr)
    else:
        bounds = {}
        for m in o["milestones"]:
            b = int(m * steps) - warm
            if b > 0:
                bounds[b] = bounds.get(b, 1.0) * o["decay_factor"]
        sched = optax.piecewise_constant_schedule(lr, bounds)
    if warm:
        sched = optax.join_schedules([optax.linear_schedule(0.0, lr, warm), sched], [warm])
    if o["name"] == "adam":
        opt = optax.adam(sched)
    elif o["name"] == "adamw":
        opt = optax.adamw(sched, weight_decay=o["weight_decay"])
    else:
        opt = optax.sgd(sched, momentum=o["momentum"] or None)
    if o["clip_norm"] is not None:
        opt = optax.chain(optax.clip_by_global_norm(o["clip_norm"]), opt)
    return opt, sched


def _fingerprint(cfg: dict) -> str:
    """Hash of everything that determines the trained network."""
    import hashlib
    import json

    keep = {k: cfg.get(k) for k in ("seed", "dtype", "solver", "problem", "network",
                                      "optimizer", "constructive")}
    tr = cfg.get("training") or {}
    keep["training"] = {k: tr.get(k) for k in ("steps", "batch_size", "checkpoint_every")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()


def _train_learning(cfg, problem, key, out, fresh, verbose):
    """Train with checkpoints every ``checkpoint_every`` steps; resume from one if present.

    Returns ``(net, losses, info)``; ``losses`` is the float64 per-step minibatch loss.
    """
    import os
    import time

    import jax
    import jax.numpy as jnp
    import numpy as np

    from .io import load_checkpoint, save_checkpoint
    from .network import init, num_params
    from .pde import solve_learning

    tr = cfg["training"]
    steps, batch = tr["steps"], tr["batch_size"]
    every, log_every = tr["checkpoint_every"], tr["log_every"]
    dtype = jnp.dtype(cfg["dtype"])
    widths = (problem.dim, *cfg["network"]["hidden"], 1)
    net = init(jax.random.fold_in(key, 0), widths, dtype)
    k_train = jax.random.fold_in(key, 1)
    opt, sched = make_optimizer(cfg)
    opt_state = opt.init(net)
    ckpt = os.path.join(out, "checkpoint.npz")
    fp = _fingerprint(cfg)
    step, losses, kinks, seconds_before = 0, np.zeros(0), np.zeros(0, np.int64), 0.0
    if os.path.exists(ckpt) and not fresh:
        try:
            state = load_checkpoint(ckpt, opt_state)
        except (ValueError, OSError, KeyError) as e:
            raise RunError(f"{ckpt}: cannot resume ({e}); use --fresh to start over") from None
        if state["metadata"].get("fingerprint") != fp:
            raise RunError(f"{ckpt} was written by a different config (problem, network, "
                           "optimizer, training or seed differ); use --fresh to start over or "
                           "--out to write elsewhere")
        net, opt_state, step = state["net"], state["opt_state"], state["step"]
        losses = state["extra"]["loss"].astype(np.float64)
        kinks = state["extra"]["kinks"].astype(np.int64)
        seconds_before = float(state["extra"]["seconds"])
        _say(verbose, f"resuming from {ckpt} at step {step}/{steps}")
    _say(verbose, f"training: widths {widths} ({num_params(net)} parameters), {steps} steps × "
                  f"batch {batch}, {cfg['optimizer']['name']} with {cfg['optimizer']['schedule']}"
                  f" schedule, {cfg['dtype']}; checkpoint every {every} steps")
    t0, start_step = time.perf_counter(), step
    last_log = step
    while step < steps:
        nxt = min(steps, (step // every + 1) * every, (step // log_every + 1) * log_every)
        net, hist = solve_learning(problem, net, opt, nxt - step, batch, k_train,
                                   opt_state=opt_state, start_step=step)
        opt_state = hist.opt_state
        losses = np.concatenate([losses, np.asarray(hist.loss, np.float64)])
        kinks = np.concatenate([kinks, np.asarray(hist.kinks, np.int64)])
        step = nxt
        now = time.perf_counter() - t0
        if not np.isfinite(losses[-1]):
            raise RunError(f"training diverged: loss {losses[-1]} at step {step}; lower "
                           "optimizer.learning_rate")
        if step % every == 0 or step == steps:
            save_checkpoint(ckpt, net, opt_state, step, k_train,
                            extra={"loss": losses, "kinks": kinks,
                                   "seconds": np.asarray(seconds_before + now)},
                            metadata={"fingerprint": fp, "config_name": cfg["name"]})
        if step % log_every == 0 or step == steps:
            eta = (steps - step) * now / (step - start_step)
            _say(verbose, f"  step {step:>7d}/{steps}  loss {losses[last_log:step].mean():.4e}  "
                          f"lr {float(sched(step - 1)):.2e}  {seconds_before + now:6.1f}s  "
                          f"eta {eta:4.0f}s")
            last_log = step
    info = {"steps": steps, "batch_size": batch, "widths": list(widths),
            "num_params": num_params(net),
            "seconds": seconds_before + time.perf_counter() - t0,
            "resumed_from_step": start_step,
            "final_loss": float(losses[-max(1, steps // 100):].mean()),
            "kinks_hit": int(kinks.sum())}
    return net, losses, info


def _sweep_sampler(cfg, problem):
    from .errors import Gaussian, Halton, RadialShells, TensorGrid, UniformBox

    s, d = cfg["sweep"], problem.dim
    low = s["low"] if s["low"] is not None else problem.box[0]
    high = s["high"] if s["high"] is not None else problem.box[1]
    name = s["sampler"]
    if name == "uniform_box":
        return UniformBox(d, low, high)
    if name == "halton":
        return Halton(d, low, high)
    if name == "grid":
        return TensorGrid(d, s["per_axis"], low, high)
    if name == "gaussian":
        return Gaussian(d, 0.0, s["std"])
    return RadialShells(d, s["r_max"], s["num_shells"], s["r_min"])


def _sweep(cfg, problem, net, key, out, verbose):
    import os

    from .errors import error_sweep

    s = cfg["sweep"]
    sampler = _sweep_sampler(cfg, problem)
    n = s["points"] if sampler.size is None else min(s["points"], sampler.size)
    _say(verbose, f"error sweep: {n} points, {type(sampler).__name__}, κ = {s['kappa']:g}")
    ck = os.path.join(out, "sweep_checkpoint.json")

    def go():
        return error_sweep(net, problem.solution, sampler, n, key, kappa=s["kappa"],
                           target_grad=problem.solution_grad, chunk_size=s["chunk_size"],
                           checkpoint=ck, progress=None if verbose else False)

    try:
        return sampler, go()
    except ValueError as e:
        if "checkpoint" not in str(e) or not os.path.exists(ck):
            raise
        os.remove(ck)  # a stale sweep checkpoint (another network): sweep again
        return sampler, go()


def _pointwise(problem, net, sampler, key, kappa, n=2048):
    """Pointwise weighted errors on a small sample of the sweep's sampler, for the plot."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .derivative import derivative
    from .network import realize

    x = sampler.points(key, jnp.arange(n), net.dtype)
    r = jnp.linalg.norm(x, axis=-1)
    w = 1.0 + r**kappa
    ev = jnp.abs(realize(net, x)[:, 0] - problem.solution(x)) / w
    eg = jnp.linalg.norm(derivative(net, x)[:, 0, :] - problem.solution_grad(x), axis=-1) / w
    return tuple(np.asarray(jax.device_get(a), np.float64) for a in (r, ev, eg))


def _plot(path, report, pointwise, losses, problem):
    import numpy as np

    from .plot import figure

    sweep = report["sweep"]
    kappa = sweep["kappa"]
    fig = figure(figsize=(15, 4.2), layout="tight")
    axes = fig.subplots(1, 3)
    shells = sweep["radial_profile"]
    # JSON has no inf: the outermost shell's r_max is serialized as None
    r_hi = [np.inf if s["r_max"] is None else s["r_max"] for s in shells]
    rmid = np.array([np.sqrt(s["r_min"] * hi) if np.isfinite(hi) and s["r_min"] > 0
                     else (hi / 2 if np.isfinite(hi) else 2 * s["r_min"])
                     for s, hi in zip(shells, r_hi)])
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
    ax = axes[2]
    if losses is not None and len(losses):
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
    elif report.get("constructive"):
        study = report["constructive"]["paths_study"]
        n = np.array([s["paths"] for s in study])
        ax.loglog(n, [s["value_rel_l2"] for s in study], "o-", label=r"$u$")
        ax.loglog(n, [s["grad_rel_l2"] for s in study], "s-", label=r"$\nabla u$")
        g0 = study[0]["grad_rel_l2"]
        ax.loglog(n, g0 * np.sqrt(n[0] / n), "k--", lw=0.8, label=r"$n^{-1/2}$")
        ax.set_xlabel("paths n")
        ax.set_ylabel("relative $L^2$ error on the box")
        ax.set_title("Monte-Carlo averaging network")
        ax.legend(fontsize=8)
    elif report.get("global"):
        rec = report["global"]["record"]
        ax.axis("off")
        lines = [r"local-to-global network $\Phi_\varepsilon$ (MATH.md §4)",
                 f"ε = {rec['eps']:g}, κ = ν + 1 = {rec['kappa']:g}, r = {rec['r']:g}",
                 f"B = {rec['B']:g}, b = {rec['b']:g}, m = {rec['m']}, C = {rec['C']:.3g}",
                 f"depth {rec['depth']}, width {rec['width']}, {rec['num_params']} parameters"]
        t = report["global"].get("theorem_check")
        if t:
            lines += [f"sup weighted value error {t['value_sup']:.2e} ≤ ε: "
                      f"{t['value_bound_holds']}",
                      f"sup weighted gradient error {t['grad_sup']:.2e} ≤ Cε^r = "
                      f"{t['grad_bound']:.2e}: {t['grad_bound_holds']}"]
        ax.text(0.0, 0.95, "\n".join(lines), va="top", fontsize=9, family="monospace")
    else:
        ax.axis("off")
    fig.suptitle(f"jrelu run {report['name']}: {report['problem']['description']}")
    fig.savefig(path, dpi=110)


def _square_bound(cfg, problem) -> float:
    """B of the squaring network: the config's, else the smallest power of two covering the
    box plus 4 standard deviations of the Feynman–Kac shift √(2T)Z."""
    import math

    if cfg["constructive"]["bound"] is not None:
        return cfg["constructive"]["bound"]
    reach = max(abs(problem.box[0]), abs(problem.box[1])) + 4.0 * math.sqrt(2.0 * problem.T)
    return 2.0 ** math.ceil(math.log2(reach))


def _mc_average(phi_net, scales, shifts, xs):
    """(1/n)Σ RΦ(s_i⊙x+c_i) and (1/n)Σ D^NΦ(s_i⊙x+c_i)diag(s_i), path by path (a scan), equal
    to the averaging network's realization and D^N (tested identity) without building it."""
    import jax
    import jax.numpy as jnp

    from .derivative import derivative
    from .network import realize

    @jax.jit
    def run(net, s, c, x):
        def body(acc, sc):
            si, ci = sc
            y = si * x + ci
            return (acc[0] + realize(net, y)[:, 0], acc[1] + derivative(net, y)[:, 0, :] * si), None

        init = (jnp.zeros(x.shape[0], x.dtype), jnp.zeros(x.shape, x.dtype))
        (v, g), _ = jax.lax.scan(body, init, (s, c))
        return v / s.shape[0], g / s.shape[0]

    return run(phi_net, scales, shifts, xs)


def _constructive(cfg, problem, key, verbose):
    """The Monte-Carlo averaging network (heat equation, φ = ‖x‖²) and its error-vs-n study.

    Φ_φ is :func:`jrelu.constructions.squared_norm_network` (Yarotsky squaring per
    coordinate, accurate on [−B, B]^d). The network of ``paths`` paths is built with
    :func:`jrelu.pde.averaging_network`; the study evaluates every n of ``paths_study``
    on the same points: n ≤ ``paths`` by building the network too, larger n path by path
    (identical values, by the chain-rule identity the tests check).
    """
    import math

    import jax
    import jax.numpy as jnp
    import numpy as np

    from .constructions import squared_norm_network
    from .pde import averaging_network, path_maps, relative_l2_errors

    c, dtype = cfg["constructive"], jnp.dtype(cfg["dtype"])
    d, m = problem.dim, c["square_depth"]
    B = _square_bound(cfg, problem)
    phi_net = squared_norm_network(d, B, m, dtype)
    k_paths = jax.random.fold_in(key, 3)
    xs = problem.sample_box(jax.random.fold_in(key, 4), min(cfg["sweep"]["box_points"], 4096),
                            dtype)
    u, gu = problem.solution(xs), problem.solution_grad(xs)
    nmax = max(max(c["paths_study"]), c["paths"])
    s_all, c_all = path_maps(problem, k_paths, nmax, dtype)  # paths 1..n are the first n
    _say(verbose, f"constructive: Φ_φ = squared_norm_network(d={d}, B={B:g}, m={m}), widths "
                  f"{phi_net.widths}; a priori on [-B, B]^d: |Φ − ‖x‖²| ≤ "
                  f"{d * B * B * 2.0 ** (-2 * m - 2):.2e}, ‖D^NΦ − 2x‖ ≤ "
                  f"{math.sqrt(d) * B * 2.0 ** -m:.2e}")
    study = []
    for n in sorted(set(c["paths_study"]) | {c["paths"]}):
        v, g = _mc_average(phi_net, s_all[:n], c_all[:n], xs)
        ev = float(jnp.sqrt(jnp.sum((v - u) ** 2) / jnp.sum(u**2)))
        eg = float(jnp.sqrt(jnp.sum((g - gu) ** 2) / jnp.sum(gu**2)))
        study.append({"paths": n, "value_rel_l2": ev, "grad_rel_l2": eg,
                      "built_network": n <= c["paths"]})
        _say(verbose, f"  n = {n:>6d} paths: relative L2 error u {ev:.3e}, ∇u {eg:.3e}")
    net = averaging_network(phi_net, s_all[:c["paths"]], c_all[:c["paths"]])
    # the built network against the path-by-path evaluation, on the study's points
    built = relative_l2_errors(net, problem, xs, chunk_size=cfg["sweep"]["chunk_size"])
    ref = next(r for r in study if r["paths"] == c["paths"])
    ns = np.array([r["paths"] for r in study], float)
    eg = np.array([r["grad_rel_l2"] for r in study])
    slope = float(np.polyfit(np.log(ns), np.log(eg), 1)[0]) if len(ns) > 1 else None
    info = {"phi_network": {"name": "squared_norm_network", "widths": list(phi_net.widths),
                            "square_depth": m, "bound": B,
                            "value_error_bound": d * B * B * 2.0 ** (-2 * m - 2),
                            "grad_error_bound": math.sqrt(d) * B * 2.0**-m},
            "paths": c["paths"], "paths_study": study, "grad_error_slope_vs_n": slope,
            "built_vs_pathwise": {"value_rel_l2": [built["value_rel_l2"], ref["value_rel_l2"]],
                                  "grad_rel_l2": [built["grad_rel_l2"], ref["grad_rel_l2"]]}}
    if slope is not None:
        _say(verbose, f"  gradient error ∝ n^{slope:.2f} (Monte Carlo: n^-0.5)")
    return net, info


def _global(cfg, problem, verbose):
    """The local-to-global network Φ_ε for φ = ‖x‖² (MATH.md §4), shifted by the constant
    2Td so that it approximates u(T,·) = ‖x‖² + 2Td with the same weighted bounds."""
    import jax.numpy as jnp

    from .constructions import global_network, squared_norm_local
    from .network import Network, compose

    eps, dtype = cfg["constructive"]["epsilon"], jnp.dtype(cfg["dtype"])
    net, record = global_network(squared_norm_local(problem.dim, dtype), eps)
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


def _describe_problem(problem) -> dict:
    import dataclasses

    a, b = problem.box
    desc = (f"{problem.name}, d = {problem.dim}, T = {problem.T:g}, "
            f"ξ ~ U([{a:g}, {b:g}]^{problem.dim})")
    return {"name": problem.name, "description": desc,
            **{f.name: getattr(problem, f.name) for f in dataclasses.fields(problem)}}


def _write_json(path, obj):
    import json
    import os
    import tempfile

    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=2, allow_nan=False)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _loss_curve(losses, points: int = 200) -> dict:
    import numpy as np

    n = len(losses)
    k = max(1, -(-n // points))
    m = n // k * k
    means = losses[:m].reshape(-1, k).mean(axis=1) if m else np.zeros(0)
    return {"window": k, "step": [int(i) for i in range(k, m + 1, k)],
            "loss": [float(v) for v in means]}


def run_experiment(cfg: dict, out=None, *, fresh: bool = False, verbose: bool = True,
                   plot: bool = True) -> dict:
    """Run the experiment of a validated config (:func:`jrelu.config.load_config`).

    Steps: build the problem; solve (``learning``: train with checkpoints in ``out``, resuming
    from ``out/checkpoint.npz`` unless ``fresh``; ``constructive``: the Monte-Carlo averaging
    network and its error-vs-n study); relative L2 errors of u and ∇u on ``box_points``
    uniform points of the box; the weighted error sweep; then write ``out/network.npz``,
    ``out/report.json`` and (``plot``) ``out/errors.png``, print a table and return the report.
    ``out`` defaults to ``runs/<name>``. Float64 configs turn on ``jax_enable_x64`` (this is
    the application entry point).
    """
    import importlib.util
    import os
    import time

    import jax
    import jax.numpy as jnp

    from .config import build_problem
    from .io import save_network
    from .pde import relative_l2_errors

    t_start = time.perf_counter()
    if plot and importlib.util.find_spec("matplotlib") is None:  # before any long work
        raise RunError("errors.png needs matplotlib: pip install 'jrelu[plot]', or pass --no-plot")
    if cfg["dtype"] == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.dtype(cfg["dtype"])
    out = os.path.join("runs", cfg["name"]) if out is None else os.fspath(out)
    os.makedirs(out, exist_ok=True)
    if fresh:
        for f in ("checkpoint.npz", "sweep_checkpoint.json"):
            if os.path.exists(os.path.join(out, f)):
                os.remove(os.path.join(out, f))
    problem = build_problem(cfg)
    key = jax.random.key(cfg["seed"])
    pdesc = _describe_problem(problem)
    _say(verbose, f"jrelu run {cfg['name']}: {pdesc['description']}, solver {cfg['solver']}, "
                  f"output {out}")
    report = {"report_version": 1, "name": cfg["name"], "config": cfg, "versions": _versions(),
              "problem": pdesc, "solver": cfg["solver"]}
    losses = None
    if cfg["solver"] == "learning":
        net, losses, info = _train_learning(cfg, problem, key, out, fresh, verbose)
        report["training"] = {**info, "loss_curve": _loss_curve(losses)}
    elif cfg["solver"] == "constructive":
        net, info = _constructive(cfg, problem, key, verbose)
        report["constructive"] = info
    else:
        net, info = _global(cfg, problem, verbose)
        report["global"] = info
    from .network import connectivity, depth, num_params

    report["network"] = {"widths": list(net.widths), "depth": depth(net),
                         "num_params": num_params(net), "connectivity": connectivity(net),
                         "dtype": str(net.dtype)}
    xs = problem.sample_box(jax.random.fold_in(key, 2), cfg["sweep"]["box_points"], dtype)
    _say(verbose, f"relative L2 errors on {xs.shape[0]} uniform points of the box")
    report["box_errors"] = relative_l2_errors(net, problem, xs,
                                              chunk_size=cfg["sweep"]["chunk_size"])
    sampler, sweep = _sweep(cfg, problem, net, jax.random.fold_in(key, 5), out, verbose)
    report["sweep"] = sweep.to_dict()
    if "global" in report:
        rec = report["global"]["record"]
        k = cfg["sweep"]["kappa"]
        report["global"]["theorem_check"] = {
            "kappa_used": k, "kappa_theorem": rec["kappa"],
            "value_sup": sweep.value.sup, "value_bound": rec["eps"],
            "value_bound_holds": bool(k == rec["kappa"] and sweep.value.sup <= rec["eps"]),
            "grad_sup": sweep.derivative.sup, "grad_bound": rec["C"] * rec["eps"] ** rec["r"],
            "grad_bound_holds": bool(k == rec["kappa"]
                                     and sweep.derivative.sup <= rec["C"] * rec["eps"] ** rec["r"]),
        }
    save_network(os.path.join(out, "network.npz"), net,
                 metadata={"name": cfg["name"], "problem": pdesc["description"]})
    files = ["report.json", "network.npz"]
    if plot:
        pw = _pointwise(problem, net, sampler, jax.random.fold_in(key, 6), cfg["sweep"]["kappa"])
        _plot(os.path.join(out, "errors.png"), report, pw, losses, problem)
        files.append("errors.png")
    report["files"] = files
    report["seconds"] = time.perf_counter() - t_start
    _write_json(os.path.join(out, "report.json"), report)
    _print_table(report, out)
    return report


def _print_table(report, out):
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="jrelu", description="Rigorous derivatives of ReLU "
                                     "networks in JAX.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run an experiment from a TOML config (default: the "
                         "quickstart, heat equation in d = 10)",
                         description="Run a Kolmogorov-PDE experiment described by a TOML "
                         "config; writes report.json, network.npz and errors.png to the output "
                         "folder and resumes from its checkpoint.")
    run.add_argument("config", nargs="?", default=None,
                     help="the config file (default: the packaged quickstart.toml)")
    run.add_argument("--out", default=None, help="output folder (default: runs/<config name>)")
    run.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config key, e.g. --set training.steps=200 (repeatable)")
    run.add_argument("--fresh", action="store_true",
                     help="ignore and replace an existing checkpoint in the output folder")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.add_argument("--no-plot", action="store_true", help="do not write errors.png")
    sub.add_parser("demo", help="the MATH.md §2 counterexamples and the chain rule at a kink")
    bench = sub.add_parser("bench", help="run benchmark suites")
    bench.add_argument("suites", nargs="*", help="suites to run (default: all)")
    args = parser.parse_args(argv)
    if args.command == "run":
        from .config import ConfigError, load_config

        try:
            cfg = load_config(args.config, args.overrides)
            run_experiment(cfg, args.out, fresh=args.fresh, verbose=not args.quiet,
                           plot=not args.no_plot)
        except (ConfigError, RunError) as e:
            print(f"jrelu run: error: {e}", file=sys.stderr)
            return 2
        return 0
    if args.command == "demo":
        return demo()
    if args.command == "bench":
        from .bench import main as bench_main

        return bench_main(args.suites)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
