"""jrelu.io: networks and checkpoints as npz (exact round trips, the 0.1 file format, checks)."""

import dataclasses
import json
import os
import time
import zipfile

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jrelu
from jrelu.io import (
    Checkpoint,
    atomic_write,
    load_checkpoint,
    load_network,
    load_network_metadata,
    save_checkpoint,
    save_network,
)


def _assert_same_network(a, b):
    assert a.widths == b.widths and a.dtype == b.dtype
    for (A, c), (A2, c2) in zip(a.layers, b.layers):
        assert A.dtype == A2.dtype and c.dtype == c2.dtype
        np.testing.assert_array_equal(A, A2)
        np.testing.assert_array_equal(c, c2)


# -- networks ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_save_load_network_roundtrip_is_exact(tmp_path, dtype):
    net = jrelu.init(jax.random.key(0), (3, 5, 4, 1), dtype=dtype)
    save_network(tmp_path / "n.npz", net, metadata={"note": "x"})
    back = load_network(tmp_path / "n.npz")
    _assert_same_network(back, net)
    assert load_network_metadata(tmp_path / "n.npz") == {"note": "x"}
    with np.load(tmp_path / "n.npz", allow_pickle=False) as f:  # plain arrays, no pickle
        assert set(f.files) == {"A_1", "b_1", "A_2", "b_2", "A_3", "b_3", "meta"}


def test_network_metadata_defaults_to_empty_and_accepts_str_paths(tmp_path):
    net = jrelu.init(jax.random.key(0), (2, 1))
    save_network(str(tmp_path / "n.npz"), net)
    assert load_network_metadata(str(tmp_path / "n.npz")) == {}
    _assert_same_network(load_network(str(tmp_path / "n.npz")), net)


def _freeze_clock(monkeypatch):
    """np.savez stamps each zip entry with the current time; fix it to compare bytes."""
    monkeypatch.setattr(time, "time", lambda: 1.7e9)


def _sha256(arrays):
    """The format-2 checksum, written out independently of jrelu.io: SHA-256 over each
    array but meta (sorted by name) of name, dtype.str, shape and bytes, each + NUL."""
    import hashlib

    h = hashlib.sha256()
    for name in sorted(n for n in arrays if n != "meta"):
        a = np.ascontiguousarray(arrays[name])
        for part in (name.encode(), a.dtype.str.encode(), repr(a.shape).encode(), a.tobytes()):
            h.update(part + b"\0")
    return "sha256:" + h.hexdigest()


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_network_file_is_the_0_1_format_plus_a_checksum_byte_for_byte(tmp_path, monkeypatch,
                                                                       dtype):
    # The 0.1 writer: np.savez of A_k, b_k and the JSON meta, in this order and wording;
    # format 2 is the same with version 2 and the arrays' checksum appended to meta.
    _freeze_clock(monkeypatch)
    net = jrelu.init(jax.random.key(1), (2, 3, 1), dtype=dtype)
    meta = {"format": "jrelu.network", "version": 1, "widths": [2, 3, 1],
            "dtype": str(jnp.dtype(dtype)), "metadata": {"a": [1, 2.5]}}
    arrays = {"A_1": np.asarray(net.layers[0][0]), "b_1": np.asarray(net.layers[0][1]),
              "A_2": np.asarray(net.layers[1][0]), "b_2": np.asarray(net.layers[1][1]),
              "meta": np.array(json.dumps(meta))}
    with open(tmp_path / "v1.npz", "wb") as f:  # a file written by jrelu 0.1 still loads
        np.savez(f, **arrays)
    _assert_same_network(load_network(tmp_path / "v1.npz"), net)
    assert load_network_metadata(tmp_path / "v1.npz") == {"a": [1, 2.5]}
    meta2 = {**meta, "version": 2, "checksum": _sha256(arrays)}
    with open(tmp_path / "ref.npz", "wb") as f:
        np.savez(f, **{**arrays, "meta": np.array(json.dumps(meta2))})
    save_network(tmp_path / "n.npz", net, metadata={"a": [1, 2.5]})
    assert (tmp_path / "n.npz").read_bytes() == (tmp_path / "ref.npz").read_bytes()


