"""Fuzz the config path of ``jrelu run``: mutated shipped configs never give a traceback.

Random mutations of ``configs/*.toml`` (wrong types, unknown keys, out-of-range values,
deleted keys and sections, truncated files, garbage bytes, duplicated lines) and random
``--set`` items go through the CLI's ``main(["run", CONFIG, "--check", ...])`` in-process:
``--check`` validates exactly as a run does (config, ``--set``, output folder) and stops
before any training. The outcome is exit code 0 with the plan on stdout and nothing on
stderr, or exit code 2 with exactly one line on stderr; any exception escaping ``main`` (a
traceback for the user) fails the test. Fixed seed: the same inputs on every run.
"""

import json
import math
import pathlib
import random
import re
import tomllib

from jrelu.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]
CONFIGS = sorted((ROOT / "configs").glob("*.toml"))
NUM_INPUTS = 1000

_WEIRD = [0, -1, 1, 2, -7, 0.0, -0.5, 0.5, 1.5, 1e-300, 1e308, -1e308, math.inf, -math.inf,
          math.nan, 2**63 - 1, -(2**63), 10**9, True, False, "", "x", "adam", "float16",
          "../x", "/abs", "heat_square", [], [0], [1, 2], [1.0, 0.0], [-1.0, 1.0], ["a"],
          [[1]], {}, {"a": 1}, [1e308, -1e308]]
_UNKNOWN = ["dimensoin", "stepz", "lr", "hiden", "foo", "T ", "Name", "kapa", "x.y"]


def _toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "_-" for c in k) else json.dumps(k)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf") if math.isinf(v) \
            else repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"


def _dump(raw: dict) -> str:
    top = [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    tables = [f"[{_toml_key(k)}]\n" + "\n".join(f"{_toml_key(kk)} = {_toml_value(vv)}"
                                                 for kk, vv in v.items())
              for k, v in raw.items() if isinstance(v, dict)]
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"


def _mutate_dict(rng: random.Random, raw: dict) -> dict:
    raw = json.loads(json.dumps(raw))  # deep copy (configs have no inf/nan)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        tables = [k for k, v in raw.items() if isinstance(v, dict)]
        where = raw if not tables or rng.random() < 0.2 else raw[rng.choice(tables)]
        keys = list(where)
        op = rng.choice(["type", "type", "range", "unknown", "delete", "section"])
        if op in ("type", "range") and keys:
            k = rng.choice(keys)
            if op == "range" and isinstance(where[k], (int, float)) and not isinstance(
                    where[k], bool):
                where[k] = rng.choice([0, -1, -where[k], where[k] * 1e6, 1e308, 2**63 - 1])
            else:
                where[k] = rng.choice(_WEIRD)
        elif op == "unknown":
            where[rng.choice(_UNKNOWN)] = rng.choice(_WEIRD)
        elif op == "delete" and keys:
            del where[rng.choice(keys)]
        elif op == "section" and tables:
            t = rng.choice(tables)
            if rng.random() < 0.5:
                del raw[t]
            else:
                raw[t] = rng.choice([1, "x", [1]])
    return raw


def _mutate_text(rng: random.Random, text: str) -> bytes:
    data = text.encode()
    op = rng.choice(["truncate", "garbage", "delete_line", "duplicate_line", "flip"])
    if op == "truncate":
        return data[:rng.randrange(len(data))]
    if op == "garbage":
        i = rng.randrange(len(data))
        return data[:i] + rng.randbytes(rng.randint(1, 16)) + data[i:]
    if op == "flip":
        b = bytearray(data)
        i = rng.randrange(len(b))
        b[i] ^= 1 << rng.randrange(8)
        return bytes(b)
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    if op == "delete_line":
        del lines[i]
    else:
        lines.insert(i, lines[i])
    return b"\n".join(lines)


def _random_set(rng: random.Random, raw: dict) -> str:
    tables = [k for k, v in raw.items() if isinstance(v, dict)]
    t = rng.choice(tables)
    key = rng.choice(list(raw[t]) + _UNKNOWN[:2])
    value = rng.choice([_toml_value(rng.choice(_WEIRD)), "bare words", "[1,", "=", "1 2"])
    return rng.choice([f"{t}.{key}={value}", f"{key}={value}", f"{t}={value}", f"{t}.{key}",
                       f"a.b.c={value}", f".x={value}"])


def test_mutated_configs_give_exit_2_with_one_line_or_a_valid_config(tmp_path, capsys):
    rng = random.Random(20261130)
    texts = [p.read_text(encoding="utf-8") for p in CONFIGS]
    raws = [tomllib.loads(t) for t in texts]
    outcomes = {0: 0, 2: 0}
    for n in range(NUM_INPUTS):
        i = rng.randrange(len(texts))
        kind = rng.choice(["dict", "dict", "dict", "text", "set"])
        sets = []
        if kind == "dict":
            data = _dump(_mutate_dict(rng, raws[i])).encode()
        elif kind == "text":
            data = _mutate_text(rng, texts[i])
        else:
            data = texts[i].encode()
            sets = [a for _ in range(rng.randint(1, 3))
                    for a in ("--set", _random_set(rng, raws[i]))]
        path = tmp_path / f"m{n}.toml"
        path.write_bytes(data)
        rc = main(["run", str(path), "--check", "--out", str(tmp_path / "out"), *sets])
        out, err = capsys.readouterr()
        context = f"input {n} ({kind}): {data[:2000]!r} {sets}"
        assert rc in (0, 2), context
        if rc == 2:
            assert err.count("\n") == 1 and err.startswith("jrelu run: error: "), (err, context)
            assert "Traceback" not in err and out == "", (err, context)
        else:
            assert err == "" and re.match(r"config .+: valid\n", out), (out, err, context)
            assert "\noutput: " in out, (out, context)
        outcomes[rc] += 1
    assert not (tmp_path / "out").exists()  # --check never creates the output folder
    # the mutations must hit both outcomes, mostly errors
    assert outcomes[2] > NUM_INPUTS // 2 and outcomes[0] > NUM_INPUTS // 20, outcomes
    print(f"{NUM_INPUTS} inputs: {outcomes[0]} valid, {outcomes[2]} refused with one line")
