r"""Experiment configs for ``jrelu run``: TOML files read into typed, frozen dataclasses.

A config is a TOML file with top-level keys and sections. Each section is a frozen
dataclass (:class:`ProblemConfig`, :class:`NetworkConfig`, :class:`OptimizerConfig`,
:class:`TrainingConfig`, :class:`ConstructiveConfig`, :class:`SweepConfig`) and the whole
file is a :class:`RunConfig`. The fields *are* the schema: their types, defaults and
metadata (``minimum``, ``above``, ``below``, ``choices``, ``doc``) drive the one validator,
:func:`parse_config`, which checks every key (unknown keys, wrong types, impossible
values) *before* any work starts and fills in every default. Every problem is reported as
one :class:`ConfigError` line naming the file (or ``--set``) and the key, e.g.
``quickstart.toml: problem.dimension: must be an integer ≥ 1, got -3``.

:func:`describe` prints the schema. Sections:

* top level: ``name`` [file stem], ``seed`` [0], ``dtype`` ["float32"|"float64"],
  ``solver`` ["learning"|"constructive"|"global"];
* ``[problem]``: ``name``\*, ``dimension``\*, ``T``, ``box``, and for Black–Scholes
  ``rate``, ``volatility``, ``correlation``, ``strike`` (see :mod:`jrelu.pde`);
* ``[network]`` (learning): ``hidden``\* — the hidden widths; ``members`` — an ensemble
  of that many networks trained side by side and averaged into one network [1];
* ``[optimizer]`` (learning): ``name``, ``learning_rate``, ``schedule``,
  ``final_learning_rate``, ``warmup_steps``, ``milestones``, ``decay_factor``,
  ``weight_decay``, ``momentum``, ``clip_norm``;
* ``[training]`` (learning): ``steps``\*, ``batch_size``\*, ``checkpoint_every``,
  ``log_every``;
* ``[averaging]`` (learning): ``tau``, ``paths``, ``antithetic``, ``moment_matching``,
  ``enlarge`` — learn
  u(T − τ, ·) on an enlarged box and average it over Feynman–Kac paths of the last τ
  (``tau = 0``: off);
* ``[constructive]`` (constructive / global): ``paths``, ``paths_study``,
  ``square_depth``, ``bound``, ``epsilon``;
* ``[sweep]``: ``sampler``, ``points``, ``kappa``, sampler parameters (``r_min``,
  ``r_max``, ``num_shells``, ``std``, ``low``, ``high``, ``per_axis``), ``box_points``,
  ``chunk_size``;
* ``[global_wrap]`` (optional): ``enabled``, ``epsilon``, ``growth_c``, ``growth_nu``,
  ``num_points`` — the learned network wrapped into the local-to-global network.

(\* = required.) This module is internal to the ``jrelu`` command; it is not part of the
library's public API.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from typing import Any

__all__ = ["ConfigError", "RunConfig", "ProblemConfig", "NetworkConfig", "OptimizerConfig",
           "TrainingConfig", "AveragingConfig", "ConstructiveConfig", "SweepConfig",
           "GlobalWrapConfig", "SECTIONS", "load_config",
           "parse_config", "apply_overrides", "build_problem", "describe",
           "default_config_text", "DEFAULT_CONFIG"]

#: The packaged default config (``jrelu run`` with no file); configs/quickstart.toml links to it.
DEFAULT_CONFIG = "quickstart.toml"

PROBLEM_NAMES = ("heat_square", "heat_cosine", "black_scholes_geometric")
SOLVERS = ("learning", "constructive", "global")
SAMPLERS = ("uniform_box", "gaussian", "radial_shells", "halton", "grid")
_BS_ONLY = ("rate", "volatility", "correlation", "strike")


class ConfigError(ValueError):
    """An invalid config; the message is one line naming the file (or ``--set``) and the key.

    ``key`` is the offending key (``"training.steps"``, ``"network.hidden[1]"``) or None,
    ``detail`` the message without the source and key.
    """

    def __init__(self, message: str, *, key: str | None = None, detail: str | None = None):
        super().__init__(message)
        self.key = key
        self.detail = detail


def _key(default: Any = dataclasses.MISSING, *, minimum: float | None = None,
         above: float | None = None, below: float | None = None,
         choices: tuple | None = None, doc: str = ""):
    """A config field: ``default`` (none: required), inclusive ``minimum``, exclusive
    ``above``/``below`` bounds, ``choices``; the validator reads them from the metadata."""
    meta = {"minimum": minimum, "above": above, "below": below, "choices": choices, "doc": doc}
    if isinstance(default, list):
        default = tuple(default)
    return dataclasses.field(default=default, metadata=meta)


def _section(cls, *, needed_by: tuple[str, ...], doc: str = ""):
    """A section field: the dataclass ``cls``, required by the solvers ``needed_by``."""
    return dataclasses.field(default=None, metadata={"section": cls, "needed_by": needed_by,
                                                     "doc": doc})


def _plain(value):
    """Tuples (and nested tuples) as lists, as TOML and JSON have them."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


