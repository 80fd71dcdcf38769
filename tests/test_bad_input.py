"""Wrong input to any public function: a TypeError or a ValueError that names the argument.

A hypothesis property test over the public API (``jrelu.__all__`` and the namespaces'
``__all__``): each public function is called with valid arguments except ONE, replaced by a
random invalid value of a kind that the argument can never take (a string, None, a list of
strings, a dict, nested tuples, NaN, -1, 0, True, a huge int, an array of the wrong shape or
dtype, an int as PRNG key, ``jax.nn.relu`` as activation, a string as Network). Only
``TypeError`` or ``ValueError`` may come out, and its message must name the argument: never
an ``AttributeError``, an ``IndexError``, a JAX-internal error, or silence.

The table ``CALLS`` holds, per function, valid arguments and the *kind* of each one; the
table ``BAD`` holds, per kind, the values that are invalid for every argument of that kind.
"""

from __future__ import annotations

import functools
import math
import pathlib
import re
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import jrelu
import jrelu.plot
from jrelu import constructions as C
from jrelu import pde

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from test_api import _public_objects  # noqa: E402

# -- valid arguments ---------------------------------------------------------------------------

NET = jrelu.init(jax.random.key(0), (2, 3, 1))
NET1 = jrelu.init(jax.random.key(1), (1, 3, 1))
X, XS, YS = jnp.array([0.3, -0.2]), jnp.ones((4, 2)), jnp.zeros((4, 1))
KEY = jax.random.key(1)
ACT = jrelu.ReLU()
BOX = (jnp.zeros(2), jnp.ones(2))
HEAT = pde.HeatSquare(dim=2, T=0.5, box=(0.0, 1.0))
OPT = optax.sgd(1e-2)


def _target(x):
    return jnp.sum(x ** 2, axis=-1, keepdims=True)


def _target1(x):
    return x[0] ** 2


def _grad(x):
    return 2 * x[..., None, :]


ENS = jrelu.pde.ensemble_init(KEY, (2, 4, 1), members=2)
AVG = jrelu.pde.AveragingNetwork(jrelu.pde.ensemble_average(ENS, members=2),
                                 *jrelu.pde.path_maps(HEAT, 2, key=KEY), members=2)
LOCAL = C.squared_norm_local(2)
_, RECORD = C.global_network(LOCAL, 0.5, d=2)

# -- invalid values, by kind of argument ---------------------------------------------------------