def test_load_network_rejects_other_files(tmp_path):
    np.savez(tmp_path / "x.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a jrelu.network file"):
        load_network(tmp_path / "x.npz")
    with pytest.raises(ValueError, match="not a jrelu.network file"):
        load_network_metadata(tmp_path / "x.npz")
    save_checkpoint(tmp_path / "c.npz", jrelu.init(jax.random.key(0), (2, 1)), opt_state=None,
                    step=0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="expected a jrelu.network file"):
        load_network(tmp_path / "c.npz")
    save_network(tmp_path / "n.npz", jrelu.init(jax.random.key(0), (2, 1)))
    with pytest.raises(ValueError, match="expected a jrelu.checkpoint file"):
        load_checkpoint(tmp_path / "n.npz")


def test_load_network_rejects_newer_versions_and_inconsistent_files(tmp_path):
    net = jrelu.init(jax.random.key(0), (2, 3, 1))
    meta = {"format": "jrelu.network", "version": 99, "widths": [2, 3, 1], "dtype": "float64",
            "metadata": {}}
    arrays = {f"{n}_{k}": np.asarray(a) for k, (A, b) in enumerate(net.layers, start=1)
              for n, a in (("A", A), ("b", b))}
    np.savez(tmp_path / "new.npz", **arrays, meta=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match="newer than this jrelu"):
        load_network(tmp_path / "new.npz")
    meta["version"], meta["widths"] = 1, [2, 4, 1]
    np.savez(tmp_path / "bad.npz", **arrays, meta=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match=r"stored widths \[2, 4, 1\] do not match"):
        load_network(tmp_path / "bad.npz")
    del arrays["b_2"]
    np.savez(tmp_path / "torn.npz", **arrays, meta=np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match="has A_2 but no b_2"):
        load_network(tmp_path / "torn.npz")


def test_save_network_checks_its_arguments(tmp_path):
    net = jrelu.init(jax.random.key(0), (2, 1))
    with pytest.raises(TypeError, match="^net must be a jrelu.Network"):
        save_network(tmp_path / "n.npz", [(np.ones((1, 2)), np.zeros(1))])
    with pytest.raises(TypeError, match="^metadata must be a dict"):
        save_network(tmp_path / "n.npz", net, metadata=["a"])
    with pytest.raises(TypeError, match="^metadata must be JSON-serializable"):
        save_network(tmp_path / "n.npz", net, metadata={"a": np.zeros(2)})
    with pytest.raises(TypeError, match="^path must be a str or os.PathLike"):
        save_network(3, net)
    with pytest.raises(TypeError, match="^path must be a str or os.PathLike"):
        load_network(None)
    with pytest.raises(TypeError):  # options are keyword-only
        save_network(tmp_path / "n.npz", net, {"a": 1})
    assert not (tmp_path / "n.npz").exists()


# -- checkpoints -------------------------------------------------------------------------------


def test_checkpoint_roundtrip_with_adam_state_and_typed_key(tmp_path):
    net = jrelu.init(jax.random.key(0), (2, 8, 1), dtype=jnp.float64)
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(optax.cosine_decay_schedule(
        1e-3, 100)))
    state = opt.init(net)
    grads = jax.tree_util.tree_map(jnp.ones_like, net)
    _, state = opt.update(grads, state, net)
    key = jax.random.fold_in(jax.random.key(7), 3)
    save_checkpoint(tmp_path / "c.npz", net, opt_state=state, step=17, key=key,
                    extra={"loss": np.arange(3.0)}, metadata={"fingerprint": "abc"})
    ck = load_checkpoint(tmp_path / "c.npz", opt_state_template=opt.init(net))
    assert isinstance(ck, Checkpoint)
    assert ck.step == 17 and ck.metadata == {"fingerprint": "abc"}
    _assert_same_network(ck.net, net)
    jax.tree_util.tree_map(np.testing.assert_array_equal, ck.opt_state, state)
    assert jax.tree_util.tree_structure(ck.opt_state) == jax.tree_util.tree_structure(state)
    np.testing.assert_array_equal(jax.random.key_data(ck.key), jax.random.key_data(key))
    np.testing.assert_array_equal(ck.extra["loss"], np.arange(3.0))
    with pytest.raises(ValueError, match="optimizer state has"):
        load_checkpoint(tmp_path / "c.npz", opt_state_template=optax.sgd(0.1).init(net))