class _Section:
    """Mixin: ``to_dict()`` of a section, lists for tuples, in field order."""

    def to_dict(self) -> dict:
        """The section as a JSON-able dict (field order; tuples as lists)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True, kw_only=True)
class ProblemConfig(_Section):
    """``[problem]``: the Kolmogorov PDE (a :mod:`jrelu.pde` problem)."""

    name: str = _key(choices=PROBLEM_NAMES)
    dimension: int = _key(minimum=1, doc="d")
    T: float | None = _key(None, above=0.0, doc="time horizon / maturity")
    box: tuple[float, float] | None = _key(None, doc="[a, b]: ξ uniform on [a, b]^d")
    rate: float | None = _key(None, doc="Black–Scholes r")
    volatility: float | tuple[float, ...] | None = _key(None, above=0.0,
                                                        doc="σ_i, one or d numbers")
    correlation: float | None = _key(None, above=-1.0, below=1.0, doc="pairwise ρ")
    strike: float | None = _key(None, above=0.0, doc="K")

    def to_dict(self) -> dict:
        """The section as a dict; the Black–Scholes keys only for that problem."""
        out = super().to_dict()
        if self.name != "black_scholes_geometric":
            for key in _BS_ONLY:
                out.pop(key)
        return out

    def build(self):
        """The :class:`jrelu.pde.Problem` this section describes."""
        from .pde import make_problem

        params = {"dim": self.dimension, "T": self.T, "box": self.box}
        if self.name == "black_scholes_geometric":
            params.update({k: getattr(self, k) for k in _BS_ONLY})
        return make_problem(self.name, **params)


@dataclasses.dataclass(frozen=True, kw_only=True)
class NetworkConfig(_Section):
    """``[network]`` (learning): the architecture ``(d, *hidden, 1)``."""

    hidden: tuple[int, ...] = _key(minimum=1, doc="hidden widths N_1, ..., N_{L-1}")
    members: int = _key(1, minimum=1, doc="ensemble: M networks of these widths trained "
                                          "side by side, averaged into one network")


@dataclasses.dataclass(frozen=True, kw_only=True)
class OptimizerConfig(_Section):
    """``[optimizer]`` (learning): the optax optimizer and its learning-rate schedule."""

    name: str = _key("adam", choices=("adam", "adamw", "sgd"))
    learning_rate: float = _key(1e-3, above=0.0)
    schedule: str = _key("cosine", choices=("constant", "cosine", "exponential", "piecewise"))
    final_learning_rate: float | None = _key(None, above=0.0,
                                             doc="end of cosine/exponential decay [lr/100]")
    warmup_steps: int = _key(0, minimum=0, doc="linear warm-up from 0")
    milestones: tuple[float, ...] = _key([0.5, 0.75], above=0.0, below=1.0,
                                         doc="piecewise: fractions of the steps where lr is "
                                             "multiplied")
    decay_factor: float = _key(0.1, above=0.0, doc="piecewise: the multiplier")
    weight_decay: float = _key(1e-4, minimum=0.0, doc="adamw")
    momentum: float = _key(0.9, minimum=0.0, below=1.0, doc="sgd (0: plain SGD)")
    clip_norm: float | None = _key(None, above=0.0, doc="clip the global gradient norm")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainingConfig(_Section):
    """``[training]`` (learning): steps, batch size, checkpoints and progress lines."""

    steps: int = _key(minimum=1)
    batch_size: int = _key(minimum=1)
    checkpoint_every: int = _key(1000, minimum=1, doc="steps between checkpoints")
    log_every: int | None = _key(None, minimum=1, doc="steps between progress lines "
                                                      "[steps/20]")
    target_paths: int = _key(1, minimum=1, doc="Feynman–Kac paths per training point, "
                                               "averaged in its target")
    antithetic_targets: bool = _key(False, doc="those paths in pairs (Z, −Z)")
    normalize: bool = _key(False, doc="train in standardized coordinates (inputs and "
                                      "targets), folded into the first and last layer")


@dataclasses.dataclass(frozen=True, kw_only=True)
class AveragingConfig(_Section):
    """``[averaging]`` (learning): the semigroup split u(T,x) = E[u(T−τ, X_τ^x)].

    With ``tau`` > 0 the network learns u(T−τ,·) on the box enlarged by ``enlarge`` on
    each side, and the result is the averaging network over ``paths`` Feynman–Kac paths
    of the last τ (antithetic pairs (Z, −Z) if ``antithetic``), written in its structured
    form (:class:`jrelu.pde.AveragingNetwork`). ``tau = 0`` (default): off.
    """

    tau: float = _key(0.0, minimum=0.0, doc="τ: learn u(T−τ,·), average over the last τ "
                                            "(0: off)")
    paths: int = _key(128, minimum=1, doc="n, Feynman–Kac paths of the last τ")
    antithetic: bool = _key(True, doc="paths in pairs (Z, −Z)")
    moment_matching: bool = _key(False, doc="whiten the draws: exact first and second "
                                            "moments (paths > d; ≥ 2d if antithetic)")
    enlarge: float = _key(0.0, minimum=0.0, doc="train on [a − enlarge, b + enlarge]^d")
    inputs: str = _key("box", choices=("box", "paths"),
                       doc="training inputs: ξ on the box, or the ends X_τ^ξ of paths of the "
                           "first τ (where the averaging network evaluates the network)")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ConstructiveConfig(_Section):
    """``[constructive]`` (constructive / global solvers): networks built, not trained."""

    paths: int = _key(64, minimum=1, doc="n, Feynman–Kac paths of the averaging network")
    paths_study: tuple[int, ...] = _key([1, 4, 16, 64], minimum=1,
                                        doc="n values of the error-vs-n study")
    square_depth: int = _key(8, minimum=1, doc="m of the squaring network")
    bound: float | None = _key(None, above=0.0,
                               doc="the squaring network is accurate on [-bound, bound] per "
                                   "coordinate")
    epsilon: float = _key(0.1, above=0.0, doc="global: target accuracy ε")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepConfig(_Section):
    """``[sweep]``: the weighted error sweep and the relative errors on the box."""

    sampler: str = _key("radial_shells", choices=SAMPLERS)
    points: int = _key(4096, minimum=1, doc="points of the weighted sweep")
    kappa: float = _key(0.0, minimum=0.0, doc="weight exponent κ: errors/(1+‖x‖^κ)")
    r_min: float = _key(0.01, above=0.0, doc="radial_shells: smallest radius")
    r_max: float = _key(100.0, above=0.0, doc="radial_shells: largest radius")
    num_shells: int = _key(16, minimum=1, doc="radial_shells: number of shells")
    std: float = _key(1.0, above=0.0, doc="gaussian: standard deviation")
    low: float | None = _key(None, doc="uniform_box/halton/grid: lower corner [box[0]]")
    high: float | None = _key(None, doc="uniform_box/halton/grid: upper corner [box[1]]")
    per_axis: int = _key(3, minimum=1, doc="grid: points per axis")
    box_points: int = _key(65536, minimum=1,
                           doc="uniform points on the box for the relative L2 errors")
    chunk_size: int = _key(8192, minimum=1)


@dataclasses.dataclass(frozen=True, kw_only=True)
class GlobalWrapConfig(_Section):
    """``[global_wrap]`` (optional): wrap the solved network N with the cut-off and
    multiplication networks of the local-to-global construction, Φ_ε = M ⊙ P(χ_B, N), a
    ReLU network whose error is at most ε(1+‖x‖^κ) everywhere (κ = ν + 1) given N's local
    error, which is *measured* on ``num_points`` uniform points of the cube
    (−B−1, B+1)^d (not a certificate). Growth constants of u by default: heat_square
    c = max(1, 2Td), ν = 2 (|u| = ‖x‖² + 2Td ≤ c(1+‖x‖²), ‖∇u‖ = 2‖x‖ ≤ 1+‖x‖²);
    heat_cosine c = e^{−T}d/2, ν = 0 (|u| ≤ e^{−T}d, ‖∇u‖ ≤ e^{−T}√d); black_scholes_geometric
    has none (u lives on positive prices only)."""

    enabled: bool = _key(False, doc="build Φ_ε and write network_global.npz")
    epsilon: float | None = _key(None, above=0.0, doc="ε [the smallest the measured local "
                                                       "error allows]")
    growth_c: float | None = _key(None, above=0.0, doc="c in |u|, ‖∇u‖ ≤ c(1+‖x‖^ν) [from "
                                                        "the problem]")
    growth_nu: float | None = _key(None, minimum=0.0, doc="ν [from the problem]")
    num_points: int = _key(2048, minimum=1, doc="uniform points of (−B−1, B+1)^d on which "
                                                "the local error is measured")


_ALL = SOLVERS
_LEARNING = ("learning",)
_BUILT = ("constructive", "global")


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """A whole ``jrelu run`` config: the top-level keys and one field per section.

    Sections a solver does not use are ``None`` unless the file has them. Build one with
    :func:`load_config` or :func:`parse_config` (which validate); :meth:`to_dict` is the
    ``config`` echoed in ``report.json``.
    """

    name: str | None = _key(None, doc="run name (default: the file stem)")
    seed: int = _key(0, minimum=0, doc="PRNG seed of the whole run")
    dtype: str = _key("float32", choices=("float32", "float64"))
    solver: str = _key("learning", choices=SOLVERS)
    problem: ProblemConfig | None = _section(ProblemConfig, needed_by=_ALL)
    network: NetworkConfig | None = _section(NetworkConfig, needed_by=_LEARNING)
    optimizer: OptimizerConfig | None = _section(OptimizerConfig, needed_by=_LEARNING)
    training: TrainingConfig | None = _section(TrainingConfig, needed_by=_LEARNING)
    averaging: AveragingConfig | None = _section(AveragingConfig, needed_by=_LEARNING)
    constructive: ConstructiveConfig | None = _section(ConstructiveConfig, needed_by=_BUILT)
    sweep: SweepConfig | None = _section(SweepConfig, needed_by=_ALL)
    global_wrap: GlobalWrapConfig | None = _section(GlobalWrapConfig, needed_by=())

    def to_dict(self) -> dict:
        """The config as a JSON-able dict: top-level keys, then the sections present."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if "section" in f.metadata:
                if value is not None:
                    out[f.name] = value.to_dict()
            else:
                out[f.name] = _plain(value)
        return out