NOT_ARRAY = ["x", None, ["a", "b"], {"a": 1}, (("a",), ("b", "c")), jax.nn.relu]
NOT_NUMBER = ["1", None, [1.0], {"a": 1}, ((1,), (2,)), True, jax.nn.relu, np.zeros(3)]
BAD = {
    "net": ["net", None, ["a", "b"], {"a": 1}, ((1, 2), (3,)), 3, True, jax.nn.relu,
            np.zeros(3)],
    "act": [jax.nn.relu, "relu", None, 1, jrelu.ReLU, jnp.tanh],
    "key": [0, 42, 2**70, "key", None, np.zeros(3), jax.nn.relu, [1, 2], 2.5],
    "opt_key": [0, 42, "key", np.zeros(3), jax.nn.relu, [1, 2], 2.5],
    # an array whose last axis is N_0 = 2 (a point or a batch)
    "x2": NOT_ARRAY + [np.zeros(7), np.zeros((3, 7)), np.array([True, False]),
                       np.array([1 + 1j, 0])],
    "x1": NOT_ARRAY + [np.zeros(7), np.array([True]), np.array([1j])],
    "xs": NOT_ARRAY + [np.zeros(7), np.zeros((4, 7)), np.zeros((0, 2)),
                       np.array([[np.nan, 0.0]] * 4), np.ones((4, 2), bool)],
    "ys": NOT_ARRAY + [np.zeros((3, 1)), np.zeros((4, 5)), np.array([[np.nan]] * 4)],
    "box": NOT_ARRAY[:-2] + [(np.zeros(3), np.ones(3)), (np.ones(2), np.zeros(2)),
                             (np.array([np.nan, 0]), np.ones(2)), (1, 2, 3)],
    "pos_int": NOT_NUMBER + [0, -1, 2.5, math.nan],
    "opt_pos_int": [v for v in NOT_NUMBER if v is not None] + [0, -1, 2.5, math.nan],
    "nonneg_int": NOT_NUMBER + [-1, 2.5, math.nan],
    "small_int": NOT_NUMBER + [0, -1, 2.5, math.nan, 2**70],
    "pos_real": NOT_NUMBER + [0, -1.0, math.nan, math.inf],
    "nonneg_real": NOT_NUMBER + [-1.0, math.nan, math.inf],
    "real": NOT_NUMBER + [math.nan, math.inf],
    "callable": ["f", None, 3, [1], {"a": 1}],
    "opt_callable": ["f", 3, [1], {"a": 1}],
    "loss": ["nope", None, 3, [1], {"a": 1}],
    "family": ["nope", None, 3, [1], jax.nn.relu],
    "dtype": ["nope", jnp.int32, 3, [1], {"a": 1}, jax.nn.relu],
    "widths": ["ab", None, [2, "a"], [2, 0], [2, -1], [2], 3, [2.5, 1], [True, 1], {"a": 1},
               [2, 2**70]],
    "flag": ["yes", 2, [True], {"a": 1}, None],
    "opt_str": [3, [1], {"a": 1}, True, jax.nn.relu],
    "optimizer": ["adam", None, 3, [1], jax.nn.relu],
    "sampler": ["gauss", None, 3, [1], jax.nn.relu],
    "problem": ["heat", None, 3, [1], NET],
    "growth": ["g", None, 3, (1.0,), (1.0, "a"), (-1.0, 1.0), (math.nan, 1.0)],
    "record": ["r", None, 3, NET],
    "local": ["r", None, 3, NET],
    "path": [None, 3, ["a"], {"a": 1}, jax.nn.relu],
    "groups": ["g", None, 3, [["a"]], [[0, 5]], [[-1]]],
    "norm": ["nope", None, [1], 3.5, -1, jax.nn.relu],
    "alpha": ["ab", None, [2, "a"], [2, -1], 3, [2.5, 1], [True, 1], {"a": 1}, [2, 2**70], []],
    "lip": ["1", None, {"a": 1}, True, jax.nn.relu, np.zeros(3), -1.0, math.nan, math.inf],
    # any shape (elementwise functions)
    "array": NOT_ARRAY + [np.array([True, False]), np.array([1 + 1j, 0])],
    "bound": NOT_ARRAY[:-1] + [True, np.array([True]), np.zeros(3)],
    "ys_any": NOT_ARRAY + [np.zeros((3, 1)), np.array([[np.nan]] * 4)],
    # a Jacobian (N_L, N_0) = (1, 2)
    "jac": NOT_ARRAY + [np.zeros(7), np.zeros((3, 7)), np.array([[True, False]]),
                        np.array([[1j, 0]])],
    "layers": ["net", None, 3, {"a": 1}, [("a", "b")], [1, 2], jax.nn.relu],
    "pbox": ["b", None, 3, (1.0,), (1.0, 0.0), (math.nan, 1.0), ("a", 1.0)],
}


def A(name, value, kind):
    return (name, value, kind)


# -- the table: function -> (positional args, keyword args), each (name, valid value, kind) ------

