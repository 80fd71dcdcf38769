"""Build the documentation site as CI does, with warnings as errors, and check what it holds.

The build runs once per session (about 15 s on 2 CPU cores) into a temporary directory:

    python -m sphinx -W --keep-going -b html docs <tmp>/html

Then: every public name of ``jrelu.__all__`` and of each namespace's ``__all__`` has an entry
in the API reference; the theory pages state formulas and cite the papers by arXiv link; the
notebooks are rendered as stored, not executed (the notebook tests execute them).

Needs the docs extra (``sphinx``, ``myst-nb``, ``furo``).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="sphinx is not installed (pip install 'jrelu[docs]')")
pytest.importorskip("myst_nb", reason="myst-nb is not installed (pip install 'jrelu[docs]')")
pytest.importorskip("furo", reason="furo is not installed (pip install 'jrelu[docs]')")

import jrelu  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NAMESPACES = ("constructions", "pde", "samplers", "losses", "ops", "testing", "examples",
              "interop", "io", "plot")
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
THEORY = ("network_calculus", "network_derivative", "kinks", "generalized_gradients",
          "local_to_global", "kolmogorov", "certified_bounds")
PAPERS = ("1905.04992", "2501.15646", "1709.05289", "1610.01145", "1602.04485", "1809.07669",
          "1806.00421")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The built HTML site; fails with Sphinx's own messages if the build warns.

    ``.ci/run`` builds the site with the same command (``-W --keep-going``, a failure stops
    CI) just before the tests and names it in ``JRELU_TEST_DOCS_SITE``: then that build is
    checked instead of a second, identical one."""
    built = os.environ.get("JRELU_TEST_DOCS_SITE")
    if built:
        assert (Path(built) / "index.html").is_file(), f"JRELU_TEST_DOCS_SITE={built}: no site"
        return Path(built)
    out = tmp_path_factory.mktemp("docs")
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(out / "doctrees"), str(DOCS), str(out / "html")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    if proc.returncode != 0:
        pytest.fail(f"sphinx-build -W failed (exit {proc.returncode}):\n"
                    f"{proc.stderr[-8000:]}", pytrace=False)
    return out / "html"


def _anchors(page: Path) -> set[str]:
    return set(re.findall(r'id="(jrelu\.[A-Za-z0-9_.]+)"', page.read_text(encoding="utf-8")))


def test_docs_build_with_warnings_as_errors(site):
    for page in ("index", "getting_started", "backends", "references", "api/index",
                 "theory/index"):
        assert (site / f"{page}.html").is_file(), page


def test_api_reference_documents_every_public_name(site):
    top = _anchors(site / "api" / "jrelu.html")
    missing = [f"jrelu.{n}" for n in jrelu.__all__
               if not isinstance(getattr(jrelu, n), types.ModuleType)
               and f"jrelu.{n}" not in top]
    for ns in NAMESPACES:
        mod = importlib.import_module(f"jrelu.{ns}")
        found = _anchors(site / "api" / f"{ns}.html")
        missing += [f"jrelu.{ns}.{n}" for n in mod.__all__
                    if not isinstance(getattr(mod, n), types.ModuleType)
                    and f"jrelu.{ns}.{n}" not in found]
    assert not missing, f"public names without an API entry: {missing}"


def test_theory_pages_have_formulas_and_cite_the_papers(site):
    cited = set()
    for name in THEORY:
        source = (DOCS / "theory" / f"{name}.md").read_text(encoding="utf-8")
        assert "$$" in source, f"theory/{name}.md states no display formula"
        links = set(re.findall(r"https://arxiv\.org/abs/(\d{4}\.\d{5})", source))
        assert links, f"theory/{name}.md cites no paper by arXiv link"
        cited |= links
        assert (site / "theory" / f"{name}.html").is_file()
    references = (DOCS / "references.md").read_text(encoding="utf-8")
    cited |= set(re.findall(r"https://arxiv\.org/abs/(\d{4}\.\d{5})", references))
    assert set(PAPERS) <= cited, sorted(set(PAPERS) - cited)


def test_notebooks_are_rendered_without_executing_them(site):
    conf = (DOCS / "conf.py").read_text(encoding="utf-8")
    assert re.search(r'^nb_execution_mode = "off"', conf, re.M)
    assert len(NOTEBOOKS) == 4
    for stem in NOTEBOOKS:
        page = site / "notebooks" / f"{stem}.html"
        assert page.is_file(), f"notebook {stem} is not rendered"
        html = page.read_text(encoding="utf-8")
        assert "cell_output" not in html, f"{stem} was executed during the build"
        assert "JRELU_NOTEBOOK_SMALL" in html  # the code cells are there


def _unresolved_references(page: Path) -> list[str]:
    """Cross-references (``{func}`jrelu.x` ``) that Sphinx could not link: their target is
    rendered as bare code, not inside a link."""
    html = page.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r'(<a [^>]*>)?<code class="xref py[^"]*"[^>]*>(.*?)</code>', html, re.S):
        if m.group(1) is None:
            out.append(re.sub(r"<[^>]+>", "", m.group(2)))
    return out


def test_hand_written_pages_link_to_existing_api(site):
    """The theory and getting-started pages name only functions that exist and are documented."""
    pages = [site / "index.html", site / "getting_started.html", site / "backends.html",
             *sorted((site / "theory").glob("*.html"))]
    broken = {p.relative_to(site).as_posix(): refs for p in pages
              if (refs := _unresolved_references(p))}
    assert not broken, f"references to undocumented names: {broken}"


def test_backends_page_names_only_options_that_exist():
    """docs/backends.md: every ``--option`` and ``JRELU_*`` variable it names exists in the
    jrelu command or in scripts/device-check; it covers the cache, float64 on TPU and the
    device check."""
    page = (DOCS / "backends.md").read_text(encoding="utf-8")
    sources = ((ROOT / "jrelu" / "cli.py").read_text(encoding="utf-8")
               + (ROOT / "scripts" / "device-check").read_text(encoding="utf-8"))
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", page))
    assert {"--no-compile-cache", "--sizes", "--no-float64"} <= options
    assert not {o for o in options if f'"{o}"' not in sources}
    for var in set(re.findall(r"\bJRELU_[A-Z_]+", page)):
        assert var in sources, var
    for words in ("float64 on TPU", "scripts/device-check", "XDG_CACHE_HOME",
                  "JAX_COMPILATION_CACHE_DIR", "evaluation_blocking"):
        assert words in page, words