def _scalar_fields(cls) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if "section" not in f.metadata]


def _section_fields() -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(RunConfig) if "section" in f.metadata]


#: Section name -> its dataclass, in file order.
SECTIONS: dict[str, type] = {f.name: f.metadata["section"] for f in _section_fields()}


# -- the validator ---------------------------------------------------------------------


def _fail(source, key, msg):
    raise ConfigError(f"{source}: {key}: {msg}", key=key, detail=msg)


def _check_name(source, name):
    """The run name names the folder ``runs/<name>``: a plain name, never a path."""
    bad = (not name.strip() or name in (".", "..") or any(c in name for c in "/\\")
           or any(ord(c) < 32 or ord(c) == 127 for c in name) or len(name) > 200)
    if bad:
        _fail(source, "name", f"must be a plain name for the folder runs/<name> (no '/', "
                              f"'\\', control characters, not '.' or '..'), not a path; got "
                              f"{name!r:.80}")


def _type_name(v):
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


@dataclasses.dataclass(frozen=True)
class _Spec:
    """What a field accepts: its kind (from its type) and bounds (from its metadata)."""

    kind: str  # int | float | str | bool | ints | floats | pair | float_or_floats
    required: bool
    default: Any
    minimum: float | None = None  # inclusive
    above: float | None = None  # exclusive lower bound
    below: float | None = None  # exclusive upper bound
    choices: tuple | None = None
    doc: str = ""