X1 = jnp.array([0.5])
CALLS = {
    # networks
    "jrelu.init": ([A("key", KEY, "key"), A("widths", (2, 3, 1), "widths")],
                   [A("dtype", None, "dtype")]),
    "jrelu.realize": ([A("net", NET, "net"), A("x", X, "x2")], [A("activation", ACT, "act")]),
    "jrelu.preactivations": ([A("net", NET, "net"), A("x", X, "x2")],
                             [A("activation", ACT, "act")]),
    "jrelu.compose": ([A("outer", NET1, "net"), A("inner", jrelu.init(KEY, (2, 1)), "net")], []),
    "jrelu.sparse_compose": ([A("outer", NET1, "net"), A("inner", jrelu.init(KEY, (2, 1)),
                                                         "net")], []),
    "jrelu.parallel": ([A("nets", NET, "net"), A("nets", NET, "net")], []),
    "jrelu.parallel_full": ([A("nets", NET, "net"), A("nets", NET, "net")], []),
    "jrelu.identity": ([A("d", 2, "small_int"), A("depth", 2, "small_int")],
                       [A("dtype", None, "dtype")]),
    "jrelu.linear_combination": ([A("coeffs", jnp.ones(2), "x2"), A("nets", [NET, NET], "net")],
                                 []),
    "jrelu.flatten": ([A("net", NET, "net")], []),
    "jrelu.unflatten": ([A("theta", jnp.zeros(13), "x1"), A("widths", (2, 3, 1), "widths")], []),
    "jrelu.depth": ([A("net", NET, "net")], []),
    "jrelu.width": ([A("net", NET, "net")], []),
    "jrelu.num_params": ([A("net", NET, "net")], []),
    "jrelu.connectivity": ([A("net", NET, "net")], []),
    # derivatives
    "jrelu.derivative": ([A("net", NET, "net"), A("x", X, "x2")], [A("activation", ACT, "act")]),
    "jrelu.value_and_derivative": ([A("net", NET, "net"), A("x", X, "x2")],
                                   [A("activation", ACT, "act")]),
    "jrelu.directional_derivative": ([A("net", NET, "net"), A("x", X, "x2"), A("v", X, "x2")],
                                     [A("activation", ACT, "act")]),
    "jrelu.lexicographic_jacobian": ([A("net", NET, "net"), A("x", X, "x2")],
                                     [A("activation", ACT, "act")]),
    "jrelu.lexicographic_pattern": ([A("net", NET, "net"), A("x", X, "x2")],
                                    [A("activation", ACT, "act")]),
    "jrelu.limiting_jacobians": ([A("net", NET, "net"), A("x", X, "x2")],
                                 [A("key", KEY, "key"), A("num_bases", 4, "small_int"),
                                  A("activation", ACT, "act")]),
    "jrelu.kink_report": ([A("net", NET, "net"), A("x", X, "x2")],
                          [A("tol", 0.0, "nonneg_real"), A("activation", ACT, "act")]),
    # gradients and training
    "jrelu.empirical_risk": ([A("net", NET, "net"), A("xs", XS, "xs"), A("ys", YS, "ys")],
                             [A("loss", "mse", "loss"), A("activation", ACT, "act")]),
    "jrelu.generalized_gradient": ([A("net", NET, "net"), A("xs", XS, "xs"), A("ys", YS, "ys")],
                                   [A("loss", "mse", "loss"), A("activation", ACT, "act")]),
    "jrelu.smoothed_gradient": ([A("net", NET, "net"), A("xs", XS, "xs"), A("ys", YS, "ys")],
                                [A("r", 0.1, "pos_real"), A("family", "c1_blend", "family"),
                                 A("loss", "mse", "loss")]),
    "jrelu.convergence_study": ([A("net", NET, "net"), A("xs", XS, "xs"), A("ys", YS, "ys")],
                                [A("family", "c1_blend", "family"), A("loss", "mse", "loss"),
                                 A("rs", jnp.array([0.01, 0.1]), "x2?"),
                                 A("tol", 1e-6, "nonneg_real")]),
    "jrelu.limiting_subgradient_certificate": (
        [A("net", NET, "net"), A("xs", XS, "xs"), A("ys", YS, "ys")],
        [A("loss", "mse", "loss"), A("num", 2, "small_int")]),
    "jrelu.differentiability_report": ([A("net", NET, "net"), A("xs", XS, "xs")],
                                       [A("ys", YS, "ys_any?"), A("activation", ACT, "act")]),
    "jrelu.train": ([A("net", NET, "net"), A("data", (XS, YS), "xs")],
                    [A("optimizer", OPT, "optimizer"), A("steps", 2, "pos_int"),
                     A("batch_size", 2, "small_int"), A("key", KEY, "key"),
                     A("loss", "mse", "loss"), A("activation", ACT, "act"),
                     A("count_kinks", True, "flag"), A("start_step", 0, "nonneg_int")]),
    # sweeps
    "jrelu.error_sweep": ([A("net", NET, "net"), A("target", _target, "callable"),
                           A("sampler", jrelu.samplers.Gaussian(2), "sampler")],
                          [A("num_points", 16, "pos_int"), A("key", KEY, "key"),
                           A("kappa", 0.0, "nonneg_real"), A("chunk_size", 8, "opt_pos_int"),
                           A("activation", ACT, "act"), A("derivative", False, "flag")]),
    "jrelu.pointwise_errors": ([A("net", NET, "net"), A("target", _target, "callable"),
                                A("x", XS, "x2")],
                               [A("kappa", 0.0, "nonneg_real"), A("activation", ACT, "act"),
                                A("derivative", False, "flag")]),
    # certified bounds
    "jrelu.realize_bounds": ([A("net", NET, "net"), A("box", BOX, "box")],
                             [A("activation", ACT, "act")]),
    "jrelu.derivative_bounds": ([A("net", NET, "net"), A("box", BOX, "box")],
                                [A("activation", ACT, "act")]),
    "jrelu.lipschitz_bound": ([A("net", NET, "net"), A("box", BOX, "box?")],
                              [A("norm", "inf", "norm"), A("activation", ACT, "act")]),
    "jrelu.certified_sup_error": (
        [A("net", NET1, "net"), A("target", _target1, "callable"),
         A("box", (jnp.zeros(1), jnp.ones(1)), "box")],
        [A("target_lipschitz", 2.0, "lip"), A("tol", 0.5, "pos_real"),
         A("max_boxes", 4, "pos_int"), A("batch_size", 2, "pos_int"),
         A("key", None, "opt_key"), A("samples_per_box", 1, "nonneg_int"),
         A("target_error", 0.0, "nonneg_real"), A("activation", ACT, "act")]),
    # files
    "jrelu.save_network": ([A("path", "PATH/net.npz", "path"), A("net", NET, "net")], []),
    "jrelu.load_network": ([A("path", "PATH/saved.npz", "path")], []),
    "jrelu.io.save_averaging_network": ([A("path", "PATH/avg.npz", "path"),
                                         A("avg", AVG, "net")], []),
    "jrelu.io.load_averaging_network": ([A("path", "PATH/saved_avg.npz", "path")], []),
    "jrelu.save_checkpoint": ([A("path", "PATH/ck.npz", "path"), A("net", NET, "net")],
                              [A("opt_state", OPT.init(NET), "none_ok"),
                               A("step", 3, "nonneg_int"), A("key", KEY, "key")]),
    "jrelu.load_checkpoint": ([A("path", "PATH/saved_ck.npz", "path")],
                              [A("opt_state_template", OPT.init(NET), "none_ok")]),
    "jrelu.io.load_network_metadata": ([A("path", "PATH/saved.npz", "path")], []),
    "jrelu.io.atomic_write": ([A("path", "PATH/a.bin", "path"),
                               A("write", lambda f: f.write(b"1"), "callable")], []),
    # constructions
    "jrelu.constructions.tooth_network": ([], [A("dtype", None, "dtype")]),
    "jrelu.constructions.sawtooth_network": ([A("s", 2, "small_int")], [A("dtype", None, "dtype")]),
    "jrelu.constructions.square_network": ([A("m", 2, "small_int")], [A("dtype", None, "dtype")]),
    "jrelu.constructions.abs_network": ([A("d", 2, "small_int")], [A("dtype", None, "dtype")]),
    "jrelu.constructions.multiplication_network": ([A("b", 1.0, "pos_real"),
                                                    A("m", 2, "small_int")],
                                                   [A("dtype", None, "dtype")]),
    "jrelu.constructions.multiplication_m": ([A("b", 1.0, "pos_real")],
                                             [A("accuracy", 0.1, "pos_real")]),
    "jrelu.constructions.cutoff_network": ([A("d", 2, "small_int"), A("B", 1.0, "pos_real")],
                                           [A("dtype", None, "dtype")]),
    "jrelu.constructions.max_network": ([A("k", 2, "small_int")], [A("dtype", None, "dtype")]),
    "jrelu.constructions.min_network": ([A("k", 2, "small_int")], [A("dtype", None, "dtype")]),
    "jrelu.constructions.maxmin_network": ([A("W", jnp.eye(2), "xs"), A("c", jnp.zeros(2), "x2"),
                                            A("groups", [[0], [1]], "groups")],
                                           [A("dtype", None, "dtype")]),
    "jrelu.constructions.squared_norm_network": ([A("d", 2, "small_int"),
                                                  A("B", 1.0, "pos_real"),
                                                  A("m", 2, "small_int")],
                                                 [A("dtype", None, "dtype")]),
    "jrelu.constructions.product_network": ([A("n", 2, "small_int")],
                                            [A("half_width", 1.0, "pos_real"),
                                             A("accuracy", 0.1, "pos_real"),
                                             A("dtype", None, "dtype")]),
    "jrelu.constructions.monomial_network": ([A("alpha", (1, 1), "alpha")],
                                             [A("half_width", 1.0, "pos_real"),
                                              A("accuracy", 0.1, "pos_real"),
                                              A("dtype", None, "dtype")]),
    "jrelu.constructions.polynomial_network": ([A("coeffs", {(1, 0): 1.0}, "groups"),
                                                A("d", 2, "small_int")],
                                               [A("half_width", 1.0, "pos_real"),
                                                A("accuracy", 0.1, "pos_real"),
                                                A("dtype", None, "dtype")]),
    "jrelu.constructions.squared_norm_local": ([A("d", 2, "small_int")],
                                               [A("dtype", None, "dtype")]),
    "jrelu.constructions.coordinate_product_local": ([A("d", 2, "small_int"),
                                                      A("indices", (0, 1), "groups")],
                                                     [A("dtype", None, "dtype")]),
    "jrelu.constructions.maxmin_local": ([A("W", jnp.eye(2), "xs"), A("c", jnp.zeros(2), "x2"),
                                          A("groups", [[0], [1]], "groups")],
                                         [A("dtype", None, "dtype")]),
    "jrelu.constructions.network_local": ([A("net", NET, "net"), A("target", _target,
                                                                   "callable")],
                                          [A("growth", (1.0, 2.0), "growth"),
                                           A("key", KEY, "key"), A("num_points", 8, "pos_int"),
                                           A("chunk_size", 8, "pos_int")]),
    "jrelu.constructions.global_network": ([A("local", LOCAL, "local"),
                                            A("eps", 0.5, "pos_real")],
                                           [A("d", 2, "small_int?"), A("dtype", None, "dtype")]),
    "jrelu.constructions.global_bound": ([A("record", RECORD, "record"), A("x", X, "x2")], []),
    # pde
    "jrelu.pde.make_problem": ([A("name", "heat_square", "family")], []),
    "jrelu.pde.feynman_kac_data": ([A("problem", HEAT, "problem")], [A("dtype", None, "dtype")]),
    "jrelu.pde.solve_learning": ([A("problem", HEAT, "problem"), A("net", NET, "net")],
                                 [A("optimizer", OPT, "optimizer"), A("steps", 1, "pos_int"),
                                  A("batch_size", 2, "small_int"), A("key", KEY, "key"),
                                  A("activation", ACT, "act")]),
    "jrelu.pde.ensemble_init": ([A("key", KEY, "key"), A("widths", (2, 4, 1), "widths")],
                                [A("members", 2, "small_int"), A("dtype", None, "dtype")]),
    "jrelu.pde.ensemble_members": ([A("net", ENS, "net")], [A("members", 2, "small_int")]),
    "jrelu.pde.ensemble_average": ([A("net", ENS, "net")], [A("members", 2, "small_int")]),
    "jrelu.samplers.sample_block": ([], [A("backend", None, "opt_str")]),
    "jrelu.pde.path_maps": ([A("problem", HEAT, "problem"), A("n", 2, "small_int")],
                            [A("key", KEY, "key"), A("dtype", None, "dtype")]),
    "jrelu.pde.averaging_network": ([A("phi_net", NET, "net"),
                                     A("scales", jnp.ones((2, 2)), "xs"),
                                     A("shifts", jnp.zeros((2, 2)), "xs")], []),
    "jrelu.pde.relative_l2_errors": ([A("net", NET, "net"), A("problem", HEAT, "problem"),
                                      A("x", XS, "x2")],
                                     [A("activation", ACT, "act"), A("chunk_size", 8,
                                                                     "pos_int")]),
    # losses, ops, testing, examples
    "jrelu.losses.resolve": ([A("loss", "mse", "loss")], []),
    "jrelu.losses.from_callable": ([A("fn", lambda p, y: jnp.sum((p - y) ** 2), "callable")],
                                   []),
    "jrelu.ops.abs": ([A("x", X, "array")], []),
    "jrelu.ops.maximum": ([A("a", X, "array"), A("b", X, "array")], []),
    "jrelu.ops.minimum": ([A("a", X, "array"), A("b", X, "array")], []),
    "jrelu.ops.clip": ([A("x", X, "array")], [A("lo", -1.0, "bound?"), A("hi", 1.0, "bound?")]),
    "jrelu.testing.assert_in_clarke_hull": ([A("net", NET, "net"), A("x", X, "x2"),
                                             A("J", jrelu.derivative(NET, X), "jac")],
                                            [A("num_bases", 4, "small_int"),
                                             A("activation", ACT, "act")]),
    "jrelu.testing.hull_distance": ([A("elements", [jnp.eye(2)], "net"),
                                     A("J", jnp.eye(2), "x2")], []),
    "jrelu.examples.slope_network": ([A("a", 1.0, "real"), A("b", 2.0, "real")],
                                     [A("dtype", None, "dtype")]),
    "jrelu.examples.identity_counterexamples": ([], [A("dtype", None, "dtype")]),
    "jrelu.examples.degenerate_deep_example": ([], [A("dtype", None, "dtype")]),
    # interop (the converters need the frameworks, which the test environment has)
    "jrelu.interop.to_equinox": ([A("net", NET, "net")], [A("activation", ACT, "act")]),
    "jrelu.interop.to_flax": ([A("net", NET, "net")], []),
    "jrelu.interop.to_nnx": ([A("net", NET, "net")], [A("activation", ACT, "act")]),
    "jrelu.interop.to_torch": ([A("net", NET, "net")], [A("activation", ACT, "act")]),
    "jrelu.interop.from_equinox": ([A("mlp", "EQX", "net")], [A("activation", ACT, "act")]),
    "jrelu.interop.from_flax": ([A("params", jrelu.interop.to_flax(NET), "net")], []),
    "jrelu.interop.from_nnx": ([A("model", "NNX", "net")], [A("activation", ACT, "act")]),
    "jrelu.interop.from_torch": ([A("model", "TORCH", "net")], [A("activation", ACT, "act")]),
    # plots (matplotlib)
    "jrelu.plot.global_error_profile": (
        [A("net", jrelu.constructions.global_network(LOCAL, 0.5, d=2)[0], "net"),
         A("record", RECORD, "record"), A("target", _target, "callable")],
        [A("key", KEY, "key"), A("num_points", 16, "pos_int"), A("r_min", 0.01, "pos_real"),
         A("r_max", 10.0, "pos_real"), A("chunk_size", 8, "pos_int"),
         A("activation", ACT, "act")]),
}

