r"""Saving and loading networks and training checkpoints as ``.npz`` files (no pickle).

A network :math:`\Phi=((A_1,b_1),\dots,(A_L,b_L))` with
:math:`A_k\in\mathbb R^{N_k\times N_{k-1}}` and :math:`b_k\in\mathbb R^{N_k}` is stored as
the arrays ``A_1, b_1, ..., A_L, b_L`` (1-based, as in the mathematics) and a JSON string
``meta`` (format name and version, widths, dtype, and the user's metadata). A checkpoint
holds a network (arrays ``net/A_k``, ``net/b_k``), an optimizer state (the leaves of the
optax state pytree, in ``jax.tree_util`` order; the structure comes from a template state on
load), the step, the PRNG key and named extra arrays.

Every file is written through :func:`atomic_write` (to a temporary file in the same folder,
then renamed), so an interrupted process leaves either the previous file or the new one,
never a torn file. Loading uses ``numpy.load(..., allow_pickle=False)``. Arrays are stored
and restored bit for bit, in their own dtype.

Example:
  >>> import os, tempfile
  >>> net = jrelu.init(jax.random.key(0), (2, 4, 1))
  >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
  >>> jrelu.io.save_network(path, net, metadata={"note": "demo"})
  >>> back = jrelu.io.load_network(path)
  >>> back.widths, bool(jnp.all(back.layers[0][0] == net.layers[0][0]))
  ((2, 4, 1), True)
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from typing import IO, Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .network import Network

__all__ = [
    "Checkpoint", "atomic_write", "load_checkpoint", "load_network", "load_network_metadata",
    "save_checkpoint", "save_network"]

_NET_FORMAT = "jrelu.network"
_CKPT_FORMAT = "jrelu.checkpoint"
_VERSION = 1


def atomic_write(path: str | os.PathLike, write: Callable[[IO], Any], *,
                 mode: str = "wb") -> None:
    r"""Write a file atomically: ``write(f)`` fills a temporary file beside ``path``.

    The temporary file is flushed, synced to disk and renamed over ``path``
    (``os.replace``), so a reader, or a process killed midway, sees either the previous
    file or the complete new one, never a torn file: at every instant the content of
    ``path`` is :math:`c_{\mathrm{old}}` or :math:`c_{\mathrm{new}}`. The parent folder is
    created if needed; the file gets mode 0o644. This is the only function of jrelu that
    writes files.

    Args:
      path: the destination (``str`` or ``os.PathLike``).
      write: a callable taking the open file object and filling it.
      mode: ``"wb"`` (bytes) or ``"w"`` (text, UTF-8).

    Returns:
      None.

    Raises:
      TypeError: ``path`` is not a ``str`` or ``os.PathLike``, or ``write`` is not callable.
      ValueError: ``mode`` is neither ``"wb"`` nor ``"w"``.
      OSError: the folder cannot be created or written (the temporary file is removed).

    Example:
      >>> import os, tempfile
      >>> p = os.path.join(tempfile.mkdtemp(), "hello.txt")
      >>> jrelu.io.atomic_write(p, lambda f: f.write("hi\n"), mode="w")
      >>> open(p).read()
      'hi\n'
    """
    path = _fspath(path)
    _checks.callable_("write", write)
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
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


# -- argument checks (io-specific; the shared ones come from _checks) ----------------------


def _fspath(path) -> str:
    if isinstance(path, bool) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}: "
                        f"{path!r:.80}")
    out = os.fspath(path)
    if not isinstance(out, str):
        raise TypeError(f"path must be a str or os.PathLike of str, got {out!r:.80}")
    return out


def _metadata(metadata) -> dict:
    """The user's metadata as it will be stored (``{}`` for None), checked JSON-serializable."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict (JSON-serializable) or None, got "
                        f"{type(metadata).__name__}: {metadata!r:.80}")
    try:
        json.dumps(metadata)
    except (TypeError, ValueError) as e:
        raise TypeError(f"metadata must be JSON-serializable: {e}") from None
    return metadata or {}


# -- file layout -----------------------------------------------------------------------------


def _atomic_savez(path, arrays: dict) -> None:
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _network_arrays(net: Network, prefix: str = "") -> dict:
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


# -- networks --------------------------------------------------------------------------------