def _kind(tp) -> str:
    """The kind of value a field type accepts (``None`` in a union only marks an unset
    default: TOML has no null)."""
    args = [a for a in typing.get_args(tp) if a is not type(None)] \
        if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union else [tp]
    if len(args) == 2 and float in args:
        (other,) = [a for a in args if a is not float]
        if typing.get_args(other) == (float, ...):
            return "float_or_floats"
    if len(args) != 1:
        raise TypeError(f"unsupported config field type {tp!r}")
    (tp,) = args
    if tp in (int, float, str, bool):
        return tp.__name__
    if typing.get_origin(tp) is tuple:
        targs = typing.get_args(tp)
        if targs == (int, ...):
            return "ints"
        if targs == (float, ...):
            return "floats"
        if targs == (float, float):
            return "pair"
    raise TypeError(f"unsupported config field type {tp!r}")


def _specs(cls) -> dict[str, _Spec]:
    """The schema of a config dataclass, read from its fields."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in _scalar_fields(cls):
        m = f.metadata
        out[f.name] = _Spec(_kind(hints[f.name]), f.default is dataclasses.MISSING, f.default,
                            m["minimum"], m["above"], m["below"], m["choices"], m["doc"])
    return out


def _check_number(source, key, spec: _Spec, v, integer: bool):
    if isinstance(v, bool) or not isinstance(v, int if integer else (int, float)):
        want = "an integer" if integer else "a number"
        _fail(source, key, f"must be {want}, got {_type_name(v)} {v!r}")
    if not integer:
        v = float(v)
        if not math.isfinite(v):
            _fail(source, key, f"must be finite, got {v!r}")
    if spec.minimum is not None and v < spec.minimum:
        _fail(source, key, f"must be {'an integer' if integer else 'a number'} ≥ {spec.minimum:g}, "
                           f"got {v!r}")
    if spec.above is not None and not v > spec.above:
        _fail(source, key, f"must be > {spec.above:g}, got {v!r}")
    if spec.below is not None and not v < spec.below:
        _fail(source, key, f"must be < {spec.below:g}, got {v!r}")
    return v


def _check_value(source, key, spec: _Spec, v):
    """``v`` checked against ``spec``, as the dataclass stores it (lists as tuples)."""
    kind = spec.kind
    if kind in ("int", "float"):
        return _check_number(source, key, spec, v, kind == "int")
    if kind == "str":
        if not isinstance(v, str):
            _fail(source, key, f"must be a string, got {_type_name(v)} {v!r}")
        if spec.choices and v not in spec.choices:
            _fail(source, key, f"must be one of {', '.join(map(repr, spec.choices))}; got {v!r}")
        return v
    if kind == "bool":
        if not isinstance(v, bool):
            _fail(source, key, f"must be true or false, got {_type_name(v)} {v!r}")
        return v
    if kind in ("ints", "floats"):
        if not isinstance(v, list) or not v:
            _fail(source, key, f"must be a non-empty list, got {_type_name(v)} {v!r}")
        return tuple(_check_number(source, f"{key}[{i}]", spec, x, kind == "ints")
                     for i, x in enumerate(v))
    if kind == "float_or_floats":
        if isinstance(v, list):
            return _check_value(source, key, dataclasses.replace(spec, kind="floats"), v)
        return _check_number(source, key, spec, v, False)
    if kind == "pair":
        if not isinstance(v, list) or len(v) != 2:
            _fail(source, key, f"must be a list [a, b] of two numbers, got {v!r}")
        a, b = (_check_number(source, f"{key}[{i}]", spec, x, False) for i, x in enumerate(v))
        if not a < b:
            _fail(source, key, f"must satisfy a < b, got [{a:g}, {b:g}]")
        return (a, b)
    raise AssertionError(kind)


def _parse_section(source, section: str, cls, given: dict, needed: bool, solver: str):
    """The section ``cls`` from the table ``given``; None if it lacks a required key but
    the solver does not use it."""
    specs = _specs(cls)
    for key in given:
        if key not in specs:
            _fail(source, f"{section}.{key}",
                  f"unknown key; allowed in [{section}]: {', '.join(specs)}")
    values, complete = {}, True
    for key, spec in specs.items():
        full = f"{section}.{key}"
        if key in given:
            values[key] = _check_value(source, full, spec, given[key])
        elif spec.required:
            if needed:
                _fail(source, full, f"missing (required for solver = {solver!r})")
            complete = False
    return cls(**values) if complete else None


def parse_config(raw: dict, source: str = "<config>") -> RunConfig:
    """Validate a config dict (as :func:`tomllib.load` returns it); fill in defaults.

    Every check comes from the fields of :class:`RunConfig` and its section dataclasses
    (type, bounds and choices), followed by the checks that relate several keys.

    Raises:
      ConfigError: one line naming ``source`` and the offending key.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a TOML table")
    top = _specs(RunConfig)
    sections = SECTIONS
    for key in raw:
        if key not in top and key not in sections:
            _fail(source, key, f"unknown key; allowed top-level keys: "
                               f"{', '.join(list(top) + list(sections))}")
    values: dict[str, Any] = {}
    for key, spec in top.items():
        if key in raw:
            if isinstance(raw[key], dict):
                _fail(source, key, "must be a value, not a table")
            values[key] = _check_value(source, key, spec, raw[key])
    if values.get("name") is not None:
        _check_name(source, values["name"])
    solver = values.get("solver", top["solver"].default)
    for f in _section_fields():
        section, cls = f.name, f.metadata["section"]
        needed = solver in f.metadata["needed_by"]
        present = section in raw
        if present and not isinstance(raw[section], dict):
            _fail(source, section, f"must be a table [{section}], got {_type_name(raw[section])}")
        if not present and not needed:
            continue
        values[section] = _parse_section(source, section, cls, raw.get(section, {}), needed,
                                         solver)
    cfg = RunConfig(**values)
    cfg = _complete_problem(cfg, source)
    return _check_cross(cfg, source)


