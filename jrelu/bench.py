"""Benchmark suites: ``jrelu bench [SUITE]`` or ``python -m jrelu.bench [SUITE]``.

Each suite times jrelu against the plain-JAX baseline on the same data, in one run,
and prints the ratios the issues name. Speed is measured here, never asserted in
tests. Every timing is the best of several repeats of a compiled, warmed-up call
(``block_until_ready``), so compile time is excluded.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp

from .activations import relu
from .derivative import derivative
from .network import init, realize

__all__ = ["SUITES", "time_call", "peak_flops", "run"]


def time_call(fn: Callable, *args, repeats: int = 7) -> float:
    """Best wall time in seconds of ``fn(*args)`` over ``repeats`` runs, after a warm-up."""
    jax.block_until_ready(fn(*args))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        best = min(best, time.perf_counter() - t0)
    return best


def peak_flops(sizes=(1024, 2048, 4096), dtype=jnp.float32, repeats: int = 5) -> float:
    """The machine's measured matmul rate (flop/s): the best over n×n by n×n products
    (2n³ flops each) of the listed sizes."""
    best = 0.0
    for n in sizes:
        k1, k2 = jax.random.split(jax.random.key(n))
        a = jax.random.normal(k1, (n, n), dtype)
        b = jax.random.normal(k2, (n, n), dtype)
        best = max(best, 2.0 * n**3 / time_call(jax.jit(jnp.matmul), a, b, repeats=repeats))
    return best


def derivative_flops(widths, batch: int) -> int:
    r"""Exact flop count of :func:`jrelu.derivative` for N_L < N_0 (reverse order).

    Forward to the last hidden layer: :math:`\sum_{k<L}(2N_kN_{k-1}+3N_k)` a point
    (matmul, bias, activation and its derivative); reverse product:
    :math:`\sum_{k<L}(N_LN_k + 2N_LN_kN_{k-1})` (mask scaling and matmul).
    """
    L, nl = len(widths) - 1, widths[-1]
    fwd = sum(2 * widths[k] * widths[k - 1] + 3 * widths[k] for k in range(1, L))
    bwd = sum(nl * widths[k] + 2 * nl * widths[k] * widths[k - 1] for k in range(1, L))
    return batch * (fwd + bwd)


def bench_derivative(batch: int = 8192, widths=(100, 256, 256, 256, 1)) -> dict:
    """``jrelu.derivative`` vs ``vmap(grad(realize))`` and the FLOP roofline, float32."""
    net = init(jax.random.key(0), widths, dtype=jnp.float32)
    x = jax.random.normal(jax.random.key(1), (batch, widths[0]), jnp.float32)
    ours = jax.jit(derivative, static_argnames="activation")
    grad_fn = jax.grad(lambda x_, n_: realize(n_, x_, relu)[0])
    base = jax.jit(jax.vmap(grad_fn, in_axes=(0, None)))
    t_ours = time_call(ours, net, x)
    t_base = time_call(base, x, net)
    peak = peak_flops()
    flops = derivative_flops(widths, batch)
    return {
        "suite": "derivative",
        "widths": list(widths), "batch": batch, "dtype": "float32",
        "jrelu_derivative_s": t_ours,
        "vmap_grad_s": t_base,
        "speedup_vs_vmap_grad": t_base / t_ours,
        "flops": flops,
        "peak_flops_per_s": peak,
        "achieved_flops_per_s": flops / t_ours,
        "roofline_fraction": flops / t_ours / peak,
    }


SUITES: dict[str, Callable[[], dict]] = {
    "derivative": bench_derivative,
}


def _print(result: dict) -> None:
    print(f"== jrelu bench {result['suite']} ==")
    for key, value in result.items():
        if key == "suite":
            continue
        if isinstance(value, float):
            print(f"  {key:32s} {value:.4g}")
        else:
            print(f"  {key:32s} {value}")


def run(suites: list[str] | None = None) -> list[dict]:
    """Run the named suites (all if ``None``), print and return their results."""
    names = list(SUITES) if not suites else suites
    unknown = [s for s in names if s not in SUITES]
    if unknown:
        raise ValueError(f"unknown benchmark suite(s) {unknown}; available: {sorted(SUITES)}")
    results = []
    for name in names:
        result = SUITES[name]()
        _print(result)
        results.append(result)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="jrelu bench", description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="*", help=f"suites to run (default: all of {list(SUITES)})")
    args = parser.parse_args(argv)
    try:
        run(args.suites)
    except ValueError as e:
        print(f"jrelu bench: error: {e}")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