# Constructors and methods: label -> the callable (the labels are not module paths).
GAUSS = jrelu.samplers.Gaussian(2)
FUNCS = {
    "Sampler.__call__": GAUSS.__call__,
    "Problem.terminal": HEAT.terminal,
    "Problem.sample_box": HEAT.sample_box,
    "Activation.value": ACT.value,
}
CALLS.update({
    "jrelu.Network": ([A("layers", NET.layers, "layers")], []),
    "jrelu.ReLU": ([], [A("deriv_at_kink", 0.0, "real")]),
    "jrelu.LeakyReLU": ([], [A("negative_slope", 0.1, "real"),
                             A("deriv_at_kink", None, "real?")]),
    "jrelu.Smoothing": ([A("family", "c1_blend", "family"), A("r", 1.0, "pos_real")], []),
    "jrelu.samplers.Gaussian": ([A("dim", 2, "small_int")], [A("mean", 0.0, "real"),
                                                             A("std", 1.0, "pos_real")]),
    "jrelu.samplers.UniformBox": ([A("dim", 2, "small_int")], [A("low", 0.0, "real"),
                                                               A("high", 1.0, "real")]),
    "jrelu.samplers.RadialShells": ([A("dim", 2, "small_int")],
                                    [A("r_max", 10.0, "pos_real"),
                                     A("num_shells", 2, "small_int"),
                                     A("r_min", 0.1, "pos_real")]),
    "jrelu.pde.HeatSquare": ([], [A("dim", 2, "small_int"), A("T", 0.5, "pos_real"),
                                  A("box", (0.0, 1.0), "pbox")]),
    "jrelu.pde.BlackScholesGeometric": ([], [A("dim", 2, "small_int"),
                                             A("rate", 0.05, "real"),
                                             A("volatility", 0.2, "pos_real"),
                                             A("strike", 100.0, "pos_real")]),
    "Sampler.__call__": ([A("key", KEY, "key"), A("n", 4, "nonneg_int")],
                         [A("dtype", None, "dtype")]),
    "Problem.terminal": ([A("x", X, "x2")], [A("key", KEY, "key")]),
    "Problem.sample_box": ([A("key", KEY, "key"), A("n", 4, "small_int")],
                           [A("dtype", None, "dtype")]),
    "Activation.value": ([A("z", X, "array")], []),
})