def _problem_defaults(name: str) -> dict:
    from .pde import PROBLEMS

    fields = {f.name: f.default for f in dataclasses.fields(PROBLEMS[name])}
    keys = ("T", "box") + (_BS_ONLY if name == "black_scholes_geometric" else ())
    return {k: fields[k] for k in keys}


def _complete_problem(cfg: RunConfig, source) -> RunConfig:
    """The problem's defaults filled in, and the problem built once (its own checks)."""
    prob = cfg.problem
    if prob.name != "black_scholes_geometric":
        for key in _BS_ONLY:
            if getattr(prob, key) is not None:
                _fail(source, f"problem.{key}", f"only applies to black_scholes_geometric, "
                                                f"not {prob.name!r}")
    fill = {k: v for k, v in _problem_defaults(prob.name).items() if getattr(prob, k) is None}
    prob = dataclasses.replace(prob, **fill)
    if isinstance(prob.volatility, tuple) and len(prob.volatility) != prob.dimension:
        _fail(source, "problem.volatility", f"must be one number or {prob.dimension} numbers "
                                            f"(the dimension), got {len(prob.volatility)}")
    try:
        prob.build()
    except (TypeError, ValueError) as e:
        msg = str(e)
        field = msg.split(" ", 1)[0]
        key = {"dim": "dimension"}.get(field, field).split("[")[0]
        _fail(source, f"problem.{key}" if key in _specs(ProblemConfig) else "problem", msg)
    return dataclasses.replace(cfg, problem=prob)


