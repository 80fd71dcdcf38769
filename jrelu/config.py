r"""Experiment configs for ``jrelu run``: TOML read with the standard library's :mod:`tomllib`.

A config is a TOML file with top-level keys and sections; :func:`load_config` checks every
key (unknown keys, wrong types, impossible values) *before* any work starts and returns a
plain dict with all defaults filled in, which ``jrelu run`` echoes into its report. Every
problem is reported as one :class:`ConfigError` line naming the file and the key, e.g.
``quickstart.toml: problem.dimension: must be an integer ≥ 1, got -3``.

The schema (defaults in brackets, ``*`` = required) is :data:`SCHEMA`; :func:`describe`
prints it. Sections:

* top level: ``name`` [file stem], ``seed`` [0], ``dtype`` ["float32"|"float64"],
  ``solver`` ["learning"|"constructive"|"global"];
* ``[problem]``: ``name``\*, ``dimension``\*, ``T``, ``box``, and for Black–Scholes
  ``rate``, ``volatility``, ``correlation``, ``strike`` (see :mod:`jrelu.pde`);
* ``[network]`` (learning): ``hidden``\* — the hidden widths;
* ``[optimizer]`` (learning): ``name``, ``learning_rate``, ``schedule``,
  ``final_learning_rate``, ``warmup_steps``, ``milestones``, ``decay_factor``,
  ``weight_decay``, ``momentum``, ``clip_norm``;
* ``[training]`` (learning): ``steps``\*, ``batch_size``\*, ``checkpoint_every``,
  ``log_every``;
* ``[constructive]`` (constructive / global): ``paths``, ``paths_study``,
  ``square_depth``, ``bound``, ``epsilon``;
* ``[sweep]``: ``sampler``, ``points``, ``kappa``, sampler parameters (``r_min``,
  ``r_max``, ``num_shells``, ``std``, ``low``, ``high``, ``per_axis``), ``box_points``,
  ``chunk_size``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
from typing import Any

__all__ = ["ConfigError", "SCHEMA", "load_config", "parse_config", "apply_overrides",
           "describe", "default_config_text", "DEFAULT_CONFIG"]

#: The packaged default config (``jrelu run`` with no file); configs/quickstart.toml links to it.
DEFAULT_CONFIG = "quickstart.toml"

_REQUIRED = object()


class ConfigError(ValueError):
    """An invalid config; the message is one line naming the file and the key."""


@dataclasses.dataclass(frozen=True)
class _Key:
    kind: str  # int | float | str | bool | ints | floats | pair | float_or_floats
    default: Any = _REQUIRED
    minimum: float | None = None  # inclusive
    above: float | None = None  # exclusive lower bound
    below: float | None = None  # exclusive upper bound
    choices: tuple | None = None
    doc: str = ""


PROBLEM_NAMES = ("heat_square", "heat_cosine", "black_scholes_geometric")
SOLVERS = ("learning", "constructive", "global")
SAMPLERS = ("uniform_box", "gaussian", "radial_shells", "halton", "grid")

SCHEMA: dict[str, dict[str, _Key]] = {
    "": {
        "name": _Key("str", None, doc="run name (default: the file stem)"),
        "seed": _Key("int", 0, minimum=0, doc="PRNG seed of the whole run"),
        "dtype": _Key("str", "float32", choices=("float32", "float64")),
        "solver": _Key("str", "learning", choices=SOLVERS),
    },
    "problem": {
        "name": _Key("str", choices=PROBLEM_NAMES),
        "dimension": _Key("int", minimum=1, doc="d"),
        "T": _Key("float", None, above=0.0, doc="time horizon / maturity"),
        "box": _Key("pair", None, doc="[a, b]: ξ uniform on [a, b]^d"),
        "rate": _Key("float", None, doc="Black–Scholes r"),
        "volatility": _Key("float_or_floats", None, above=0.0, doc="σ_i, one or d numbers"),
        "correlation": _Key("float", None, above=-1.0, below=1.0, doc="pairwise ρ"),
        "strike": _Key("float", None, above=0.0, doc="K"),
    },
    "network": {
        "hidden": _Key("ints", minimum=1, doc="hidden widths N_1, ..., N_{L-1}"),
    },
    "optimizer": {
        "name": _Key("str", "adam", choices=("adam", "adamw", "sgd")),
        "learning_rate": _Key("float", 1e-3, above=0.0),
        "schedule": _Key("str", "cosine",
                         choices=("constant", "cosine", "exponential", "piecewise")),
        "final_learning_rate": _Key("float", None, above=0.0,
                                    doc="end of cosine/exponential decay [lr/100]"),
        "warmup_steps": _Key("int", 0, minimum=0, doc="linear warm-up from 0"),
        "milestones": _Key("floats", [0.5, 0.75], above=0.0, below=1.0,
                           doc="piecewise: fractions of the steps where lr is multiplied"),
        "decay_factor": _Key("float", 0.1, above=0.0, doc="piecewise: the multiplier"),
        "weight_decay": _Key("float", 1e-4, minimum=0.0, doc="adamw"),
        "momentum": _Key("float", 0.9, minimum=0.0, below=1.0, doc="sgd (0: plain SGD)"),
        "clip_norm": _Key("float", None, above=0.0, doc="clip the global gradient norm"),
    },
    "training": {
        "steps": _Key("int", minimum=1),
        "batch_size": _Key("int", minimum=1),
        "checkpoint_every": _Key("int", 1000, minimum=1, doc="steps between checkpoints"),
        "log_every": _Key("int", None, minimum=1, doc="steps between progress lines"),
    },
    "constructive": {
        "paths": _Key("int", 64, minimum=1, doc="n, Feynman–Kac paths of the averaging network"),
        "paths_study": _Key("ints", [1, 4, 16, 64], minimum=1,
                            doc="n values of the error-vs-n study"),
        "square_depth": _Key("int", 8, minimum=1, doc="m of the squaring network"),
        "bound": _Key("float", None, above=0.0,
                      doc="the squaring network is accurate on [-bound, bound] per coordinate"),
        "epsilon": _Key("float", 0.1, above=0.0, doc="global: target accuracy ε"),
    },
    "sweep": {
        "sampler": _Key("str", "radial_shells", choices=SAMPLERS),
        "points": _Key("int", 4096, minimum=1, doc="points of the weighted sweep"),
        "kappa": _Key("float", 0.0, minimum=0.0, doc="weight exponent κ: errors/(1+‖x‖^κ)"),
        "r_min": _Key("float", 0.01, above=0.0, doc="radial_shells: smallest radius"),
        "r_max": _Key("float", 100.0, above=0.0, doc="radial_shells: largest radius"),
        "num_shells": _Key("int", 16, minimum=1, doc="radial_shells: number of shells"),
        "std": _Key("float", 1.0, above=0.0, doc="gaussian: standard deviation"),
        "low": _Key("float", None, doc="uniform_box/halton/grid: lower corner [box[0]]"),
        "high": _Key("float", None, doc="uniform_box/halton/grid: upper corner [box[1]]"),
        "per_axis": _Key("int", 3, minimum=1, doc="grid: points per axis"),
        "box_points": _Key("int", 65536, minimum=1,
                           doc="uniform points on the box for the relative L2 errors"),
        "chunk_size": _Key("int", 8192, minimum=1),
    },
}

# Sections that each solver needs (others may be present but are then unused).
_NEEDS = {
    "learning": ("problem", "network", "optimizer", "training", "sweep"),
    "constructive": ("problem", "constructive", "sweep"),
    "global": ("problem", "constructive", "sweep"),
}
_BS_ONLY = ("rate", "volatility", "correlation", "strike")


def _fail(source, key, msg):
    raise ConfigError(f"{source}: {key}: {msg}")


def _type_name(v):
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def _check_number(source, key, spec: _Key, v, integer: bool):
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


def _check_value(source, key, spec: _Key, v):
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
        return [_check_number(source, f"{key}[{i}]", spec, x, kind == "ints")
                for i, x in enumerate(v)]
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
        return [a, b]
    raise AssertionError(kind)


def _problem_defaults(name: str) -> dict:
    from .pde import PROBLEMS

    cls = PROBLEMS[name]
    fields = {f.name: f.default for f in dataclasses.fields(cls)}
    out = {"T": fields["T"], "box": list(fields["box"])}
    if name == "black_scholes_geometric":
        out.update(rate=fields["rate"], volatility=fields["volatility"],
                   correlation=fields["correlation"], strike=fields["strike"])
    return out


def parse_config(raw: dict, source: str = "<config>") -> dict:
    """Validate a config dict (as :func:`tomllib.load` returns it); fill in defaults.

    Raises:
      ConfigError: one line naming ``source`` and the offending key.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the config must be a TOML table")
    out: dict[str, Any] = {}
    sections = [s for s in SCHEMA if s]
    for key in raw:
        if key not in SCHEMA[""] and key not in sections:
            _fail(source, key, f"unknown key; allowed top-level keys: "
                               f"{', '.join(list(SCHEMA['']) + sections)}")
    for key, spec in SCHEMA[""].items():
        if key in raw:
            if isinstance(raw[key], dict):
                _fail(source, key, "must be a value, not a table")
            out[key] = _check_value(source, key, spec, raw[key])
        else:
            out[key] = spec.default
    solver = out["solver"]
    for section in sections:
        present = section in raw
        if present and not isinstance(raw[section], dict):
            _fail(source, section, f"must be a table [{section}], got {_type_name(raw[section])}")
        if not present and section not in _NEEDS[solver]:
            continue
        given = raw.get(section, {})
        schema = SCHEMA[section]
        for key in given:
            if key not in schema:
                _fail(source, f"{section}.{key}",
                      f"unknown key; allowed in [{section}]: {', '.join(schema)}")
        values = {}
        for key, spec in schema.items():
            full = f"{section}.{key}"
            if key in given:
                values[key] = _check_value(source, full, spec, given[key])
            elif spec.default is _REQUIRED:
                if section in _NEEDS[solver]:
                    _fail(source, full, f"missing (required for solver = {solver!r})")
            else:
                values[key] = spec.default
        out[section] = values
    _check_problem(out, source)
    _check_cross(out, source)
    return out