# kinds whose "bad" values are only type errors (None and the like are valid here)
BAD["none_ok"] = []

# Public callables that take no user argument worth fuzzing, or that are not functions.
NOT_FUZZED = {
    "jrelu.plot.figure",  # forwards **kwargs to matplotlib
}

# (function, argument, value) drawn from a generic "bad" list that is in fact valid for that
# function. Nothing else is exempt: every other invalid call must raise a clear error.
VALID_HERE: dict[tuple[str, str, str], str] = {
    # not an error: num_bases=0 is documented to use only the bases I and -I
    ('jrelu.limiting_jacobians', 'num_bases', '0'): "valid input",
}


def _resolve_placeholders(value, tmp):
    if isinstance(value, str) and value.startswith("PATH/"):
        return str(tmp / value[5:])
    if isinstance(value, str) and value in ("EQX", "NNX", "TORCH"):
        return _converted(value)
    return value


@functools.cache
def _converted(framework):
    conv = {"EQX": jrelu.interop.to_equinox, "NNX": jrelu.interop.to_nnx,
            "TORCH": jrelu.interop.to_torch}[framework]
    return conv(NET)


def _function(qual):
    if qual in FUNCS:
        return FUNCS[qual]
    mod, _, name = qual.rpartition(".")
    obj = jrelu if mod == "jrelu" else __import__(mod, fromlist=["_"])
    return getattr(obj, name)


