"""The ``jrelu`` command (also ``python -m jrelu``).

Subcommands:
  ``jrelu demo``           the counterexamples of MATH.md §2 and the chain rule at a kink.
  ``jrelu bench [SUITE]``  the benchmark suites (see :mod:`jrelu.bench`).
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="jrelu", description="Rigorous derivatives of ReLU "
                                     "networks in JAX.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="the MATH.md §2 counterexamples and the chain rule at a kink")
    bench = sub.add_parser("bench", help="run benchmark suites")
    bench.add_argument("suites", nargs="*", help="suites to run (default: all)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        return demo()
    if args.command == "bench":
        from .bench import main as bench_main

        return bench_main(args.suites)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