def save_network(path: str | os.PathLike, net: Network, *,
                 metadata: Mapping[str, Any] | None = None) -> None:
    r"""Write ``net`` to ``path`` (``.npz``): the arrays ``A_k``, ``b_k`` and a JSON ``meta``.

    For :math:`\Phi=((A_1,b_1),\dots,(A_L,b_L))` the file holds the entries
    ``A_k`` (shape :math:`(N_k, N_{k-1})`) and ``b_k`` (shape :math:`(N_k,)`) for
    :math:`k=1,\dots,L`, stored bit for bit in the network's dtype, and ``meta``: a JSON
    object with the format name, its version, the widths :math:`(N_0,\dots,N_L)`, the dtype
    and ``metadata``. The file is written atomically (:func:`atomic_write`).

    Args:
      path: the destination file (``str`` or ``os.PathLike``; ``.npz`` by convention).
      net: the network to save.
      metadata: the user's JSON-serializable data (e.g. how the network was trained);
        read back with :func:`load_network_metadata`.

    Returns:
      None.

    Raises:
      TypeError: ``path`` is not a path, ``net`` is not a :class:`jrelu.Network`, or
        ``metadata`` is not a JSON-serializable dict.
      OSError: the file cannot be written.

    Example:
      >>> import os, tempfile
      >>> net = jrelu.init(jax.random.key(0), (3, 5, 1))
      >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
      >>> jrelu.io.save_network(path, net, metadata={"steps": 100})
      >>> sorted(np.load(path).files)
      ['A_1', 'A_2', 'b_1', 'b_2', 'meta']
    """
    path = _fspath(path)
    _checks.network("net", net)
    user = _metadata(metadata)
    meta = {"format": _NET_FORMAT, "version": _VERSION, "widths": list(net.widths),
            "dtype": str(net.dtype), "metadata": user}
    _atomic_savez(path, {**_network_arrays(net), "meta": np.array(json.dumps(meta))})


def load_network(path: str | os.PathLike) -> Network:
    r"""Read a network written by :func:`save_network`.

    Returns :math:`\Phi=((A_1,b_1),\dots,(A_L,b_L))` with every array exactly as stored
    (same bits, same dtype; a float64 file needs ``jax_enable_x64`` to stay float64).

    Args:
      path: a file written by :func:`save_network`.

    Returns:
      the :class:`jrelu.Network`.

    Raises:
      TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
      ValueError: the file is not a jrelu network file (e.g. a checkpoint), was written by
        a newer jrelu, or its arrays do not match its stored widths.
      OSError: the file cannot be read.

    Example:
      >>> import os, tempfile
      >>> net = jrelu.init(jax.random.key(0), (3, 5, 1))
      >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
      >>> jrelu.io.save_network(path, net)
      >>> back = jrelu.io.load_network(path)
      >>> back.widths, back.dtype == net.dtype
      ((3, 5, 1), True)
      >>> bool(jnp.all(jrelu.flatten(back) == jrelu.flatten(net)))
      True
    """
    path = _fspath(path)
    with np.load(path, allow_pickle=False) as data:
        meta = _meta(data, path, _NET_FORMAT)
        net = _read_network(data, "", path)
    if list(net.widths) != meta["widths"]:
        raise ValueError(f"{path}: stored widths {meta['widths']} do not match the arrays "
                         f"{list(net.widths)}")
    return net


def load_network_metadata(path: str | os.PathLike) -> dict:
    r"""Read the user's metadata of a network file, as given to :func:`save_network`.

    Only the JSON entry ``meta`` is read (not the arrays). The result is the user's own data
    (a ``dict`` parsed from JSON, ``{}`` if none was saved), not a jrelu result type.

    Args:
      path: a file written by :func:`save_network`.

    Returns:
      the ``metadata`` dict passed to :func:`save_network` (after a JSON round trip).

    Raises:
      TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
      ValueError: the file is not a jrelu network file or was written by a newer jrelu.
      OSError: the file cannot be read.

    Example:
      >>> import os, tempfile
      >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
      >>> net = jrelu.init(jax.random.key(0), (2, 1))
      >>> jrelu.io.save_network(path, net, metadata={"note": "x", "steps": 3})
      >>> jrelu.io.load_network_metadata(path)
      {'note': 'x', 'steps': 3}
    """
    path = _fspath(path)
    with np.load(path, allow_pickle=False) as data:
        meta = _meta(data, path, _NET_FORMAT)
    return meta["metadata"]