def _check_problem(cfg, source):
    prob = cfg["problem"]
    name = prob["name"]
    if name != "black_scholes_geometric":
        for key in _BS_ONLY:
            if prob.get(key) is not None:
                _fail(source, f"problem.{key}", f"only applies to black_scholes_geometric, "
                                                f"not {name!r}")
            prob.pop(key, None)
    defaults = _problem_defaults(name)
    for key, value in defaults.items():
        if prob.get(key) is None:
            prob[key] = value
    vol = prob.get("volatility")
    if isinstance(vol, list) and len(vol) != prob["dimension"]:
        _fail(source, "problem.volatility", f"must be one number or {prob['dimension']} numbers "
                                            f"(the dimension), got {len(vol)}")
    try:
        build_problem(cfg)
    except ValueError as e:
        msg = str(e)
        field = msg.split(" ", 1)[0]
        key = {"dim": "dimension"}.get(field, field).split("[")[0]
        _fail(source, f"problem.{key}" if key in SCHEMA["problem"] else "problem", msg)


def _check_cross(cfg, source):
    if cfg["solver"] == "learning":
        tr = cfg["training"]
        if tr["log_every"] is None:
            tr["log_every"] = max(1, tr["steps"] // 20)
        opt = cfg["optimizer"]
        if opt["final_learning_rate"] is None:
            opt["final_learning_rate"] = opt["learning_rate"] / 100
        if opt["warmup_steps"] >= tr["steps"]:
            _fail(source, "optimizer.warmup_steps", f"must be smaller than training.steps = "
                                                    f"{tr['steps']}, got {opt['warmup_steps']}")
        if sorted(opt["milestones"]) != opt["milestones"]:
            _fail(source, "optimizer.milestones", f"must be increasing, got {opt['milestones']}")
    sw = cfg["sweep"]
    if sw["sampler"] == "radial_shells" and not sw["r_min"] <= sw["r_max"]:
        _fail(source, "sweep.r_min", f"must be ≤ sweep.r_max = {sw['r_max']:g}, got "
                                     f"{sw['r_min']:g}")
    if sw["sampler"] == "radial_shells" and sw["num_shells"] == 1 and sw["r_min"] != sw["r_max"]:
        _fail(source, "sweep.num_shells", "= 1 needs sweep.r_min = sweep.r_max")
    lo = sw["low"] if sw["low"] is not None else cfg["problem"]["box"][0]
    hi = sw["high"] if sw["high"] is not None else cfg["problem"]["box"][1]
    if not lo < hi:
        _fail(source, "sweep.high", f"must be > sweep.low = {lo:g}, got {hi:g}")
    if cfg["problem"]["name"] == "black_scholes_geometric":
        if sw["sampler"] in ("radial_shells", "gaussian"):
            _fail(source, "sweep.sampler", f"{sw['sampler']!r} leaves (0, ∞)^d where asset "
                                           "prices live; use uniform_box, halton or grid")
        if lo <= 0:
            _fail(source, "sweep.low", f"must be > 0 for asset prices, got {lo:g}")
    if cfg["solver"] in ("constructive", "global") and cfg["problem"]["name"] != "heat_square":
        _fail(source, "solver", f"{cfg['solver']!r} needs problem.name = 'heat_square' (it "
                                f"uses the squaring network for φ = ‖x‖²), got "
                                f"{cfg['problem']['name']!r}")


def build_problem(cfg: dict):
    """The :class:`jrelu.pde.Problem` a validated config describes."""
    from .pde import make_problem

    prob = dict(cfg["problem"])
    name = prob.pop("name")
    prob["dim"] = prob.pop("dimension")
    prob["box"] = tuple(prob["box"])
    if isinstance(prob.get("volatility"), list):
        prob["volatility"] = tuple(prob["volatility"])
    return make_problem(name, **prob)


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


def load_config(path=None, overrides=None) -> dict:
    """Read and validate a config file (``None``: the packaged default), with overrides.

    Returns the validated dict (defaults filled in, ``name`` set to the file stem if absent).

    Raises:
      ConfigError: a missing or unreadable file, invalid TOML (with its line), or any
        invalid key — one line each.
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
    cfg = parse_config(raw, os.path.basename(source))
    if cfg["name"] is None:
        cfg["name"] = name
    return cfg


def describe() -> str:
    """The schema as text: one line a key with type, default and bounds."""
    lines = []
    for section, keys in SCHEMA.items():
        lines.append(f"[{section}]" if section else "(top level)")
        for key, spec in keys.items():
            default = "required" if spec.default is _REQUIRED else f"default {spec.default!r}"
            extra = f" one of {list(spec.choices)}" if spec.choices else ""
            lines.append(f"  {key:22s} {spec.kind:16s} {default}{extra}  {spec.doc}")
    return "\n".join(lines)
