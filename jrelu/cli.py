"""The ``jrelu`` command (also ``python -m jrelu``): argparse, the commands and exit codes.

Subcommands:
  ``jrelu run [CONFIG.toml] [--out DIR] [--set KEY=VALUE ...] [--fresh] [--check]``
                           an experiment described by a TOML config (see :mod:`jrelu.config`,
                           run by :mod:`jrelu.experiment`): a Kolmogorov PDE
                           (:mod:`jrelu.pde`) solved by a ReLU network, with relative L2
                           errors of u and ∇u on the box and a global weighted error sweep
                           (:func:`jrelu.error_sweep`). Writes DIR/report.json,
                           DIR/network.npz, DIR/errors.png; resumes from DIR/checkpoint.npz.
                           Without CONFIG: the packaged quickstart (heat equation, d = 10).
                           ``--check`` validates and prints the plan, without running.
  ``jrelu demo``           why D^N depends on the value Dϱ(0) chosen at the kink, and the
                           chain rule at a kink.
  ``jrelu bench [--smoke] [SUITE]``  the benchmark suites (see :mod:`jrelu.bench`);
                           ``--smoke`` at tiny sizes.

Exit codes: 0 success, 2 a user error (invalid config or ``--set``, a run name that is a
path, an output folder that cannot be written, a checkpoint that cannot be resumed): one
line on stderr, no traceback.

Compilation cache: every command keeps JAX's persistent compilation cache in
``$XDG_CACHE_HOME/jrelu/jax`` (default ``~/.cache/jrelu/jax``), so a second run skips most
of the XLA compilation. ``JAX_COMPILATION_CACHE_DIR`` chooses another folder;
``--no-compile-cache`` or ``JRELU_COMPILE_CACHE=0`` turns it off. A folder that cannot be
written turns it off silently: the run never fails because of the cache. The cache stores
the compiled programs, so it changes no number.
"""

from __future__ import annotations

import argparse
import sys


def demo() -> int:
    """Print the kink-value counterexamples and a chain-rule check at a kink, in float64.

    D^N of ``2ϱ(x) − 3ϱ(−x)``, ``ϱ(x) − ϱ(−x)`` and ``ϱ(ϱ(x)) − ϱ(ϱ(−x))`` at 0 for the
    choices c = Dϱ(0) ∈ {0, 0.5, 1}: c(a+b), 2c and 2c², so no choice of c makes both
    identity networks give 1 (Berner, Elbrächter, Grohs, Jentzen (2019), arXiv:1905.04992).
    """
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
        act = ReLU(deriv_at_kink=c)
        vals = [float(derivative(n, x0, activation=act)[0, 0]) for n in (slope, id2, id3)]
        print(f"  {c:5.2f} | {vals[0]:28.4g} | {vals[1]:12.4g} | {vals[2]:18.4g}")
    print("  expected: c(a+b) = 5c, 2c, 2c² — no c makes both identity networks give 1.\n")

    inner = Network([(jnp.array([[1.0, -1.0], [0.5, 0.5]]), jnp.array([0.0, -1.0])),
                     (jnp.array([[1.0, 2.0]]), jnp.array([0.0]))])
    outer = slope_network(2.0, 3.0)
    x = jnp.array([1.0, 1.0])  # every hidden pre-activation of inner is exactly 0 here
    for c in (0.0, 0.5, 1.0):
        act = ReLU(deriv_at_kink=c)
        lhs = derivative(compose(outer, inner), x, activation=act)
        rhs = derivative(outer, realize(inner, x, activation=act), activation=act) \
            @ derivative(inner, x, activation=act)
        jac = jax.jacrev(lambda y, a=act: realize(compose(outer, inner), y, activation=a))(x)
        print(f"chain rule at a kink, c={c}: D^N(Ψ∘Φ)(x) = {lhs.ravel().tolist()}, "
              f"D^NΨ(RΦ(x))·D^NΦ(x) = {rhs.ravel().tolist()}, jacrev = {jac.ravel().tolist()}, "
              f"equal: {bool(jnp.array_equal(lhs, rhs) and jnp.array_equal(lhs, jac))}")
    return 0


_CACHE_OFF = ("0", "off", "false", "no")
_CACHE_HELP = ("do not use JAX's persistent compilation cache (also: JRELU_COMPILE_CACHE=0). "
               "By default compiled programs are kept in $XDG_CACHE_HOME/jrelu/jax "
               "(~/.cache/jrelu/jax) or in $JAX_COMPILATION_CACHE_DIR, so that a second run "
               "skips most of the compilation; an unwritable folder just turns it off")


def default_compile_cache_dir() -> str:
    """The folder of the CLI's persistent compilation cache when none is configured.

    Returns:
      ``$XDG_CACHE_HOME/jrelu/jax``, or ``~/.cache/jrelu/jax`` without ``XDG_CACHE_HOME``.

    Example:
      >>> import os
      >>> default_compile_cache_dir().endswith(os.path.join("jrelu", "jax"))
      True
    """
    import os

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "jrelu", "jax")


