"""The typed ``jrelu run`` configs: one validator driven by the config dataclasses' fields.

Every field of every section gets a wrong type and, where it has bounds or choices, an
out-of-range value; each must give one ConfigError line naming the file and the key.
"""

import copy
import dataclasses
import math

import pytest

from jrelu import config as jconfig

SRC = "c.toml"

_BASE = {
    "problem": {"name": "heat_square", "dimension": 3},
    "network": {"hidden": [8]},
    "optimizer": {},
    "training": {"steps": 10, "batch_size": 16},
    "constructive": {},  # not used by the learning solver, but still validated
    "sweep": {},
}


def _base():
    return copy.deepcopy(_BASE)


def _with(section, key, value):
    raw = _base()
    if section:
        raw.setdefault(section, {})[key] = value
    else:
        raw[key] = value
    return raw


def _fails(raw, key, *words):
    with pytest.raises(jconfig.ConfigError) as info:
        jconfig.parse_config(raw, SRC)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{SRC}: {key}: "), msg
    for w in words:
        assert w in msg, msg
    return msg


def _fields():
    """(section, key, spec) for every validated field: top level and every section."""
    out = []
    for section, cls in [("", jconfig.RunConfig), *jconfig.SECTIONS.items()]:
        for key, spec in jconfig._specs(cls).items():
            out.append(pytest.param(section, key, spec, id=f"{section or 'top'}.{key}"))
    return out


_WRONG_TYPE = {
    "int": [("x", "must be an integer"), (True, "must be an integer, got a boolean"),
            (2.5, "must be an integer, got a number")],
    "float": [("x", "must be a number, got a string"), (True, "must be a number, got a boolean"),
              (math.nan, "must be finite"), (math.inf, "must be finite")],
    "str": [(3, "must be a string, got an integer")],
    "bool": [(1, "must be true or false, got an integer"), ("yes", "must be true or false")],
    "ints": [(5, "must be a non-empty list"), ([], "must be a non-empty list")],
    "floats": [(5, "must be a non-empty list"), ([], "must be a non-empty list")],
    "pair": [([1.0], "must be a list [a, b] of two numbers"), ("x", "must be a list [a, b]")],
    "float_or_floats": [("x", "must be a number"), ([], "must be a non-empty list")],
}


@pytest.mark.parametrize("section, key, spec", _fields())
def test_every_field_rejects_a_wrong_type(section, key, spec):
    full = f"{section}.{key}" if section else key
    for value, words in _WRONG_TYPE[spec.kind]:
        _fails(_with(section, key, value), full, words)
    if spec.kind in ("ints", "floats", "float_or_floats"):
        _fails(_with(section, key, ["x"]), f"{full}[0]", "must be")
    if spec.kind == "pair":
        _fails(_with(section, key, [1.0, "x"]), f"{full}[1]", "must be a number")
        _fails(_with(section, key, [2.0, 1.0]), full, "must satisfy a < b, got [2, 1]")


def _bad_values(spec):
    """Values just outside the field's bounds / choices, with the expected words."""
    out = []
    integer = spec.kind in ("int", "ints")
    if spec.minimum is not None:
        v = spec.minimum - 1 if integer else spec.minimum - 0.5
        out.append((v, f"≥ {spec.minimum:g}"))
    if spec.above is not None:
        out.append((int(spec.above) if integer else spec.above, f"must be > {spec.above:g}"))
    if spec.below is not None:
        out.append((spec.below, f"must be < {spec.below:g}"))
    if spec.choices:
        out.append(("nope", "must be one of " + ", ".join(map(repr, spec.choices))))
    return out


@pytest.mark.parametrize("section, key, spec", _fields())
def test_every_bounded_field_rejects_an_out_of_range_value(section, key, spec):
    full = f"{section}.{key}" if section else key
    for value, words in _bad_values(spec):
        if spec.kind in ("ints", "floats"):
            _fails(_with(section, key, [value]), f"{full}[0]", words)
        else:
            _fails(_with(section, key, value), full, words)


