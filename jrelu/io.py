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

Format version 2 (this jrelu) adds to ``meta`` a ``checksum``: SHA-256 over every array's
name, dtype, shape and bytes, so a changed bit in the data is detected even where the zip
archive's own CRC does not catch it (e.g. a file rewritten by other tools). Version-1 files
(jrelu 0.1, no checksum) still load. Every loader checks the file before using it and
reports any defect as one ``ValueError`` that starts with the file's path and says what is
wrong: not a jrelu file (empty, not a zip archive, no ``meta``, pickled objects), a
truncated or corrupt archive, a checksum mismatch, or an unknown or newer format version.
Loading never changes the file.

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
import hashlib
import io
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
    "Checkpoint", "atomic_write", "load_averaging_network", "load_checkpoint", "load_network",
    "load_network_metadata", "save_averaging_network", "save_checkpoint", "save_network"]

_NET_FORMAT = "jrelu.network"
_AVG_FORMAT = "jrelu.averaging_network"
_CKPT_FORMAT = "jrelu.checkpoint"
_VERSION = 2  # 2: meta carries a SHA-256 checksum of the arrays; 1 (jrelu 0.1): none
_CHECKSUM = "sha256"


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


def _checksum(arrays: Mapping[str, np.ndarray]) -> str:
    r"""The checksum stored in a jrelu file: SHA-256 over every array but ``meta``.

    The arrays are taken in sorted name order; for each, the hash is fed its name, its
    dtype (``dtype.str``, e.g. ``'<f8'``), its shape and its bytes (C order), each field
    followed by a NUL byte. So a changed bit in any array, a renamed, added or removed
    array, or a changed dtype or shape changes the checksum.

    Args:
      arrays: the file's arrays by name (``meta`` is ignored).

    Returns:
      ``"sha256:"`` followed by 64 hexadecimal digits.

    Example:
      >>> c = _checksum({"A_1": np.zeros((2, 2)), "b_1": np.zeros(2)})
      >>> c.startswith("sha256:"), len(c)
      (True, 71)
    """
    h = hashlib.sha256()
    for name in sorted(arrays):
        if name == "meta":
            continue
        a = np.ascontiguousarray(arrays[name])
        for part in (name.encode(), a.dtype.str.encode(), repr(a.shape).encode(), a.tobytes()):
            h.update(part)
            h.update(b"\0")
    return f"{_CHECKSUM}:{h.hexdigest()}"


def _atomic_savez(path, arrays: dict, meta: dict) -> None:
    """Write ``arrays`` and the JSON ``meta`` (plus the arrays' checksum) atomically."""
    meta = {**meta, "checksum": _checksum(arrays)}
    arrays = {**arrays, "meta": np.array(json.dumps(meta))}
    atomic_write(path, lambda f: np.savez(f, **arrays))


class _FormatError(ValueError):
    """A file that is not a readable jrelu file (re-raised with the path by :func:`_read`)."""