def _check_cross(cfg: RunConfig, source) -> RunConfig:
    """The checks that relate several keys, and the defaults computed from other keys."""
    if cfg.solver == "learning":
        tr, opt = cfg.training, cfg.optimizer
        if tr.log_every is None:
            tr = dataclasses.replace(tr, log_every=max(1, tr.steps // 20))
        if opt.final_learning_rate is None:
            opt = dataclasses.replace(opt, final_learning_rate=opt.learning_rate / 100)
        if opt.warmup_steps >= tr.steps:
            _fail(source, "optimizer.warmup_steps", f"must be smaller than training.steps = "
                                                    f"{tr.steps}, got {opt.warmup_steps}")
        if sorted(opt.milestones) != list(opt.milestones):
            _fail(source, "optimizer.milestones", f"must be increasing, got "
                                                  f"{list(opt.milestones)}")
        cfg = dataclasses.replace(cfg, training=tr, optimizer=opt)
        if tr.antithetic_targets and tr.target_paths % 2:
            _fail(source, "training.target_paths", f"must be even with "
                                                   f"training.antithetic_targets (pairs Z, −Z), "
                                                   f"got {tr.target_paths}")
        av, prob = cfg.averaging, cfg.problem
        if av.tau > 0:
            if not av.tau < prob.T:
                _fail(source, "averaging.tau", f"must be < problem.T = {prob.T:g}, got "
                                               f"{av.tau:g}")
            if av.antithetic and av.paths % 2:
                _fail(source, "averaging.paths", f"must be even with averaging.antithetic "
                                                 f"(pairs Z, −Z), got {av.paths}")
            need = 2 * prob.dimension if av.antithetic else prob.dimension + 1
            if av.moment_matching and av.paths < need:
                _fail(source, "averaging.paths", f"must be ≥ {need} with "
                                                 f"averaging.moment_matching (problem.dimension "
                                                 f"= {prob.dimension}), got {av.paths}")
        if prob.name == "black_scholes_geometric" and not prob.box[0] - av.enlarge > 0:
            _fail(source, "averaging.enlarge", f"must be < problem.box[0] = {prob.box[0]:g} "
                                               f"(asset prices are > 0), got {av.enlarge:g}")
    sw, prob = cfg.sweep, cfg.problem
    if sw.sampler == "radial_shells" and not sw.r_min <= sw.r_max:
        _fail(source, "sweep.r_min", f"must be ≤ sweep.r_max = {sw.r_max:g}, got {sw.r_min:g}")
    if sw.sampler == "radial_shells" and sw.num_shells == 1 and sw.r_min != sw.r_max:
        _fail(source, "sweep.num_shells", "= 1 needs sweep.r_min = sweep.r_max")
    lo = sw.low if sw.low is not None else prob.box[0]
    hi = sw.high if sw.high is not None else prob.box[1]
    if not lo < hi:
        _fail(source, "sweep.high", f"must be > sweep.low = {lo:g}, got {hi:g}")
    if prob.name == "black_scholes_geometric":
        if sw.sampler in ("radial_shells", "gaussian"):
            _fail(source, "sweep.sampler", f"{sw.sampler!r} leaves (0, ∞)^d where asset "
                                           "prices live; use uniform_box, halton or grid")
        if lo <= 0:
            _fail(source, "sweep.low", f"must be > 0 for asset prices, got {lo:g}")
    if cfg.solver in ("constructive", "global") and prob.name != "heat_square":
        _fail(source, "solver", f"{cfg.solver!r} needs problem.name = 'heat_square' (it "
                                f"uses the squaring network for φ = ‖x‖²), got {prob.name!r}")
    return cfg


def build_problem(cfg: RunConfig):
    """The :class:`jrelu.pde.Problem` a validated config describes."""
    return cfg.problem.build()


# -- files and overrides ---------------------------------------------------------------


def apply_overrides(raw: dict, overrides, source: str = "--set") -> dict:
    """Apply ``KEY=VALUE`` strings (``training.steps=100``) to a raw config dict.

    VALUE is read as a TOML value (``100``, ``1e-3``, ``[64, 64]``, ``"adam"``); a bare word
    that is not valid TOML is taken as a string.
    """
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    for item in overrides or ():
        if "=" not in item:
            raise ConfigError(f"{source}: {item!r}: expected KEY=VALUE, e.g. training.steps=100")
        key, text = (s.strip() for s in item.split("=", 1))
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        parts = key.split(".")
        if len(parts) > 2 or not all(parts):
            raise ConfigError(f"{source}: {key}: expected KEY or SECTION.KEY")
        if len(parts) == 1:
            raw[parts[0]] = value
        else:
            section = raw.setdefault(parts[0], {})
            if not isinstance(section, dict):
                raise ConfigError(f"{source}: {parts[0]}: is not a table")
            section[parts[1]] = value
    return raw


def default_config_text() -> str:
    """The text of the packaged default config (``jrelu/configs/quickstart.toml``)."""
    from importlib.resources import files

    return (files("jrelu") / "configs" / DEFAULT_CONFIG).read_text(encoding="utf-8")


def load_config(path=None, overrides=None) -> RunConfig:
    """Read and validate a config file (``None``: the packaged default), with overrides.

    Returns the validated :class:`RunConfig` (defaults filled in, ``name`` set to the file
    stem if absent).

    Raises:
      ConfigError: a missing or unreadable file, invalid TOML (with its line), or any
        invalid key — one line each, naming the file, or ``--set`` for a key given there;
        a run ``name`` that is a path (``/abs``, ``../x``) is refused.
    """
    if path is None:
        source, text = DEFAULT_CONFIG, default_config_text()
    else:
        source = os.fspath(path)
        try:
            with open(source, encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such config file") from None
        except IsADirectoryError:
            raise ConfigError(f"{source}: is a directory, not a config file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"{source}: cannot read: {e}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{os.path.basename(source)}: invalid TOML: {e}") from None
    name = os.path.splitext(os.path.basename(source))[0]
    raw = apply_overrides(raw, overrides)
    set_keys = _override_keys(overrides)
    try:
        cfg = parse_config(raw, os.path.basename(source))
    except ConfigError as e:
        # a key given with --set is blamed on --set, not on the file
        key = (e.key or "").split("[")[0]
        if key and (key in set_keys or key.split(".")[0] in set_keys):
            raise ConfigError(f"--set: {e.key}: {e.detail}", key=e.key,
                              detail=e.detail) from None
        raise
    if cfg.name is None:
        cfg = dataclasses.replace(cfg, name=name)
        _check_name(os.path.basename(source), name)
    return cfg


def _override_keys(overrides) -> set[str]:
    """The keys (``KEY`` or ``SECTION.KEY``) that ``--set`` items give."""
    return {item.split("=", 1)[0].strip() for item in overrides or () if "=" in item}


def describe() -> str:
    """The schema as text: one line a key with type, default and bounds."""
    lines = []
    for section, cls in [("", RunConfig), *SECTIONS.items()]:
        lines.append(f"[{section}]" if section else "(top level)")
        for key, spec in _specs(cls).items():
            default = "required" if spec.required else f"default {_plain(spec.default)!r}"
            extra = f" one of {list(spec.choices)}" if spec.choices else ""
            for rel, bound in (("≥", spec.minimum), (">", spec.above), ("<", spec.below)):
                if bound is not None:
                    extra += f" {rel} {bound:g}"
            lines.append(f"  {key:22s} {spec.kind:16s} {default}{extra}  {spec.doc}".rstrip())
    return "\n".join(lines)
