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
from .network import Network, init, realize

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


def _plain_train_fn(optimizer, steps: int, batch: int):
    """The plain-JAX baseline: ``jax.grad`` of an MLP with ``jax.nn.relu`` + optax, in one
    jitted scan with the same minibatch sampling as :func:`jrelu.train`."""
    import optax

    def risk(params, x, y):
        h = x
        for W, c in params[:-1]:
            h = jax.nn.relu(h @ W.T + c)
        W, c = params[-1]
        return jnp.mean((h @ W.T + c - y) ** 2)

    @jax.jit
    def run(params, state, key, xs, ys):
        def body(carry, i):
            p, s = carry
            idx = jax.random.randint(jax.random.fold_in(key, i), (batch,), 0, xs.shape[0])
            value, g = jax.value_and_grad(risk)(p, xs[idx], ys[idx])
            u, s = optimizer.update(g, s, p)
            return (optax.apply_updates(p, u), s), value

        return jax.lax.scan(body, (params, state), jnp.arange(steps))

    return run


def _kink_study(steps: int = 300, batch: int = 128) -> dict:
    """How often SGD evaluates ReLU'(0) exactly, float32 vs float64 (Berner et al.'s
    question): total kink hits and hit rate per hidden pre-activation over a training run,
    in three data regimes."""
    import optax

    from .train import train

    out = {}
    widths = (20, 64, 64, 1)
    for regime in ("gaussian", "quantized_1/256", "sparse_zero_bias"):
        for dtype in ("float32", "float64"):
            with jax.enable_x64(dtype == "float64"):
                kx, ky, kn = jax.random.split(jax.random.key(0), 3)
                xs = jax.random.normal(kx, (2048, widths[0]), jnp.float64 if dtype ==
                                       "float64" else jnp.float32)
                if regime == "quantized_1/256":
                    xs = jnp.round(jax.random.uniform(kx, xs.shape, xs.dtype) * 256) / 256
                net = init(kn, widths, dtype=dtype)
                if regime == "sparse_zero_bias":
                    xs = xs * (jax.random.uniform(ky, xs.shape) < 0.1)  # 90% exact zeros
                    from .network import Network
                    net = Network([(A, jnp.zeros_like(b)) for A, b in net.layers])
                ys = jnp.sum(jnp.sin(xs[:, :3]), axis=1, keepdims=True)
                _, hist = train(net, (xs, ys), optax.sgd(1e-2), steps, batch,
                                jax.random.key(1))
                hits = int(jnp.sum(hist.kinks))
                total = steps * hist.preactivations_per_step
                out[f"kinks_{regime}_{dtype}"] = f"{hits} of {total} ({hits / total:.2e})"
    return out


def bench_train(steps: int = 200, batch: int = 512, widths=(16, 256, 256, 256, 1),
                M: int = 8192) -> dict:
    """A :func:`jrelu.train` step, with and without the per-step kink count, vs a plain
    ``jax.grad`` + optax step on the same network, data and sampling (float32, Adam)."""
    import optax

    from .train import train

    net = init(jax.random.key(0), widths, dtype=jnp.float32)
    kx, key = jax.random.split(jax.random.key(1))
    xs = jax.random.normal(kx, (M, widths[0]), jnp.float32)
    ys = jnp.sum(jnp.sin(xs[:, :4]), axis=1, keepdims=True)
    opt = optax.adam(1e-3)
    params = [(A, b) for A, b in net.layers]
    plain = _plain_train_fn(opt, steps, batch)
    state = opt.init(params)
    fns = {
        "plain": lambda: plain(params, state, key, xs, ys),
        "no_kink": lambda: train(net, (xs, ys), opt, steps, batch, key,
                                 count_kinks=False)[1].loss,
        "kink": lambda: train(net, (xs, ys), opt, steps, batch, key)[1].loss,
    }
    # interleaved rounds, best of each: fair under a fluctuating machine load
    best = {name: float("inf") for name in fns}
    for _ in range(5):
        for name, fn in fns.items():
            best[name] = min(best[name], time_call(fn, repeats=2))
    t_plain, t_nokink, t_kink = (best[n] / steps for n in ("plain", "no_kink", "kink"))
    result = {
        "suite": "train",
        "widths": list(widths), "batch": batch, "steps": steps, "data": M, "dtype": "float32",
        "plain_step_s": t_plain,
        "jrelu_step_no_kink_count_s": t_nokink,
        "jrelu_step_with_kink_count_s": t_kink,
        "ratio_no_kink_count": t_nokink / t_plain,
        "ratio_with_kink_count": t_kink / t_plain,
        "target_no_kink_count": "<= 1.05",
        "target_with_kink_count": "<= 1.25",
    }
    result.update(_kink_study())
    return result