def _read(path: str, fmt: str) -> tuple[dict, dict]:
    """Every array of the jrelu file ``path`` and its checked meta, or one ValueError.

    The file is only read (never changed). Any defect of the format becomes a ValueError
    ``"<path>: <what is wrong>"`` (one line); an OSError (missing or unreadable file)
    propagates.
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        if not raw:
            raise _FormatError("empty file (0 bytes); not a jrelu file")
        if not raw.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # numpy's own zip test
            raise _FormatError("not a jrelu file (not an .npz zip archive)")
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                if not isinstance(data, np.lib.npyio.NpzFile):  # pragma: no cover - PK prefix
                    raise _FormatError("not a jrelu file (not an .npz zip archive)")
                names = list(data.files)
                arrays = {}
                for name in names:
                    try:
                        arrays[name] = data[name]
                    except ValueError as e:
                        if "pickle" in str(e) or "Object arrays" in str(e):
                            raise _FormatError(f"entry {name!r} holds Python objects (pickled "
                                               "data) or has a damaged header; jrelu files "
                                               "never contain pickled data") from None
                        raise
        except _FormatError:
            raise
        except Exception as e:  # zipfile, zlib, struct, npy-header errors: a damaged archive
            why = (f"{type(e).__name__}: {_one_line(e)}" if "pickle" not in str(e) else
                   "damaged archive")
            raise _FormatError(f"truncated or corrupt file ({why})") from None
        meta = _meta(arrays, fmt)
        if meta["version"] >= 2:
            stored = meta.get("checksum")
            if not isinstance(stored, str):
                raise _FormatError(f"format version {meta['version']} file without a checksum; "
                                   "corrupt file")
            if _checksum(arrays) != stored:
                raise _FormatError("checksum mismatch: the arrays were changed or damaged "
                                   "after the file was written")
    except _FormatError as e:
        raise ValueError(f"{path}: {e}") from None
    return arrays, meta


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]


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
        A, b = data[f"{prefix}A_{k}"], data[f"{prefix}b_{k}"]
        if (A.ndim != 2 or b.ndim != 1 or A.shape[0] != b.shape[0]
                or not np.issubdtype(A.dtype, np.floating) or A.dtype != b.dtype
                or (layers and layers[-1][0].shape[0] != A.shape[1])):
            raise ValueError(f"{path}: layer {k} ({prefix}A_{k} {A.dtype}{list(A.shape)}, "
                             f"{prefix}b_{k} {b.dtype}{list(b.shape)}) is not a layer of a "
                             "network; corrupt file")
        layers.append((jnp.asarray(A), jnp.asarray(b)))
        k += 1
    if not layers:
        raise ValueError(f"{path}: no network layers ({prefix}A_1, {prefix}b_1, ...) found")
    return Network(layers)


def _meta(data, fmt):
    if "meta" not in data:
        raise _FormatError(f"not a {fmt} file (no 'meta' entry)")
    m = data["meta"]
    try:
        meta = json.loads(str(m)) if m.shape == () and m.dtype.kind == "U" else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise _FormatError(f"not a {fmt} file ('meta' is not a JSON object)")
    if meta.get("format") != fmt:
        hint = ""
        if meta.get("format") == _AVG_FORMAT:
            hint = ("; it holds a jrelu.pde.AveragingNetwork: load it with "
                    "jrelu.io.load_averaging_network")
        elif meta.get("format") == _NET_FORMAT and fmt == _AVG_FORMAT:
            hint = "; load it with jrelu.io.load_network"
        raise _FormatError(f"expected a {fmt} file, found format {meta.get('format')!r}{hint}")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _FormatError(f"unknown format version {version!r} (this jrelu reads versions "
                           f"1 to {_VERSION})")
    if version > _VERSION:
        raise _FormatError(f"file version {version} is newer than this jrelu supports "
                           f"({_VERSION}); upgrade jrelu")
    needed = {_NET_FORMAT: {"widths": list, "metadata": dict},
              _AVG_FORMAT: {"widths": list, "members": int, "num_paths": int,
                            "metadata": dict},
              _CKPT_FORMAT: {"step": int, "opt_leaves": int, "metadata": dict}}[fmt]
    for k, tp in needed.items():
        if not isinstance(meta.get(k), tp) or isinstance(meta.get(k), bool):
            raise _FormatError(f"'meta' has no valid {k!r} entry; corrupt file")
    return meta


def _key_arrays(key) -> dict:
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        impl = str(jax.random.key_impl(key))
        return {"key_data": np.asarray(jax.random.key_data(key)), "key_impl": np.array(impl)}
    return {"key_data": np.asarray(key), "key_impl": np.array("")}


def _restore_key(data, path):
    if "key_data" not in data or "key_impl" not in data:
        raise ValueError(f"{path}: no PRNG key (key_data, key_impl) stored; corrupt file")
    impl = str(data["key_impl"])
    raw = jnp.asarray(data["key_data"])
    try:
        return jax.random.wrap_key_data(raw, impl=impl) if impl else raw
    except Exception as e:
        raise ValueError(f"{path}: the stored PRNG key cannot be restored "
                         f"({_one_line(e)}); corrupt file") from None


# -- networks --------------------------------------------------------------------------------


def save_network(path: str | os.PathLike, net: Network, *,
                 metadata: Mapping[str, Any] | None = None) -> None:
    r"""Write ``net`` to ``path`` (``.npz``): the arrays ``A_k``, ``b_k`` and a JSON ``meta``.

    (A :class:`jrelu.pde.AveragingNetwork` is written by :func:`save_averaging_network`
    instead, in its structured form; such a file is read back with
    :func:`load_averaging_network`, never by :func:`load_network`, which always returns a
    :class:`jrelu.Network`.)

    For :math:`\Phi=((A_1,b_1),\dots,(A_L,b_L))` the file holds the entries
    ``A_k`` (shape :math:`(N_k, N_{k-1})`) and ``b_k`` (shape :math:`(N_k,)`) for
    :math:`k=1,\dots,L`, stored bit for bit in the network's dtype, and ``meta``: a JSON
    object with the format name, its version, the widths :math:`(N_0,\dots,N_L)`, the dtype,
    ``metadata`` and the SHA-256 ``checksum`` of the arrays. The file is written atomically
    (:func:`atomic_write`).

    Args:
      path: the destination file (``str`` or ``os.PathLike``; ``.npz`` by convention).
      net: the network to save.
      metadata: the user's JSON-serializable data (e.g. how the network was trained);
        read back with :func:`load_network_metadata`.

    Returns:
      None.

    Raises:
      TypeError: ``path`` is not a path, ``net`` is not a :class:`jrelu.Network` (or an
        averaging network), or ``metadata`` is not a JSON-serializable dict.
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
    from .pde import AveragingNetwork

    if isinstance(net, AveragingNetwork):
        return save_averaging_network(path, net, metadata=metadata)
    _checks.network("net", net)
    user = _metadata(metadata)
    meta = {"format": _NET_FORMAT, "version": _VERSION, "widths": list(net.widths),
            "dtype": str(net.dtype), "metadata": user}
    _atomic_savez(path, _network_arrays(net), meta)


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
      ValueError: one line starting with the path: the file is not a jrelu network file
        (empty, not an ``.npz`` archive, pickled objects, a checkpoint), is truncated or
        corrupt, fails its checksum, was written by a newer jrelu (or has an unknown format
        version), or its arrays do not match its stored widths. The file is left as it was.
      OSError: the file does not exist or cannot be read.

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
    data, meta = _read(path, _NET_FORMAT)
    net = _read_network(data, "", path)
    if list(net.widths) != meta["widths"]:
        raise ValueError(f"{path}: stored widths {meta['widths']} do not match the arrays "
                         f"{list(net.widths)}")
    return net