# -- checkpoints -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    r"""A training checkpoint read by :func:`load_checkpoint`.

    Attributes:
      net: the network :math:`\Phi` at step ``step``.
      opt_state: the optimizer state (the template's pytree structure with the stored
        leaves), or None if :func:`load_checkpoint` got no template.
      step: the number of completed training steps.
      key: the PRNG key of the run (typed if it was saved typed, raw ``uint32`` otherwise).
      extra: the named extra arrays (NumPy arrays, e.g. the loss history).
      metadata: the user's JSON metadata (e.g. a hash of the config).

    Example:
      >>> import os, tempfile
      >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
      >>> net = jrelu.init(jax.random.key(0), (2, 3, 1))
      >>> jrelu.io.save_checkpoint(path, net, opt_state=None, step=5, key=jax.random.key(1))
      >>> ck = jrelu.io.load_checkpoint(path)
      >>> ck.step, ck.net.widths, ck.opt_state is None
      (5, (2, 3, 1), True)
    """

    net: Network
    opt_state: Any
    step: int
    key: jax.Array
    extra: dict[str, np.ndarray]
    metadata: dict

    def to_dict(self) -> dict:
        r"""The checkpoint as JSON-able data (nested lists of numbers).

        The network becomes ``{"widths", "dtype", "layers": [{"A", "b"}, ...]}``, the key
        ``{"impl", "data"}`` (``impl`` is ``""`` for a raw ``uint32`` key), the optimizer
        state the list of its leaves in ``jax.tree_util`` order (None without one), and
        ``extra`` a dict of lists. Floats are Python floats, so ``json.dumps`` of the
        result round-trips them exactly.

        Returns:
          a ``dict`` with the keys ``step``, ``net``, ``opt_state``, ``key``, ``extra``
          and ``metadata``.

        Example:
          >>> import os, tempfile
          >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
          >>> net = jrelu.init(jax.random.key(0), (2, 1))
          >>> jrelu.io.save_checkpoint(path, net, opt_state=None, step=1,
          ...                          key=jax.random.key(0), extra={"loss": [0.5]})
          >>> d = jrelu.io.load_checkpoint(path).to_dict()
          >>> d["step"], d["net"]["widths"], d["extra"]
          (1, [2, 1], {'loss': [0.5]})
        """
        key = self.key
        if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
            impl, data = str(jax.random.key_impl(key)), jax.random.key_data(key)
        else:
            impl, data = "", key
        leaves = (None if self.opt_state is None else
                  [np.asarray(x).tolist() for x in jax.tree_util.tree_leaves(self.opt_state)])
        return {
            "step": self.step,
            "net": {"widths": list(self.net.widths), "dtype": str(self.net.dtype),
                    "layers": [{"A": np.asarray(A).tolist(), "b": np.asarray(b).tolist()}
                               for A, b in self.net.layers]},
            "opt_state": leaves,
            "key": {"impl": impl, "data": np.asarray(data).tolist()},
            "extra": {name: np.asarray(v).tolist() for name, v in self.extra.items()},
            "metadata": self.metadata,
        }


def save_checkpoint(path: str | os.PathLike, net: Network, *, opt_state: Any, step: int,
                    key: jax.Array, extra: Mapping[str, jax.typing.ArrayLike] | None = None,
                    metadata: Mapping[str, Any] | None = None) -> None:
    r"""Write a training checkpoint atomically: network, optimizer state, step, key, extras.

    The file holds ``net/A_k``, ``net/b_k`` (the layers of :math:`\Phi`), ``opt/i`` (the
    i-th leaf of ``opt_state`` in ``jax.tree_util`` order), ``key_data`` and ``key_impl``,
    ``extra/<name>`` for each extra array and a JSON ``meta`` (format, version, step, number
    of optimizer leaves, ``metadata``). Arrays are stored bit for bit.

    Args:
      path: the destination file (``str`` or ``os.PathLike``; ``.npz`` by convention).
      net: the current network.
      opt_state: the optax state (any pytree of arrays), or None.
      step: the number of completed steps, an integer >= 0.
      key: the PRNG key of the run (typed ``jax.random.key`` or raw ``PRNGKey``).
      extra: named arrays to keep (e.g. the loss history so far); names are strings.
      metadata: the user's JSON-serializable data (e.g. a hash of the config).

    Returns:
      None.

    Raises:
      TypeError: ``path`` is not a path, ``net`` is not a :class:`jrelu.Network`, ``step``
        is not an integer, ``key`` is not a PRNG key, ``extra`` is not a dict with string
        names, or ``metadata`` is not a JSON-serializable dict.
      ValueError: ``step`` is negative.
      OSError: the file cannot be written.

    Example:
      >>> import os, tempfile, optax
      >>> net = jrelu.init(jax.random.key(0), (2, 3, 1))
      >>> opt = optax.adam(1e-3)
      >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
      >>> jrelu.io.save_checkpoint(path, net, opt_state=opt.init(net), step=10,
      ...                          key=jax.random.key(1), extra={"loss": np.zeros(10)},
      ...                          metadata={"run": "demo"})
      >>> ck = jrelu.io.load_checkpoint(path, opt_state_template=opt.init(net))
      >>> ck.step, ck.metadata, ck.extra["loss"].shape
      (10, {'run': 'demo'}, (10,))
    """
    path = _fspath(path)
    _checks.network("net", net)
    step = _checks.integer("step", step, min=0)
    _checks.prng_key("key", key)
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise TypeError(f"extra must be a dict of named arrays or None, got "
                            f"{type(extra).__name__}: {extra!r:.80}")
        for name in extra:
            if not isinstance(name, str):
                raise TypeError(f"extra must have string names, got {type(name).__name__}: "
                                f"{name!r:.80}")
    user = _metadata(metadata)
    leaves = jax.tree_util.tree_leaves(opt_state)
    arrays = {**_network_arrays(net, "net/"), **_key_arrays(key)}
    for i, leaf in enumerate(leaves):
        arrays[f"opt/{i}"] = np.asarray(leaf)
    for name, value in (extra or {}).items():
        arrays[f"extra/{name}"] = np.asarray(value)
    meta = {"format": _CKPT_FORMAT, "version": _VERSION, "step": step,
            "opt_leaves": len(leaves), "metadata": user}
    arrays["meta"] = np.array(json.dumps(meta))
    _atomic_savez(path, arrays)


def load_checkpoint(path: str | os.PathLike, *, opt_state_template: Any = None) -> Checkpoint:
    r"""Read a checkpoint written by :func:`save_checkpoint`.

    The optimizer state is rebuilt as the pytree of ``opt_state_template`` with the stored
    leaves :math:`s_0,s_1,\dots` in ``jax.tree_util`` order; each stored leaf must have the
    template leaf's shape and dtype. Every array is restored bit for bit.

    Args:
      path: a file written by :func:`save_checkpoint`.
      opt_state_template: an optimizer state with the structure of the saved one (e.g.
        ``optimizer.init(net)``), or None to skip the optimizer state.

    Returns:
      a :class:`Checkpoint` (``net``, ``opt_state`` (None without a template), ``step``,
      ``key``, ``extra``, ``metadata``).

    Raises:
      TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
      ValueError: the file is not a jrelu checkpoint (e.g. a network file), was written by a
        newer jrelu, or the template does not match the stored optimizer state (number of
        leaves, shapes or dtypes).
      OSError: the file cannot be read.

    Example:
      >>> import os, tempfile, optax
      >>> net = jrelu.init(jax.random.key(0), (2, 3, 1))
      >>> opt = optax.sgd(0.1)
      >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
      >>> jrelu.io.save_checkpoint(path, net, opt_state=opt.init(net), step=3,
      ...                          key=jax.random.key(7))
      >>> ck = jrelu.io.load_checkpoint(path, opt_state_template=opt.init(net))
      >>> ck.step, ck.net.widths
      (3, (2, 3, 1))
      >>> jax.random.key_data(ck.key).tolist() == jax.random.key_data(jax.random.key(7)).tolist()
      True
    """
    path = _fspath(path)
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
    return Checkpoint(net=net, opt_state=opt_state, step=meta["step"], key=key, extra=extra,
                      metadata=meta["metadata"])