def test_checkpoint_with_raw_key_and_no_optimizer_state(tmp_path):
    net = jrelu.init(jax.random.key(0), (3, 2), dtype=jnp.float32)
    raw = jax.random.PRNGKey(5)
    save_checkpoint(tmp_path / "c.npz", net, opt_state=None, step=np.int64(0), key=raw)
    ck = load_checkpoint(tmp_path / "c.npz")
    assert ck.step == 0 and ck.opt_state is None and ck.extra == {} and ck.metadata == {}
    assert ck.key.dtype == jnp.uint32
    np.testing.assert_array_equal(ck.key, raw)
    _assert_same_network(ck.net, net)


def test_checkpoint_template_with_other_shapes_is_refused(tmp_path):
    net = jrelu.init(jax.random.key(0), (2, 3, 1))
    opt = optax.adam(1e-3)
    save_checkpoint(tmp_path / "c.npz", net, opt_state=opt.init(net), step=1,
                    key=jax.random.key(0))
    other = jrelu.init(jax.random.key(0), (2, 4, 1))
    with pytest.raises(ValueError, match="optimizer state array 1 has shape"):
        load_checkpoint(tmp_path / "c.npz", opt_state_template=opt.init(other))
    with pytest.raises(TypeError):  # the template is keyword-only
        load_checkpoint(tmp_path / "c.npz", opt.init(net))


def test_checkpoint_is_frozen_and_to_dict_is_json(tmp_path):
    net = jrelu.init(jax.random.key(0), (2, 3, 1), dtype=jnp.float64)
    opt = optax.sgd(0.1, momentum=0.9)
    save_checkpoint(tmp_path / "c.npz", net, opt_state=opt.init(net), step=4,
                    key=jax.random.key(2), extra={"loss": np.array([0.25, 0.125])},
                    metadata={"k": [1, "v"]})
    ck = load_checkpoint(tmp_path / "c.npz", opt_state_template=opt.init(net))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ck.step = 5
    d = json.loads(json.dumps(ck.to_dict()))
    assert d["step"] == 4 and d["metadata"] == {"k": [1, "v"]}
    assert d["net"]["widths"] == [2, 3, 1] and d["net"]["dtype"] == "float64"
    np.testing.assert_array_equal(np.array(d["net"]["layers"][0]["A"]), net.layers[0][0])
    assert d["extra"] == {"loss": [0.25, 0.125]}
    assert len(d["opt_state"]) == len(jax.tree_util.tree_leaves(opt.init(net)))
    assert d["key"]["impl"] and d["key"]["data"] == jax.random.key_data(ck.key).tolist()


