"""API pages driven by each module's ``__all__``, so the reference follows the code.

Two directives:

``.. jrelu-api-groups:: jrelu``
    One section per group of ``jrelu_api_groups`` (conf.py): a summary table and the full
    reference of every name of ``jrelu.__all__`` defined in one of the group's modules. Names
    of ``__all__`` that are namespaces (modules) get a list of links to their pages; names no
    group claims land in a last "Other" section, so nothing of ``__all__`` is left out.

``.. jrelu-summary:: jrelu.pde``
    A summary table (autosummary) of the names in a namespace's ``__all__``; the reference
    itself comes from ``.. automodule:: jrelu.pde`` with ``:members:`` (also driven by
    ``__all__``).

And three hooks: NamedTuple fields ("Alias for field number k") are not listed separately;
signatures show ``ArrayLike`` and ``Array`` instead of the unions and private modules they
expand to; a reference to where an object is defined (``jrelu.network.Network``, as type
hints name it) links to where it is documented (``jrelu.Network``).
"""

from __future__ import annotations

import importlib
import inspect
import re
import types

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)


def _public_names(module) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        logger.warning("%s has no __all__; documenting its public names", module.__name__)
        names = [n for n in vars(module) if not n.startswith("_")]
    return list(names)


def _home(obj) -> str:
    """The module that defines obj (``jrelu.network``), '' for modules and unknown objects."""
    if isinstance(obj, types.ModuleType):
        return ""
    return getattr(obj, "__module__", "") or ""


def _autodoc_kind(obj) -> str:
    if inspect.isclass(obj):
        return "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


class _Base(SphinxDirective):
    required_arguments = 1
    has_content = False

    def _module(self):
        name = self.arguments[0]
        try:
            return importlib.import_module(name)
        except Exception as err:  # noqa: BLE001 (reported as a Sphinx warning)
            logger.warning("cannot import %s: %s", name, err, location=self.get_location())
            return None

    def _parse(self, lines: list[str]) -> list[nodes.Node]:
        node = nodes.section() if self.name == "jrelu-api-groups" else nodes.container()
        node.document = self.state.document
        source = self.get_source_info()[0]
        content = StringList(lines, source=source)
        nested_parse_with_titles(self.state, content, node)
        return node.children


def _summary(names: list[str]) -> list[str]:
    if not names:
        return []
    return [".. autosummary::", "   :nosignatures:", "", *(f"   {n}" for n in names), ""]


def _short(modname: str, current: str | None):
    """Autosummary wants names relative to the current module (``.. currentmodule::``)."""
    return (lambda n: n) if current == modname else (lambda n: f"{modname}.{n}")


class ApiGroups(_Base):
    """The top-level reference: ``jrelu.__all__`` grouped by the module that defines a name."""

    def run(self):
        module = self._module()
        if module is None:
            return []
        modname = module.__name__
        names = _public_names(module)
        groups = self.config.jrelu_api_groups
        claimed: set[str] = set()
        lines: list[str] = []

        short = _short(modname, self.env.ref_context.get("py:module"))
        namespaces = [n for n in names if isinstance(getattr(module, n, None), types.ModuleType)]
        for title, homes, intro in groups:
            members = [n for n in names if n not in namespaces
                       and _home(getattr(module, n, None)) in homes]
            claimed.update(members)
            if not members:
                continue
            lines += [title, "-" * len(title), "", intro, ""]
            lines += _summary([short(n) for n in members])
            for n in members:
                lines += [f".. {_autodoc_kind(getattr(module, n))}:: {modname}.{n}", ""]

        rest = [n for n in names if n not in namespaces and n not in claimed]
        missing = [n for n in rest if not hasattr(module, n)]
        for n in missing:
            logger.warning("%s.__all__ lists %r, which does not exist", modname, n,
                           location=self.get_location())
        rest = [n for n in rest if n not in missing]
        if rest:
            lines += ["Other", "-----", ""]
            lines += _summary([short(n) for n in rest])
            for n in rest:
                lines += [f".. {_autodoc_kind(getattr(module, n))}:: {modname}.{n}", ""]

        if namespaces:
            title = "Namespaces"
            lines += [title, "-" * len(title), "",
                      "Applications and helpers live in their own modules, each with its own "
                      "``__all__``:", ""]
            here = self.env.docname.rpartition("/")[0]
            for n in namespaces:
                page = f"{here}/{n}" if here else n
                if page in self.env.found_docs:
                    lines.append(f"* :doc:`{modname}.{n} <{n}>`")
                else:
                    lines.append(f"* ``{modname}.{n}``")
            lines.append("")
        return self._parse(lines)