def test_bounds_come_from_the_field_metadata():
    specs = jconfig._specs(jconfig.ProblemConfig)
    assert specs["dimension"].minimum == 1 and specs["dimension"].required
    assert specs["T"].above == 0.0 and not specs["T"].required
    assert specs["correlation"].above == -1.0 and specs["correlation"].below == 1.0
    assert jconfig._specs(jconfig.NetworkConfig)["hidden"].kind == "ints"
    assert jconfig._specs(jconfig.ProblemConfig)["volatility"].kind == "float_or_floats"
    assert jconfig._specs(jconfig.ProblemConfig)["box"].kind == "pair"
    # every section of RunConfig is listed, in file order
    assert list(jconfig.SECTIONS)[:7] == ["problem", "network", "optimizer", "training",
                                          "averaging", "constructive", "sweep"]


def test_exact_messages():
    assert _fails(_with("problem", "dimension", -3), "problem.dimension") == \
        "c.toml: problem.dimension: must be an integer ≥ 1, got -3"
    assert _fails(_with("optimizer", "momentum", 1.0), "optimizer.momentum") == \
        "c.toml: optimizer.momentum: must be < 1, got 1.0"
    assert _fails(_with("", "dtype", "float16"), "dtype") == \
        "c.toml: dtype: must be one of 'float32', 'float64'; got 'float16'"


def test_unknown_keys_and_misplaced_tables():
    for section in jconfig.SECTIONS:
        raw = _base()
        raw.setdefault(section, {})["nope"] = 1
        msg = _fails(raw, f"{section}.nope", "unknown key", f"allowed in [{section}]:")
        for key in jconfig._specs(jconfig.SECTIONS[section]):
            assert key in msg
    _fails(_with("", "nope", 1), "nope", "unknown key; allowed top-level keys: name, seed, "
           "dtype, solver, problem, network, optimizer, training, averaging, constructive, "
           "sweep")
    _fails(_with("", "seed", {"a": 1}), "seed", "must be a value, not a table")
    _fails(_with("", "network", [8]), "network", "must be a table [network], got a list")
    with pytest.raises(jconfig.ConfigError, match="must be a TOML table"):
        jconfig.parse_config([1], SRC)


def test_required_keys_by_solver():
    raw = _base()
    del raw["training"]["steps"]
    _fails(raw, "training.steps", "missing (required for solver = 'learning')")
    raw = _base()
    del raw["problem"]["name"]
    _fails(raw, "problem.name", "missing")
    # the constructive solver needs neither [network] nor [training]
    raw = {"solver": "constructive", "problem": {"name": "heat_square", "dimension": 2},
           "network": {}}
    cfg = jconfig.parse_config(raw, SRC)
    assert cfg.training is None and cfg.network is None and cfg.constructive.paths == 64


def test_cross_key_checks():
    raw = _with("optimizer", "warmup_steps", 10)
    _fails(raw, "optimizer.warmup_steps", "smaller than training.steps = 10")
    _fails(_with("optimizer", "milestones", [0.75, 0.5]), "optimizer.milestones", "increasing")
    raw = _with("sweep", "r_min", 5.0)
    raw["sweep"]["r_max"] = 1.0
    _fails(raw, "sweep.r_min", "≤ sweep.r_max = 1")
    _fails(_with("sweep", "num_shells", 1), "sweep.num_shells", "needs sweep.r_min")
    raw = _with("sweep", "low", 2.0)
    _fails(raw, "sweep.high", "must be > sweep.low = 2")
    _fails(_with("problem", "strike", 5.0), "problem.strike", "only applies to black_scholes")
    bs = _base()
    bs["problem"] = {"name": "black_scholes_geometric", "dimension": 3}
    _fails(bs, "sweep.sampler", "leaves (0, ∞)^d")
    bs["sweep"] = {"sampler": "uniform_box", "low": -1.0}
    _fails(bs, "sweep.low", "must be > 0 for asset prices")
    bs["sweep"] = {"sampler": "uniform_box"}
    bs["problem"]["volatility"] = [0.1, 0.2]
    _fails(bs, "problem.volatility", "must be one number or 3 numbers")
    bs["problem"]["volatility"] = 0.2
    bs["problem"]["correlation"] = -0.6  # the problem's own check (equicorrelation, d = 3)
    _fails(bs, "problem.correlation", "must satisfy")
    raw = {"solver": "global", "problem": {"name": "heat_cosine", "dimension": 2}}
    _fails(raw, "solver", "needs problem.name = 'heat_square'")