def test_checkpoint_file_is_the_0_1_format_plus_a_checksum_byte_for_byte(tmp_path,
                                                                          monkeypatch):
    _freeze_clock(monkeypatch)
    net = jrelu.init(jax.random.key(1), (2, 3, 1), dtype=jnp.float64)
    opt = optax.adam(1e-3)
    state = opt.init(net)
    key = jax.random.key(3)
    leaves = jax.tree_util.tree_leaves(state)
    arrays = {"net/A_1": np.asarray(net.layers[0][0]), "net/b_1": np.asarray(net.layers[0][1]),
              "net/A_2": np.asarray(net.layers[1][0]), "net/b_2": np.asarray(net.layers[1][1]),
              "key_data": np.asarray(jax.random.key_data(key)),
              "key_impl": np.array(str(jax.random.key_impl(key)))}
    arrays.update({f"opt/{i}": np.asarray(x) for i, x in enumerate(leaves)})
    arrays["extra/loss"] = np.arange(3.0)
    meta = {"format": "jrelu.checkpoint", "version": 1, "step": 17, "opt_leaves": len(leaves),
            "metadata": {"fingerprint": "abc"}}
    arrays["meta"] = np.array(json.dumps(meta))
    with open(tmp_path / "v1.npz", "wb") as f:  # a checkpoint written by jrelu 0.1 still loads
        np.savez(f, **arrays)
    old = load_checkpoint(tmp_path / "v1.npz", opt_state_template=state)
    assert old.step == 17 and old.metadata == {"fingerprint": "abc"}
    _assert_same_network(old.net, net)
    jax.tree_util.tree_map(np.testing.assert_array_equal, old.opt_state, state)
    arrays["meta"] = np.array(json.dumps({**meta, "version": 2, "checksum": _sha256(arrays)}))
    with open(tmp_path / "ref.npz", "wb") as f:
        np.savez(f, **arrays)
    save_checkpoint(tmp_path / "c.npz", net, opt_state=state, step=17, key=key,
                    extra={"loss": np.arange(3.0)}, metadata={"fingerprint": "abc"})
    assert (tmp_path / "c.npz").read_bytes() == (tmp_path / "ref.npz").read_bytes()


def test_save_checkpoint_checks_its_arguments(tmp_path):
    net = jrelu.init(jax.random.key(0), (2, 1))
    ok = {"opt_state": None, "step": 0, "key": jax.random.key(0)}
    path = tmp_path / "c.npz"
    with pytest.raises(ValueError, match="^step must be an integer >= 0"):
        save_checkpoint(path, net, **{**ok, "step": -1})
    with pytest.raises(TypeError, match="^step must be an integer"):
        save_checkpoint(path, net, **{**ok, "step": True})
    with pytest.raises(TypeError, match="^key must be a JAX PRNG key"):
        save_checkpoint(path, net, **{**ok, "key": 0})
    with pytest.raises(TypeError, match="^net must be a jrelu.Network"):
        save_checkpoint(path, "net", **ok)
    with pytest.raises(TypeError, match="^extra must have string names"):
        save_checkpoint(path, net, **ok, extra={1: np.zeros(2)})
    with pytest.raises(TypeError, match="^extra must be a dict"):
        save_checkpoint(path, net, **ok, extra=[np.zeros(2)])
    with pytest.raises(TypeError, match="^metadata must be JSON-serializable"):
        save_checkpoint(path, net, **ok, metadata={"f": object()})
    with pytest.raises(TypeError):  # options are keyword-only
        save_checkpoint(path, net, None, 0, jax.random.key(0))
    assert not path.exists()


# -- atomic_write ------------------------------------------------------------------------------


def test_atomic_write_creates_folders_and_writes_text_and_bytes(tmp_path):
    p = tmp_path / "a" / "b" / "f.txt"
    atomic_write(p, lambda f: f.write("é\n"), mode="w")
    assert p.read_text(encoding="utf-8") == "é\n"
    assert (os.stat(p).st_mode & 0o777) == 0o644
    atomic_write(p, lambda f: f.write(b"\x00\x01"))
    assert p.read_bytes() == b"\x00\x01"
    with pytest.raises(ValueError, match="^mode must be 'wb' or 'w'"):
        atomic_write(p, lambda f: None, mode="a")
    with pytest.raises(TypeError, match="^write must be callable"):
        atomic_write(p, "text")


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    p = tmp_path / "f.npz"
    net = jrelu.init(jax.random.key(0), (2, 1))
    save_network(p, net)
    before = p.read_bytes()

    def broken(f):
        f.write(b"partial")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(p, broken)
    assert p.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["f.npz"]  # no temporary file left behind
    assert zipfile.is_zipfile(p)