class Summary(_Base):
    """A summary table of a namespace's ``__all__``."""

    def run(self):
        module = self._module()
        if module is None:
            return []
        names = [n for n in _public_names(module)
                 if not isinstance(getattr(module, n, None), types.ModuleType)]
        short = _short(module.__name__, self.env.ref_context.get("py:module"))
        return self._parse(_summary([short(n) for n in names]))


def _skip_namedtuple_fields(app, what, name, obj, skip, options):
    """NamedTuple fields carry the docstring "Alias for field number k": the class docstring
    documents them (Attributes), so the generated field entries are dropped."""
    doc = getattr(obj, "__doc__", None)
    if isinstance(doc, str) and doc.startswith("Alias for field number"):
        return True
    return None


_Q = r"(?:~?[\w.]+\.)?"  # an optional module prefix, as autodoc writes it ("~numpy.")
_ARRAY_LIKE = re.compile(
    rf"{_Q}Array \| {_Q}ndarray \| {_Q}bool \| {_Q}number \| bool \| int \| float \| complex")
_JAX_ARRAY = re.compile(r"~?jax\.jaxlib\._jax\.Array|~?jaxlib\._jax\.Array")


def _tidy_annotations(text: str | None) -> str | None:
    """Write ``jax.typing.ArrayLike`` and ``jax.Array`` as users know them, not as the long
    union and the private module they expand to."""
    if not text:
        return text
    text = _ARRAY_LIKE.sub("~jax.typing.ArrayLike", text)
    return _JAX_ARRAY.sub("~jax.Array", text)


def _process_signature(app, what, name, obj, options, signature, return_annotation):
    return _tidy_annotations(signature), _tidy_annotations(return_annotation)


_ALIASES: dict[int, list[str]] | None = None


def _aliases() -> dict[int, list[str]]:
    """id(object) -> its public names (``jrelu.Network``, ``jrelu.pde.Problem``, ...)."""
    global _ALIASES
    if _ALIASES is None:
        _ALIASES = {}
        try:
            top = importlib.import_module("jrelu")
        except Exception:  # noqa: BLE001 (the directives report import errors)
            return _ALIASES
        modules = [top] + [v for n in getattr(top, "__all__", ())
                           if isinstance(v := getattr(top, n, None), types.ModuleType)]
        for extra in ("jrelu.plot",):
            try:
                modules.append(importlib.import_module(extra))
            except Exception:  # noqa: BLE001
                pass
        for mod in modules:
            for n in getattr(mod, "__all__", ()):
                obj = getattr(mod, n, None)
                if obj is not None and not isinstance(obj, types.ModuleType):
                    _ALIASES.setdefault(id(obj), []).append(f"{mod.__name__}.{n}")
    return _ALIASES


def _lookup(target: str):
    """The object a dotted ``jrelu....`` name points to, or None."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except Exception:  # noqa: BLE001
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def _resolve_public_alias(app, env, node, contnode):
    """Link ``jrelu.network.Network`` (as type hints name it) to where it is documented,
    ``jrelu.Network``."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("jrelu."):
        return None
    obj = _lookup(target)
    if obj is None or isinstance(obj, types.ModuleType):
        return None
    domain = env.get_domain("py")
    for alias in _aliases().get(id(obj), []):
        if alias != target:
            ref = domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"],
                                      alias, node, contnode)
            if ref is not None:
                return ref
    return None


def setup(app):
    app.add_config_value("jrelu_api_groups", [], "env")
    app.add_directive("jrelu-api-groups", ApiGroups)
    app.add_directive("jrelu-summary", Summary)
    app.connect("autodoc-skip-member", _skip_namedtuple_fields)
    app.connect("missing-reference", _resolve_public_alias)
    app.connect("autodoc-process-signature", _process_signature)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