def load_network_metadata(path: str | os.PathLike) -> dict:
    r"""Read the user's metadata of a network file, as given to :func:`save_network`.

    The file is checked as by :func:`load_network` (checksum included). The result is the
    user's own data (a ``dict`` parsed from JSON, ``{}`` if none was saved), not a jrelu
    result type.

    Args:
      path: a file written by :func:`save_network` (or :func:`save_averaging_network`).

    Returns:
      the ``metadata`` dict passed to :func:`save_network` (after a JSON round trip).

    Raises:
      TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
      ValueError: one line starting with the path: the file is not a jrelu network file,
        is truncated or corrupt, fails its checksum, or has an unknown or newer format
        version (the whole file is checked, not only ``meta``). The file is left as it was.
      OSError: the file does not exist or cannot be read.

    Example:
      >>> import os, tempfile
      >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
      >>> net = jrelu.init(jax.random.key(0), (2, 1))
      >>> jrelu.io.save_network(path, net, metadata={"note": "x", "steps": 3})
      >>> jrelu.io.load_network_metadata(path)
      {'note': 'x', 'steps': 3}
    """
    path = _fspath(path)
    try:
        _, meta = _read(path, _NET_FORMAT)
    except ValueError as e:
        if "found format 'jrelu.averaging_network'" not in str(e):
            raise
        _, meta = _read(path, _AVG_FORMAT)
    return meta["metadata"]


# -- averaging networks ----------------------------------------------------------------------


def save_averaging_network(path: str | os.PathLike, avg, *,
                           metadata: Mapping[str, Any] | None = None) -> None:
    r"""Write a :class:`jrelu.pde.AveragingNetwork` to ``path`` in its structured form.

    For :math:`\Psi(x)=\frac1n\sum_iR\Phi(s_i\odot x+c_i)` the file holds Φ's arrays
    ``base/A_k``, ``base/b_k``, the path maps ``scales`` and ``shifts`` (shape
    ``(n, d)``), all bit for bit, and a JSON ``meta`` (format ``jrelu.averaging_network``,
    version, Φ's widths, ``members``, ``num_paths``, dtype, ``metadata`` and the SHA-256
    ``checksum`` of the arrays, as for networks). Written atomically. The dense network
    (:meth:`~jrelu.pde.AveragingNetwork.to_network`) is never formed.

    Args:
      path: the destination file (``.npz`` by convention).
      avg: the averaging network.
      metadata: the user's JSON-serializable data (:func:`load_network_metadata`).

    Returns:
      None.

    Raises:
      TypeError: ``path`` is not a path, ``avg`` not an AveragingNetwork, or ``metadata``
        not a JSON-serializable dict.
      OSError: the file cannot be written.

    Example:
      >>> import os, tempfile
      >>> phi = jrelu.init(jax.random.key(0), (2, 4, 1))
      >>> avg = jrelu.pde.AveragingNetwork(phi, jnp.ones((8, 2)), jnp.zeros((8, 2)))
      >>> path = os.path.join(tempfile.mkdtemp(), "avg.npz")
      >>> jrelu.io.save_averaging_network(path, avg)
      >>> sorted(np.load(path).files)
      ['base/A_1', 'base/A_2', 'base/b_1', 'base/b_2', 'meta', 'scales', 'shifts']
    """
    from .pde import AveragingNetwork

    path = _fspath(path)
    if not isinstance(avg, AveragingNetwork):
        raise TypeError(f"avg must be a jrelu.pde.AveragingNetwork, got "
                        f"{type(avg).__name__}: {avg!r:.80}")
    user = _metadata(metadata)
    arrays = {**_network_arrays(avg.base, "base/"), "scales": np.asarray(avg.scales),
              "shifts": np.asarray(avg.shifts)}
    meta = {"format": _AVG_FORMAT, "version": _VERSION, "widths": list(avg.base.widths),
            "members": avg.members, "num_paths": avg.num_paths, "dtype": str(avg.dtype),
            "metadata": user}
    _atomic_savez(path, arrays, meta)