def test_typed_config_with_defaults_filled_in():
    cfg = jconfig.parse_config(_base(), SRC)
    assert isinstance(cfg, jconfig.RunConfig) and isinstance(cfg.problem, jconfig.ProblemConfig)
    assert cfg.network.hidden == (8,) and cfg.problem.box == (0.0, 1.0) and cfg.problem.T == 1.0
    assert cfg.training.log_every == 1 and cfg.optimizer.final_learning_rate == 1e-5
    assert cfg.problem.rate is None  # Black–Scholes keys only for that problem
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 3
    d = cfg.to_dict()
    assert d["network"] == {"hidden": [8], "members": 1} and d["problem"] == {
        "name": "heat_square", "dimension": 3, "T": 1.0, "box": [0.0, 1.0]}
    assert list(d) == ["name", "seed", "dtype", "solver", "problem", "network", "optimizer",
                       "training", "averaging", "constructive", "sweep"]
    assert d["averaging"] == {"tau": 0.0, "paths": 128, "antithetic": True,
                              "moment_matching": False, "enlarge": 0.0,
                              "inputs": "box"}  # off by default
    bs = jconfig.parse_config({"problem": {"name": "black_scholes_geometric", "dimension": 2,
                                           "volatility": [0.1, 0.2]},
                               "network": {"hidden": [4]},
                               "training": {"steps": 2, "batch_size": 2},
                               "sweep": {"sampler": "halton"}}, SRC)
    assert bs.problem.volatility == (0.1, 0.2) and bs.problem.strike == 100.0
    assert bs.to_dict()["problem"]["volatility"] == [0.1, 0.2]
    assert bs.problem.build().volatility == (0.1, 0.2)


def test_overrides_and_describe():
    raw = jconfig.apply_overrides(_base(), ["training.steps=20", "network.hidden=[4, 4]",
                                            "optimizer.name=sgd"])
    cfg = jconfig.parse_config(raw, SRC)
    assert cfg.training.steps == 20 and cfg.network.hidden == (4, 4)
    assert cfg.optimizer.name == "sgd"
    with pytest.raises(jconfig.ConfigError, match="--set: 'x': expected KEY=VALUE"):
        jconfig.apply_overrides({}, ["x"])
    with pytest.raises(jconfig.ConfigError, match="expected KEY or SECTION.KEY"):
        jconfig.apply_overrides({}, ["a.b.c=1"])
    text = jconfig.describe()
    for section, cls in jconfig.SECTIONS.items():
        assert f"[{section}]" in text
        for f in dataclasses.fields(cls):
            assert f"  {f.name} " in text
    assert ".md" not in text  # no file a user does not have


def test_config_error_carries_the_key_and_detail():
    with pytest.raises(jconfig.ConfigError) as info:
        jconfig.parse_config(_with("training", "steps", 0), SRC)
    e = info.value
    assert e.key == "training.steps" and e.detail == "must be an integer ≥ 1, got 0"
    assert str(e) == f"{SRC}: training.steps: must be an integer ≥ 1, got 0"


@pytest.mark.parametrize("name", ["/abs/path", "../x", "a/b", "a\\b", "..", ".", "", "  ",
                                  "tab\there", "x" * 201])
def test_a_run_name_that_is_a_path_is_refused(name):
    _fails(_with("", "name", name), "name", "must be a plain name for the folder runs/<name>")


@pytest.mark.parametrize("name", ["quickstart", "heat d100", "run-1.2_b", "ünïcode", "x" * 200])
def test_plain_run_names_are_accepted(name):
    assert jconfig.parse_config(_with("", "name", name), SRC).name == name