# -- damaged and foreign files: one ValueError naming the file, the file left as it was -------


def _net_file(tmp_path, name="n.npz"):
    path = tmp_path / name
    save_network(path, jrelu.init(jax.random.key(0), (2, 3, 1), dtype=jnp.float64),
                 metadata={"m": 1})
    return path


def _ckpt_file(tmp_path, name="c.npz"):
    path = tmp_path / name
    net = jrelu.init(jax.random.key(0), (2, 3, 1), dtype=jnp.float64)
    save_checkpoint(path, net, opt_state=optax.adam(1e-3).init(net), step=3,
                    key=jax.random.key(1), extra={"loss": np.arange(3.0)})
    return path


_LOADERS = [load_network, load_network_metadata,
            lambda p: load_checkpoint(p), lambda p: load_checkpoint(
                p, opt_state_template=optax.adam(1e-3).init(jrelu.init(jax.random.key(0),
                                                                       (2, 3, 1))))]


def _refused(path, loaders, *words):
    """Every loader raises one ValueError line naming the file and ``words``; no pickle hint;
    the file is byte-identical afterwards."""
    before, mtime = path.read_bytes(), os.stat(path).st_mtime_ns
    for load in loaders:
        with pytest.raises(ValueError) as e:
            load(path)
        msg = str(e.value)
        assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
        assert "pickle" not in msg.replace("pickled data", "") and "allow_pickle" not in msg
        for w in words:
            assert w in msg, msg
    assert path.read_bytes() == before and os.stat(path).st_mtime_ns == mtime


