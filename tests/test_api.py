"""The public surface: what is public, argument conventions, and reference docstrings.

Rules (the conventions of optax and equinox):

* ``jrelu.__all__`` and each namespace's ``__all__`` list exactly the public names;
* data arguments come first, every parameter with a default is keyword-only;
* ``key`` is keyword-only, except where the key is the subject (``init(key, widths)`` and
  ``pde.ensemble_init(key, widths, members=M)``, a
  sampler's ``sampler(key, n)`` and ``points(key, index)``, ``Problem.sample_box(key, n)``);
* ``activation=`` and ``dtype=`` are keyword-only everywhere;
* every public function documents Args, Returns, Raises and an example, and no docstring
  points to a file the user does not have.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.metadata
import inspect
import pathlib
import types

import pytest

import jrelu

NAMESPACES = ("constructions", "pde", "samplers", "losses", "ops", "testing", "examples",
              "interop", "io", "plot")
ROOT = pathlib.Path(__file__).resolve().parents[1]

# (qualified name, parameter): where the key is the subject of the call.
KEY_IS_SUBJECT = {"jrelu.init", "jrelu.pde.ensemble_init", "Sampler.__call__", "Sampler.points",
                  "Problem.sample_box"}
ALWAYS_KEYWORD = ("key", "activation", "dtype")


def _namespace(name):
    return importlib.import_module(f"jrelu.{name}")


def _public_objects():
    """(qualified name, object) for every name in jrelu.__all__ and the namespaces' __all__."""
    out = []
    for n in jrelu.__all__:
        obj = getattr(jrelu, n)
        if not isinstance(obj, types.ModuleType):
            out.append((f"jrelu.{n}", obj))
    for ns in NAMESPACES:
        mod = _namespace(ns)
        for n in mod.__all__:
            obj = getattr(mod, n)
            if not isinstance(obj, types.ModuleType):
                out.append((f"jrelu.{ns}.{n}", obj))
    return out


def _is_result_type(cls) -> bool:
    """Results (NamedTuples and report dataclasses): built by jrelu, not by users."""
    is_namedtuple = issubclass(cls, tuple) and hasattr(cls, "_fields")
    return is_namedtuple or hasattr(cls, "to_dict")


def _callables():
    """(qualified name, function, owner class or None) for every public function and method."""
    seen = set()
    for qual, obj in _public_objects():
        if inspect.isfunction(obj) or isinstance(obj, types.BuiltinFunctionType):
            if id(obj) not in seen:
                seen.add(id(obj))
                yield qual, obj, None
        elif inspect.isclass(obj) and obj.__module__.startswith("jrelu"):
            for base in inspect.getmro(obj):
                if not base.__module__.startswith("jrelu"):
                    continue
                for mname, m in vars(base).items():
                    if mname.startswith("_") and mname != "__call__":
                        continue
                    if isinstance(m, (staticmethod, classmethod)):
                        m = m.__func__
                    if inspect.isfunction(m) and id(m) not in seen:
                        seen.add(id(m))
                        yield f"{base.__name__}.{mname}", m, base


def test_version_comes_from_package_metadata():
    assert jrelu.__version__ == importlib.metadata.version("jrelu")


def test_top_level_all_is_exactly_the_public_surface():
    assert len(jrelu.__all__) == len(set(jrelu.__all__)), "duplicates in jrelu.__all__"
    assert len(jrelu.__all__) <= 70, f"{len(jrelu.__all__)} top-level names (at most 70)"
    for n in jrelu.__all__:
        assert hasattr(jrelu, n), f"jrelu.__all__ lists {n!r}, which does not exist"
    public = {n for n in dir(jrelu) if not n.startswith("_")}
    objects = {n for n in public if not isinstance(getattr(jrelu, n), types.ModuleType)}
    listed_objects = {n for n in jrelu.__all__
                      if not isinstance(getattr(jrelu, n), types.ModuleType)}
    assert objects == listed_objects, sorted(objects ^ listed_objects)
    listed_modules = set(jrelu.__all__) - listed_objects
    assert listed_modules == set(NAMESPACES) - {"plot"}, sorted(listed_modules)


@pytest.mark.parametrize("ns", NAMESPACES)
def test_namespace_all_lists_what_it_defines(ns):
    mod = _namespace(ns)
    assert isinstance(mod.__all__, (list, tuple)) and mod.__all__
    for n in mod.__all__:
        assert hasattr(mod, n), f"jrelu.{ns}.__all__ lists {n!r}, which does not exist"
    defined = {n for n, v in vars(mod).items() if not n.startswith("_")
               and getattr(v, "__module__", None) == mod.__name__
               and (inspect.isclass(v) or inspect.isfunction(v))}
    unlisted = sorted(defined - set(mod.__all__))
    assert not unlisted, f"public in jrelu.{ns} but not in its __all__: {unlisted}"


def test_importing_jrelu_imports_no_optional_framework():
    import subprocess
    import sys

    code = ("import sys, jrelu; bad = [m for m in ('torch', 'equinox', 'flax', 'matplotlib') "
            "if m in sys.modules]; print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import jrelu imported {out.stdout.strip()}"


def test_options_are_keyword_only():
    bad = []
    for qual, fn, owner in _callables():
        if owner is not None and _is_result_type(owner):
            continue
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
                continue
            if p.default is not p.empty:
                bad.append(f"{qual}({p.name}=...) has a default but is not keyword-only")
            if p.name in ALWAYS_KEYWORD and not (p.name == "key" and qual in KEY_IS_SUBJECT):
                bad.append(f"{qual}({p.name}) must be keyword-only")
    assert not bad, "\n".join(bad)


def test_configuration_classes_take_options_by_keyword():
    bad = []
    for qual, obj in _public_objects():
        if not (inspect.isclass(obj) and dataclasses.is_dataclass(obj)) or _is_result_type(obj):
            continue
        for f in dataclasses.fields(obj):
            has_default = (f.default is not dataclasses.MISSING
                           or f.default_factory is not dataclasses.MISSING)
            if f.init and has_default and not f.kw_only:
                bad.append(f"{qual}.{f.name} has a default but is not keyword-only")
    assert not bad, "\n".join(bad)


def test_public_functions_have_reference_docstrings():
    missing = []
    for qual, fn, owner in _callables():
        doc = inspect.getdoc(fn) or ""
        if not doc.strip():
            missing.append(f"{qual}: no docstring")
            continue
        if owner is not None:  # methods: a docstring, and Args if they take arguments
            continue
        params = [p for p in inspect.signature(fn).parameters if p not in ("self", "cls")]
        for section in ("Returns:", "Raises:", "Example"):
            if section not in doc:
                missing.append(f"{qual}: no {section.rstrip(':')} section")
        if params and "Args:" not in doc:
            missing.append(f"{qual}: no Args section")
        if ">>>" not in doc:
            missing.append(f"{qual}: no runnable example (>>>)")
    assert not missing, "\n".join(missing)


def test_no_reference_to_files_users_do_not_have():
    hits = []
    for path in [*ROOT.joinpath("jrelu").rglob("*.py"), *ROOT.joinpath("notebooks").glob("*.ipynb"),
                 ROOT / "README.md", *ROOT.joinpath("docs").rglob("*.md"),
                 *ROOT.joinpath("docs").rglob("*.rst"), *ROOT.joinpath("configs").glob("*.toml")]:
        if "MATH.md" in path.read_text(encoding="utf-8"):
            hits.append(str(path.relative_to(ROOT)))
    assert not hits, f"these files cite MATH.md: {hits}"