def test_set_errors_name_set_and_file_errors_name_the_file(tmp_path):
    text = ("[problem]\nname = \"heat_square\"\ndimension = 3\n[network]\nhidden = [8]\n"
            "[training]\nsteps = 10\nbatch_size = 16\n")
    path = tmp_path / "c.toml"
    path.write_text(text)
    cases = [(["training.steps=\"ten\""], "--set: training.steps: must be an integer"),
             (["network.hidden=[8, 0]"], "--set: network.hidden[1]: must be an integer ≥ 1"),
             (["name=\"../x\""], "--set: name: must be a plain name"),
             (["sweep=2"], "--set: sweep: must be a table"),
             (["seed=1", "problem.dimension=0"], "--set: problem.dimension:")]
    for sets, start in cases:
        with pytest.raises(jconfig.ConfigError) as info:
            jconfig.load_config(path, sets)
        assert str(info.value).startswith(start), (sets, str(info.value))
    path.write_text(text.replace("dimension = 3", "dimension = -3"))
    with pytest.raises(jconfig.ConfigError, match=r"^c\.toml: problem\.dimension: "):
        jconfig.load_config(path, ["training.steps=5"])
    assert jconfig.load_config(path.parent / "c.toml", ["problem.dimension=2"]).name == "c"


def test_ensemble_and_averaging_keys():
    raw = _base()
    raw["network"]["members"] = 4
    raw["averaging"] = {"tau": 0.25, "paths": 64, "antithetic": False, "enlarge": 0.5,
                        "moment_matching": True}
    cfg = jconfig.parse_config(raw, SRC)
    assert cfg.network.members == 4 and isinstance(cfg.averaging, jconfig.AveragingConfig)
    assert (cfg.averaging.tau, cfg.averaging.paths, cfg.averaging.antithetic,
            cfg.averaging.enlarge, cfg.averaging.moment_matching) == (0.25, 64, False, 0.5, True)
    assert _fails(_with("network", "members", "4"), "network.members") == \
        "c.toml: network.members: must be an integer, got a string '4'"
    _fails(_with("network", "members", 0), "network.members", "≥ 1")
    _fails(_with("averaging", "tau", "0.1"), "averaging.tau", "must be a number")
    _fails(_with("averaging", "antithetic", 1), "averaging.antithetic", "true or false")
    _fails(_with("averaging", "enlarge", -1.0), "averaging.enlarge", "≥ 0")
    _fails(_with("averaging", "taus", 0.1), "averaging.taus", "unknown key")
    _fails(_with("averaging", "tau", 1.0), "averaging.tau", "must be < problem.T = 1")
    raw = _with("averaging", "tau", 0.5)
    raw["averaging"]["paths"] = 7
    _fails(raw, "averaging.paths", "even with averaging.antithetic")
    raw["averaging"].update(paths=2, moment_matching=True)
    _fails(raw, "averaging.paths", "must be ≥ 6 with averaging.moment_matching")
    raw["averaging"].update(paths=6)  # 6 antithetic paths: 3 distinct draws in d = 3
    jconfig.parse_config(raw, SRC)
    bs = _base()
    bs["problem"] = {"name": "black_scholes_geometric", "dimension": 3, "box": [10.0, 20.0]}
    bs["sweep"] = {"sampler": "uniform_box"}
    bs["averaging"] = {"enlarge": 10.0}
    _fails(bs, "averaging.enlarge", "must be < problem.box[0] = 10")
    _fails(_with("averaging", "inputs", "ends"), "averaging.inputs", "box")
    raw = _base()
    raw["training"].update(target_paths=3, antithetic_targets=True)
    _fails(raw, "training.target_paths", "even with training.antithetic_targets")
    raw["training"].update(target_paths=4)
    raw["averaging"] = {"tau": 0.5, "inputs": "paths"}
    cfg = jconfig.parse_config(raw, SRC)
    assert (cfg.training.target_paths, cfg.training.antithetic_targets,
            cfg.averaging.inputs) == (4, True, "paths")
    # the packaged configs parse
    jconfig.load_config(None)