def test_garbage_empty_and_truncated_files_are_refused_naming_the_file(tmp_path):
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(np.random.default_rng(0).bytes(500))
    _refused(garbage, _LOADERS, "not a jrelu file", "not an .npz zip archive")
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    _refused(empty, _LOADERS, "empty file")
    npy = tmp_path / "array.npz"  # a .npy array saved under an .npz name
    np.save(open(npy, "wb"), np.zeros(3))
    _refused(npy, _LOADERS, "not a jrelu file")
    for src in (_net_file(tmp_path), _ckpt_file(tmp_path)):
        raw = src.read_bytes()
        for cut in (4, 40, len(raw) // 2, len(raw) - 30, len(raw) - 1):
            torn = tmp_path / f"torn{cut}.npz"
            torn.write_bytes(raw[:cut])
            _refused(torn, _LOADERS, "truncated or corrupt")


def test_npz_with_an_object_array_is_refused_without_the_pickle_hint(tmp_path):
    path = tmp_path / "obj.npz"
    meta = {"format": "jrelu.network", "version": 1, "widths": [1, 1], "dtype": "float64",
            "metadata": {}}
    np.savez(path, A_1=np.array([[1.0]]), b_1=np.array([object()], dtype=object),
             meta=np.array(json.dumps(meta)))
    _refused(path, [load_network, load_network_metadata], "'b_1' holds Python objects")
    flipped = tmp_path / "magic.npz"  # numpy reads a non-zip as a pickle: never offered here
    flipped.write_bytes(b"PK\x13\x04" + _net_file(tmp_path).read_bytes()[4:])
    _refused(flipped, _LOADERS, "not a jrelu file")


def test_wrong_format_versions_and_bad_meta_are_refused(tmp_path):
    net = jrelu.init(jax.random.key(0), (2, 1))
    arrays = {"A_1": np.asarray(net.layers[0][0]), "b_1": np.asarray(net.layers[0][1])}
    meta = {"format": "jrelu.network", "widths": [2, 1], "dtype": "float32", "metadata": {}}
    cases = [({**meta, "version": 0}, "unknown format version 0"),
             ({**meta, "version": "2"}, "unknown format version '2'"),
             ({**meta, "version": True}, "unknown format version True"),
             (meta, "unknown format version None"),
             ({**meta, "version": 3}, "file version 3 is newer than this jrelu supports (2)"),
             ({**meta, "version": 2}, "without a checksum"),
             ({**meta, "version": 2, "checksum": "sha256:00"}, "checksum mismatch"),
             ({**meta, "version": 1, "widths": "2,1"}, "no valid 'widths' entry"),
             ([1, 2], "'meta' is not a JSON object")]
    for i, (m, words) in enumerate(cases):
        path = tmp_path / f"v{i}.npz"
        np.savez(path, **arrays, meta=np.array(json.dumps(m)))
        _refused(path, [load_network, load_network_metadata], words)
    path = tmp_path / "notjson.npz"
    np.savez(path, **arrays, meta=np.array("{not json"))
    _refused(path, [load_network], "'meta' is not a JSON object")
    path = tmp_path / "badlayer.npz"  # a version-1 file whose arrays are no network
    np.savez(path, A_1=np.zeros(3), b_1=np.zeros(3),
             meta=np.array(json.dumps({**meta, "version": 1, "widths": [3, 3]})))
    _refused(path, [load_network], "layer 1", "is not a layer of a network")


def test_checksum_catches_a_flipped_bit_that_the_zip_crc_does_not(tmp_path):
    for src in (_net_file(tmp_path), _ckpt_file(tmp_path)):
        with np.load(src, allow_pickle=False) as f:
            arrays = {n: f[n] for n in f.files}
        name = "A_1" if "A_1" in arrays else "net/A_1"
        flipped = arrays[name].copy()
        flipped.view(np.uint64)[1, 0] ^= np.uint64(1) << np.uint64(17)  # one mantissa bit
        bad = tmp_path / f"flip-{src.name}"
        with open(bad, "wb") as f:  # a fresh zip: its CRCs are right for the changed bytes
            np.savez(f, **{**arrays, name: flipped})
        with zipfile.ZipFile(bad) as z:
            assert z.testzip() is None  # the zip layer sees nothing wrong
        loaders = _LOADERS[:2] if src.name == "n.npz" else _LOADERS[2:]
        _refused(bad, loaders, "checksum mismatch")
        # the same file with its entries intact loads
        with open(tmp_path / "same.npz", "wb") as f:
            np.savez(f, **arrays)
        loaders[0](tmp_path / "same.npz")


def test_every_single_byte_flip_is_refused_or_harmless(tmp_path):
    """Flip one bit in every third byte of a network file: the load raises one ValueError naming the
    file, or (a flip in a zip timestamp or padding) returns the very same network."""
    src = _net_file(tmp_path)
    net, raw = load_network(src), bytearray(src.read_bytes())
    refused = 0
    bad = tmp_path / "bad.npz"
    positions = range(0, len(raw), 3)  # every third byte: headers, data, meta, directory
    for i in positions:
        raw[i] ^= 0x10
        bad.write_bytes(bytes(raw))
        raw[i] ^= 0x10
        try:
            back = load_network(bad)
        except ValueError as e:
            msg = str(e)
            assert msg.startswith(f"{bad}: ") and "\n" not in msg, msg
            assert "allow_pickle" not in msg and "pickle.load" not in msg, msg
            refused += 1
        else:
            _assert_same_network(back, net)
    assert refused > 0.8 * len(positions), (refused, len(positions))


_KILL_MID_WRITE = """
import os, signal, sys, time
import jax
import jrelu
from jrelu.io import atomic_write, save_checkpoint
path, flag = sys.argv[1], sys.argv[2]
net = jrelu.init(jax.random.key(0), (2, 3, 1))
def write(f):
    f.write(b"PK\\x03\\x04 half a new checkpoint")
    f.flush()
    open(flag, "w").close()
    time.sleep(60)
atomic_write(path, write)
"""


def test_a_process_killed_while_writing_keeps_the_old_checkpoint(tmp_path):
    import signal
    import subprocess
    import sys

    path = _ckpt_file(tmp_path)
    before = path.read_bytes()
    flag = tmp_path / "writing"
    proc = subprocess.Popen([sys.executable, "-c", _KILL_MID_WRITE, str(path), str(flag)],
                            env={**os.environ, "JAX_PLATFORMS": "cpu"})
    try:
        deadline = time.time() + 120
        while not flag.exists() and proc.poll() is None and time.time() < deadline:
            time.sleep(0.01)
        assert flag.exists(), "the writer never started"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert path.read_bytes() == before
    assert load_checkpoint(path).step == 3
    # the killed writer's temporary file is left (no handler runs on SIGKILL), beside it
    assert {p.name for p in tmp_path.iterdir()} - {"c.npz", "writing"} <= {
        p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")}


# -- averaging networks (jrelu.pde.AveragingNetwork) ---------------------------------------


def _avg(dtype=jnp.float64, members=2):
    from jrelu import pde

    base = pde.ensemble_average(pde.ensemble_init(jax.random.key(0), (3, 4, 1), members=members,
                                                  dtype=dtype), members=members)
    s, c = pde.path_maps(pde.HeatSquare(dim=3), 6, key=jax.random.key(1), dtype=dtype,
                         antithetic=True)
    return pde.AveragingNetwork(base, s, c, members=members)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_averaging_network_round_trip_is_exact_and_structured(tmp_path, dtype):
    from jrelu.io import load_averaging_network, save_averaging_network

    avg = _avg(dtype)
    path = tmp_path / "avg.npz"
    save_averaging_network(path, avg, metadata={"tau": 0.03})
    back = load_averaging_network(path)
    assert type(back) is type(avg) and back.members == 2 and back.num_paths == 6
    assert back.unit_scales and back.dtype == avg.dtype
    for a, b in zip(jax.tree.leaves(avg), jax.tree.leaves(back)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert load_network_metadata(path) == {"tau": 0.03}
    with np.load(path) as f:  # structured: the base and the maps, never the dense matrices
        assert sorted(f.files) == ["base/A_1", "base/A_2", "base/b_1", "base/b_2", "meta",
                                   "scales", "shifts"]
    # save_network writes an averaging network in the same format (jrelu run's network.npz)
    save_network(tmp_path / "net.npz", avg, metadata={"tau": 0.03})
    assert (tmp_path / "net.npz").read_bytes() == path.read_bytes()


def test_averaging_network_files_are_checked_and_named(tmp_path):
    from jrelu.io import load_averaging_network, save_averaging_network

    path = tmp_path / "avg.npz"
    save_averaging_network(path, _avg())
    _refused(path, [load_network], "jrelu.averaging_network",
             "load it with jrelu.io.load_averaging_network")
    plain = tmp_path / "plain.npz"
    save_network(plain, jrelu.init(jax.random.key(0), (3, 2, 1)))
    _refused(plain, [load_averaging_network], "load it with jrelu.io.load_network")
    with np.load(path, allow_pickle=False) as f:
        arrays = {n: f[n] for n in f.files}
    for name in ("shifts", "base/A_1"):
        flipped = arrays[name].copy()
        flipped.view(np.uint64).reshape(-1)[3] ^= np.uint64(1) << np.uint64(9)
        bad = tmp_path / f"flip-{name.replace('/', '_')}.npz"
        with open(bad, "wb") as f:
            np.savez(f, **{**arrays, name: flipped})
        _refused(bad, [load_averaging_network, load_network_metadata], "checksum mismatch")
    torn = tmp_path / "torn.npz"
    torn.write_bytes(path.read_bytes()[:200])
    _refused(torn, [load_averaging_network], "truncated or corrupt")
    with pytest.raises(TypeError, match="avg must be a jrelu.pde.AveragingNetwork"):
        save_averaging_network(tmp_path / "x.npz", jrelu.init(jax.random.key(0), (3, 1)))
