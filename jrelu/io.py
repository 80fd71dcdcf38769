r"""Saving and loading networks and training checkpoints as ``.npz`` (no pickle).

A network file holds ``A_1, b_1, ..., A_L, b_L`` (the layers of MATH.md §1, 1-based as in
the math) and a JSON ``meta`` string (format name and version, widths, dtype, and any user
metadata). A checkpoint holds a network, an optimizer state (the leaves of the optax state
pytree, in ``jax.tree_util`` order; the structure comes from a template state on load), the
step, the PRNG key and named extra arrays.

Files are written atomically (to a temporary file in the same folder, then renamed), so an
interrupted process leaves either the previous file or the new one, never a torn file.
Loading uses ``numpy.load(..., allow_pickle=False)``.
"""

from __future__ import annotations

import json
import os
import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from .network import Network

__all__ = [
    "save_network", "load_network", "save_checkpoint", "load_checkpoint", "atomic_write"]

_NET_FORMAT = "jrelu.network"
_CKPT_FORMAT = "jrelu.checkpoint"
_VERSION = 1


def atomic_write(path, write, *, mode: str = "wb") -> None:
    """Write a file atomically: ``write(f)`` fills a temporary file beside ``path``.

    The temporary file is flushed, synced to disk and renamed over ``path``
    (``os.replace``), so a reader, or a process killed midway, sees either the previous
    file or the complete new one, never a torn file. The parent folder is created if
    needed; the file gets mode 0o644.

    Args:
      path: the destination (``str`` or ``os.PathLike``).
      write: a callable taking the open file object.
      mode: ``"wb"`` (bytes) or ``"w"`` (text, UTF-8).

    Raises:
      ValueError: ``mode`` is neither ``"wb"`` nor ``"w"``.
      OSError: the folder cannot be created or written.

    Example:
      >>> import os, tempfile
      >>> p = os.path.join(tempfile.mkdtemp(), "hello.txt")
      >>> atomic_write(p, lambda f: f.write("hi\\n"), mode="w")
      >>> open(p).read()
      'hi\\n'
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)
    try:
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these are ordinary files
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _atomic_savez(path, arrays: dict) -> None:
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _network_arrays(net: Network, prefix: str = "") -> dict:
    if not isinstance(net, Network):
        raise TypeError(f"expected a jrelu.Network, got {type(net).__name__}")
    out = {}
    for k, (A, b) in enumerate(net.layers, start=1):
        out[f"{prefix}A_{k}"] = np.asarray(A)
        out[f"{prefix}b_{k}"] = np.asarray(b)
    return out


def _read_network(data, prefix: str, path) -> Network:
    layers, k = [], 1
    while f"{prefix}A_{k}" in data:
        if f"{prefix}b_{k}" not in data:
            raise ValueError(f"{path}: has {prefix}A_{k} but no {prefix}b_{k}")
        layers.append((jnp.asarray(data[f"{prefix}A_{k}"]), jnp.asarray(data[f"{prefix}b_{k}"])))
        k += 1
    if not layers:
        raise ValueError(f"{path}: no network layers ({prefix}A_1, {prefix}b_1, ...) found")
    return Network(layers)


def _meta(data, path, fmt):
    if "meta" not in data:
        raise ValueError(f"{path}: not a {fmt} file (no 'meta' entry)")
    meta = json.loads(str(data["meta"]))
    if meta.get("format") != fmt:
        raise ValueError(f"{path}: expected a {fmt} file, found format {meta.get('format')!r}")
    if meta.get("version", 0) > _VERSION:
        raise ValueError(f"{path}: file version {meta['version']} is newer than this jrelu "
                         f"supports ({_VERSION})")
    return meta


def save_network(path, net: Network, metadata: dict | None = None) -> None:
    """Write ``net`` to ``path`` (``.npz``): arrays ``A_k``, ``b_k`` and a JSON ``meta``.

    ``metadata`` must be JSON-serializable; it is returned by :func:`load_network` with
    ``with_metadata=True``.
    """
    meta = {"format": _NET_FORMAT, "version": _VERSION, "widths": list(net.widths),
            "dtype": str(net.dtype), "metadata": metadata or {}}
    _atomic_savez(path, {**_network_arrays(net), "meta": np.array(json.dumps(meta))})


def load_network(path, with_metadata: bool = False):
    """Read a network written by :func:`save_network` (dtypes are kept as stored).

    Returns the :class:`~jrelu.Network`, or ``(network, metadata)`` with ``with_metadata``.
    """
    with np.load(path, allow_pickle=False) as data:
        meta = _meta(data, path, _NET_FORMAT)
        net = _read_network(data, "", path)
    if list(net.widths) != meta["widths"]:
        raise ValueError(f"{path}: stored widths {meta['widths']} do not match the arrays "
                         f"{list(net.widths)}")
    return (net, meta["metadata"]) if with_metadata else net


def _key_arrays(key) -> dict:
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        impl = str(jax.random.key_impl(key))
        return {"key_data": np.asarray(jax.random.key_data(key)), "key_impl": np.array(impl)}
    return {"key_data": np.asarray(key), "key_impl": np.array("")}


def _restore_key(data):
    impl = str(data["key_impl"])
    raw = jnp.asarray(data["key_data"])
    return jax.random.wrap_key_data(raw, impl=impl) if impl else raw


def save_checkpoint(path, net: Network, opt_state, step: int, key, extra: dict | None = None,
                    metadata: dict | None = None) -> None:
    """Write a training checkpoint atomically.

    Args:
      path: the ``.npz`` file.
      net: the current network.
      opt_state: the optax state (any pytree of arrays; may be ``None``).
      step: the number of completed steps.
      key: the PRNG key of the run (typed ``jax.random.key`` or raw ``PRNGKey``).
      extra: named arrays to keep (e.g. the loss history so far).
      metadata: JSON-serializable data (e.g. a hash of the config).
    """
    leaves = jax.tree_util.tree_leaves(opt_state)
    arrays = {**_network_arrays(net, "net/"), **_key_arrays(key)}
    for i, leaf in enumerate(leaves):
        arrays[f"opt/{i}"] = np.asarray(leaf)
    for name, value in (extra or {}).items():
        arrays[f"extra/{name}"] = np.asarray(value)
    meta = {"format": _CKPT_FORMAT, "version": _VERSION, "step": int(step),
            "opt_leaves": len(leaves), "metadata": metadata or {}}
    arrays["meta"] = np.array(json.dumps(meta))
    _atomic_savez(path, arrays)


def load_checkpoint(path, opt_state_template=None) -> dict:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Args:
      path: the ``.npz`` file.
      opt_state_template: an optimizer state with the structure of the saved one (e.g.
        ``optimizer.init(net)``); its leaves' shapes and dtypes must match the stored ones.

    Returns:
      a dict with ``net``, ``opt_state`` (None without a template), ``step``, ``key``,
      ``extra`` (dict of NumPy arrays) and ``metadata``.
    """
    with np.load(path, allow_pickle=False) as data:
        meta = _meta(data, path, _CKPT_FORMAT)
        net = _read_network(data, "net/", path)
        key = _restore_key(data)
        leaves = [data[f"opt/{i}"] for i in range(meta["opt_leaves"])]
        extra = {name[len("extra/"):]: np.array(data[name]) for name in data.files
                 if name.startswith("extra/")}
    opt_state = None
    if opt_state_template is not None:
        tmpl_leaves, treedef = jax.tree_util.tree_flatten(opt_state_template)
        if len(tmpl_leaves) != len(leaves):
            raise ValueError(f"{path}: optimizer state has {len(leaves)} arrays, the template "
                             f"has {len(tmpl_leaves)}; was it saved with another optimizer?")
        restored = []
        for i, (t, s) in enumerate(zip(tmpl_leaves, leaves)):
            t = jnp.asarray(t)
            if t.shape != s.shape or t.dtype != s.dtype:
                raise ValueError(f"{path}: optimizer state array {i} has shape {s.shape} and "
                                 f"dtype {s.dtype}, the template has {t.shape} and {t.dtype}")
            restored.append(jnp.asarray(s))
        opt_state = jax.tree_util.tree_unflatten(treedef, restored)
    return {"net": net, "opt_state": opt_state, "step": meta["step"], "key": key,
            "extra": extra, "metadata": meta["metadata"]}
