"""The README's code runs as printed, and its quickstart commands are the ones CI runs."""

from __future__ import annotations

import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _block(after: str, lang: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"```{lang}", text.index(after)) + len(f"```{lang}")
    return text[start:text.index("```", start)]


def test_ten_lines_of_api_run():
    code = _block("## Ten lines of API", "python")
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    report = namespace["report"]
    assert report.value.sup >= 0 and report.derivative.sup >= 0
    G, net = namespace["G"], namespace["net"]
    assert [a.shape for a, _ in G.layers] == [a.shape for a, _ in net.layers]


def test_quickstart_commands_match_ci():
    """The two quickstart commands are the ones .ci/run and a new user run."""
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"```bash\n(.*?)\n```", text[text.index("## Quickstart"):
                                                     text.index("## Documentation")], re.S)
    assert commands == [
        'python3 -m venv .venv && .venv/bin/pip install -e ".[plot]" && .venv/bin/jrelu run',
        'python3 -m venv .venv && . .venv/bin/activate && pip install -e ".[test]" '
        "&& pytest -n auto",
    ]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert 'pip install -q -e ".[test]"' in ci and "pytest -n auto" in ci