def _bad_values(kind):
    """The invalid values of a kind; ``kind?`` is the same kind with None allowed."""
    if kind.endswith("?"):
        return [v for v in BAD[kind[:-1]] if v is not None]
    return BAD[kind]


def _cases(qual):
    """Every (position or keyword, argument name, bad value) for one function."""
    pos, kws = CALLS[qual]
    out = []
    for i, (name, _, kind) in enumerate(pos):
        out += [(i, name, bad) for bad in _bad_values(kind)]
    for name, _, kind in kws:
        out += [(name, name, bad) for bad in _bad_values(kind)]
    return out


def _call(qual, where, bad, tmp):
    pos, kws = CALLS[qual]
    args = [_resolve_placeholders(v, tmp) for _, v, _ in pos]
    kwargs = {n: _resolve_placeholders(v, tmp) for n, v, _ in kws}
    if isinstance(where, int):
        args[where] = bad
    else:
        kwargs[where] = bad
    fn = _function(qual)
    if qual == "jrelu.parallel" or qual == "jrelu.parallel_full":
        return fn(*args)
    return fn(*args, **kwargs)


def _check(qual, where, name, bad, tmp):
    """The call must raise a TypeError or ValueError naming ``name``; returns a failure
    description or None."""
    try:
        _call(qual, where, bad, tmp)
    except (TypeError, ValueError) as e:
        if not re.search(rf"(^|\W){re.escape(name)}(\W|$)", str(e)):
            return f"{type(e).__name__} not naming {name!r}: {_one_line(e)}"
        if name == "key" and "key must" not in str(e):  # not JAX's own "invalid PRNG key"
            return f"{type(e).__name__} not from jrelu's key check: {_one_line(e)}"
        return None
    except Exception as e:  # noqa: BLE001 - this is what the test is for
        return f"{type(e).__name__}: {_one_line(e)}"
    return "no error"