def enable_compile_cache(*, disable: bool = False) -> str | None:
    """Turn on JAX's persistent compilation cache for this process; returns its folder, or
    None when it is off.

    Off with ``disable=True`` or the environment variable ``JRELU_COMPILE_CACHE`` set to
    ``0``/``off``/``false``/``no``. The folder is ``JAX_COMPILATION_CACHE_DIR`` (or
    ``jax_compilation_cache_dir`` already set) if given, else
    :func:`default_compile_cache_dir`. Compilations that take at least
    ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`` seconds are stored (default here 0:
    every one; the many small programs of a short run are what a second run saves). A
    folder that cannot be created or written leaves the cache off: this never raises.
    Turning it off sets ``jax_enable_compilation_cache`` to False for this process.

    Args:
      disable: (keyword-only) turn the cache off.

    Returns:
      the cache folder, or None.

    Example (changes the process's JAX configuration, so not run here)::

        from jrelu.cli import enable_compile_cache
        enable_compile_cache()   # '/home/me/.cache/jrelu/jax'
    """
    import os

    import jax

    if disable or os.environ.get("JRELU_COMPILE_CACHE", "").strip().lower() in _CACHE_OFF:
        jax.config.update("jax_enable_compilation_cache", False)  # even if JAX's env names one
        return None
    path = jax.config.jax_compilation_cache_dir or default_compile_cache_dir()
    try:
        os.makedirs(path, exist_ok=True)
        if not os.access(path, os.W_OK | os.X_OK):
            raise PermissionError(path)
    except OSError:
        jax.config.update("jax_enable_compilation_cache", False)
        return None
    jax.config.update("jax_compilation_cache_dir", path)
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jrelu", description="Rigorous derivatives of ReLU networks in JAX.",
        epilog="Compiled programs are cached in $XDG_CACHE_HOME/jrelu/jax (~/.cache/jrelu/jax) "
               "or $JAX_COMPILATION_CACHE_DIR; --no-compile-cache or JRELU_COMPILE_CACHE=0 "
               "turns the cache off.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--no-compile-cache", action="store_true", help=_CACHE_HELP)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", parents=[common],
                         help="run an experiment from a TOML config (default: the "
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
    run.add_argument("--check", action="store_true",
                     help="validate the config and the output folder, print the plan and "
                          "stop (nothing is trained or written)")
    sub.add_parser("demo", parents=[common], help="how D^N depends on the kink value Dϱ(0), and "
                   "the chain rule at a kink")
    bench = sub.add_parser("bench", parents=[common], help="run benchmark suites")
    bench.add_argument("suites", nargs="*", help="suites to run (default: all)")
    bench.add_argument("--smoke", action="store_true",
                       help="tiny sizes: check that every suite runs (the numbers mean nothing)")
    return parser


def plan(cfg, out) -> str:
    """What ``jrelu run`` would do with a validated config: a few lines (``--check``)."""
    import os

    from .experiment import describe_problem

    lines = [f"config {cfg.name}: valid",
             f"problem: {describe_problem(cfg.problem.build())['description']}",
             f"solver: {cfg.solver}, {cfg.dtype}, seed {cfg.seed}"]
    if cfg.solver == "learning":
        t, o = cfg.training, cfg.optimizer
        lines.append(f"network: hidden widths {list(cfg.network.hidden)}; training: {t.steps} "
                     f"steps × batch {t.batch_size}, {o.name} lr {o.learning_rate:g} "
                     f"({o.schedule}), checkpoint every {t.checkpoint_every} steps")
    else:
        c = cfg.constructive
        lines.append(f"constructive: paths {c.paths}, study {list(c.paths_study)}, "
                     f"square_depth {c.square_depth}, epsilon {c.epsilon:g}")
    s = cfg.sweep
    lines.append(f"sweep: {s.points} points, {s.sampler}, κ = {s.kappa:g}; box errors on "
                 f"{s.box_points} points")
    ckpt = os.path.join(out, "checkpoint.npz")
    resume = " (resumes from its checkpoint.npz)" if os.path.exists(ckpt) else ""
    lines.append(f"output: {out}{resume}")
    return "\n".join(lines)


def _run(args) -> int:
    from .config import ConfigError, load_config
    from .experiment import RunError, output_folder, run_experiment

    try:
        cfg = load_config(args.config, args.overrides)
        if args.check:
            print(plan(cfg, output_folder(cfg, args.out)))
            return 0
        run_experiment(cfg, args.out, fresh=args.fresh, verbose=not args.quiet,
                       plot=not args.no_plot)
    except (ConfigError, RunError) as e:
        print(f"jrelu run: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 2
    return 0


def main(argv=None) -> int:
    """The ``jrelu`` command; returns the exit code (0 success, 2 invalid input)."""
    args = _parser().parse_args(argv)
    enable_compile_cache(disable=args.no_compile_cache)
    if args.command == "run":
        return _run(args)
    if args.command == "demo":
        return demo()
    from .bench import main as bench_main

    return bench_main((["--smoke"] if args.smoke else []) + list(args.suites))


if __name__ == "__main__":
    sys.exit(main())