def bench_sweep(num_points: int = 2**18, chunk_size: int = 8192,
                widths=(100, 256, 256, 256, 1), repeats: int = 3) -> dict:
    r"""``jrelu.error_sweep`` (values and gradients, float32) vs bare ``jrelu.derivative``.

    Target :math:`f(x)=\|x\|^2+2Td` (T = 1, the heat equation's solution at the origin
    time), :math:`\nabla f=2x`, Gaussian points. The sweep's rate includes sampling, the
    target, the error norms and all host-side statistics; the baseline is
    ``jit(derivative)`` on a pre-drawn chunk of the same points.
    """
    from .errors import Gaussian, error_sweep

    d, T = widths[0], 1.0
    net = init(jax.random.key(0), widths, dtype=jnp.float32)
    sampler = Gaussian(d)
    key = jax.random.key(1)

    def target(x):
        return jnp.sum(x * x) + 2.0 * T * d

    def target_grad(x):
        return 2.0 * x

    def sweep(n):
        return error_sweep(net, target, sampler, n, key, kappa=2.0, chunk_size=chunk_size,
                           target_grad=target_grad, progress=False)

    sweep(chunk_size)  # compile (the chunk function is cached across calls)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        report = sweep(num_points)
        best = min(best, time.perf_counter() - t0)
    x = sampler(key, chunk_size, jnp.float32)
    t_der = time_call(jax.jit(derivative, static_argnames="activation"), net, x)
    sweep_pps, der_pps = num_points / best, chunk_size / t_der
    peak = peak_flops()
    flops_pp = derivative_flops(widths, 1) + 2 * widths[-2] * widths[-1]  # + value layer
    return {
        "suite": "sweep",
        "widths": list(widths), "num_points": num_points, "chunk_size": chunk_size,
        "dtype": "float32", "target": "||x||^2 + 2Td, grad 2x", "sampler": "Gaussian",
        "sweep_s": best,
        "sweep_points_per_s": sweep_pps,
        "derivative_points_per_s": der_pps,
        "ratio_to_derivative": sweep_pps / der_pps,
        "target_ratio": ">= 0.7",
        "flops_per_point": flops_pp,
        "peak_flops_per_s": peak,
        "roofline_fraction": flops_pp * sweep_pps / peak,
        "derivative_roofline_fraction": derivative_flops(widths, 1) * der_pps / peak,
        "sup_value_error": report.sup_value_error,
        "sup_derivative_error": report.sup_derivative_error,
    }


def _time_interleaved(calls, repeats: int = 25) -> list[float]:
    """Best wall times of several ``(fn, args)`` calls, measured in alternation."""
    for fn, args in calls:
        jax.block_until_ready(fn(*args))
    best = [float("inf")] * len(calls)
    for _ in range(repeats):
        for i, (fn, args) in enumerate(calls):
            t0 = time.perf_counter()
            jax.block_until_ready(fn(*args))
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


def bench_kinks(batch: int = 4096, lex_batch: int = 256,
                widths=(100, 256, 256, 256, 1)) -> dict:
    """``kink_report`` vs one forward pass (target ≤ 1.2×) on a training-sized batch, and
    ``lexicographic_jacobian`` vs N_0 + 1 forward passes (and vs ``derivative``), float32."""
    from .derivative import kink_report, lexicographic_jacobian

    net = init(jax.random.key(0), widths, dtype=jnp.float32)
    x = jax.random.normal(jax.random.key(1), (batch, widths[0]), jnp.float32)
    forward = jax.jit(realize, static_argnames="activation")
    report = jax.jit(kink_report, static_argnames="activation")
    # interleaved best-of-N, so that load from other processes hits both alike
    t_fwd, t_rep = _time_interleaved([(forward, (net, x)), (report, (net, x))], repeats=25)
    xl = x[:lex_batch]
    # the same batch with one point on a kink: x = 0 and b_1 = 0 for neuron 1 of layer 1
    # (forces the tangent-carrying pass; without any kink the lexicographic Jacobian is D^N)
    A1, b1 = net.layers[0]
    net_k = Network(((A1, b1.at[0].set(0.0)),) + net.layers[1:])
    xk = xl.at[0].set(0.0)
    x_rep = jnp.broadcast_to(xl, (widths[0] + 1,) + xl.shape)  # N_0 + 1 forward passes
    lex = jax.jit(lexicographic_jacobian, static_argnames=("activation", "return_pattern"))
    der = jax.jit(derivative, static_argnames="activation")
    kinked = int(jnp.sum(report(net_k, xk).point_counts > 0))
    t_lex = time_call(lex, net_k, xk)
    t_lex_generic = time_call(lex, net, xl)
    t_fwd_n = time_call(forward, net, x_rep)
    t_der = time_call(der, net, xl)
    return {
        "suite": "kinks",
        "widths": list(widths), "dtype": "float32",
        "batch": batch,
        "forward_s": t_fwd,
        "kink_report_s": t_rep,
        "kink_report_over_forward": t_rep / t_fwd,
        "lex_batch": lex_batch,
        "lex_batch_points_at_kink": kinked,
        "lexicographic_jacobian_s": t_lex,
        "n0_plus_1_forward_passes_s": t_fwd_n,
        "lex_over_n0_plus_1_forwards": t_lex / t_fwd_n,
        "lex_no_kink_batch_s": t_lex_generic,
        "derivative_s": t_der,
        "lex_no_kink_over_derivative": t_lex_generic / t_der,
    }


SUITES: dict[str, Callable[[], dict]] = {
    "derivative": bench_derivative,
    "kinks": bench_kinks,
    "sweep": bench_sweep,
    "train": bench_train,
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