def _one_line(e) -> str:
    return " ".join(str(e).split())[:160]


def _bad_repr(bad) -> str:
    if isinstance(bad, np.ndarray):
        return f"np.ndarray(shape={bad.shape}, dtype={bad.dtype})"
    r = repr(bad) if not callable(bad) or isinstance(bad, type) else getattr(bad, "__name__", "")
    return r[:60]


_tried = {"n": 0}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bad_input")
    jrelu.save_network(tmp / "saved.npz", NET)
    jrelu.io.save_averaging_network(tmp / "saved_avg.npz", AVG)
    jrelu.save_checkpoint(tmp / "saved_ck.npz", NET, opt_state=OPT.init(NET), step=1, key=KEY)
    return tmp


def test_table_covers_the_public_api():
    """Every public function is in CALLS (or explicitly not fuzzed)."""
    names: dict[int, set[str]] = {}  # one function may be public under two names
    for q, obj in _public_objects():
        if callable(obj) and not isinstance(obj, (type, jrelu.losses.Loss)):
            names.setdefault(id(obj), set()).add(q)
    missing = [sorted(qs) for qs in names.values() if not qs & (set(CALLS) | NOT_FUZZED)]
    assert not missing
    classes = {q for q, obj in _public_objects() if isinstance(obj, type)}
    assert set(CALLS) - set().union(*names.values()) - classes - set(FUNCS) == set()


@pytest.mark.parametrize("qual", sorted(CALLS))
@settings(max_examples=10, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_one_invalid_argument_gives_a_clear_error(qual, data, saved):
    cases = _cases(qual)
    if not cases:
        return
    where, name, bad = data.draw(st.sampled_from(cases), label="case")
    _tried["n"] += 1
    if (qual, name, _bad_repr(bad)) in VALID_HERE:
        return
    failure = _check(qual, where, name, bad, saved)
    assert failure is None, f"{qual}({name}={_bad_repr(bad)}): {failure}"


def test_report_number_of_inputs_tried():
    # runs after the property tests in file order; the count goes to the test log
    print(f"\ntest_bad_input: {_tried['n']} invalid calls tried")
    assert _tried["n"] == 0 or _tried["n"] >= len(CALLS)