def load_averaging_network(path: str | os.PathLike):
    r"""Read an averaging network written by :func:`save_averaging_network`.

    Returns :math:`\Psi(x)=\frac1n\sum_iR\Phi(s_i\odot x+c_i)` as a
    :class:`jrelu.pde.AveragingNetwork` with every array exactly as stored.

    Args:
      path: a file written by :func:`save_averaging_network` (or by :func:`save_network`
        given an averaging network, e.g. ``network.npz`` of a ``jrelu run`` with
        ``[averaging] tau > 0``).

    Returns:
      the :class:`jrelu.pde.AveragingNetwork`.

    Raises:
      TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
      ValueError: one line starting with the path: not a jrelu averaging-network file (a
        plain network file names :func:`load_network`), truncated or corrupt, a checksum
        mismatch, a newer or unknown format version, or arrays that do not fit together.
      OSError: the file does not exist or cannot be read.

    Example:
      >>> import os, tempfile
      >>> phi = jrelu.init(jax.random.key(0), (2, 4, 1))
      >>> avg = jrelu.pde.AveragingNetwork(phi, jnp.ones((8, 2)), jnp.zeros((8, 2)))
      >>> path = os.path.join(tempfile.mkdtemp(), "avg.npz")
      >>> jrelu.io.save_averaging_network(path, avg)
      >>> back = jrelu.io.load_averaging_network(path)
      >>> back.num_paths, back.base.widths
      (8, (2, 4, 1))
    """
    from .pde import AveragingNetwork

    path = _fspath(path)
    data, meta = _read(path, _AVG_FORMAT)
    base = _read_network(data, "base/", path)
    if list(base.widths) != meta["widths"]:
        raise ValueError(f"{path}: stored widths {meta['widths']} do not match the arrays "
                         f"{list(base.widths)}")
    for name in ("scales", "shifts"):
        if name not in data:
            raise ValueError(f"{path}: no {name!r} array; corrupt file")
    s, c = data["scales"], data["shifts"]
    if (s.shape != (meta["num_paths"], base.input_dim) or c.shape != s.shape
            or not np.issubdtype(s.dtype, np.floating) or c.dtype != s.dtype):
        raise ValueError(f"{path}: path maps scales {s.dtype}{list(s.shape)} and shifts "
                         f"{c.dtype}{list(c.shape)} do not fit {meta['num_paths']} paths of "
                         f"a network of widths {list(base.widths)}; corrupt file")
    try:
        return AveragingNetwork(base, jnp.asarray(s), jnp.asarray(c), members=meta["members"])
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: {_one_line(e)}; corrupt file") from None


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
    of optimizer leaves, ``metadata``, the arrays' SHA-256 ``checksum``). Arrays are stored
    bit for bit. An interrupted write leaves the previous checkpoint intact.

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
    _atomic_savez(path, arrays, meta)


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
      ValueError: one line starting with the path: the file is not a jrelu checkpoint
        (empty, not an ``.npz`` archive, pickled objects, a network file), is truncated or
        corrupt, fails its checksum, was written by a newer jrelu (or has an unknown format
        version), or the template does not match the stored optimizer state (number of
        leaves, shapes or dtypes). The file is left as it was.
      OSError: the file does not exist or cannot be read.

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
    data, meta = _read(path, _CKPT_FORMAT)
    net = _read_network(data, "net/", path)
    key = _restore_key(data, path)
    missing = [f"opt/{i}" for i in range(meta["opt_leaves"]) if f"opt/{i}" not in data]
    if missing or meta["step"] < 0:
        raise ValueError(f"{path}: optimizer state arrays {missing} missing or negative step; "
                         "corrupt file")
    leaves = [data[f"opt/{i}"] for i in range(meta["opt_leaves"])]
    extra = {name[len("extra/"):]: np.array(data[name]) for name in data
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
