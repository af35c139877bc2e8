"""The README's examples run as written, and its set-up commands stay first."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_python_examples_run_in_order() -> None:
    blocks = _blocks("python")
    assert len(blocks) >= 3
    namespace: dict[str, object] = {"__name__": "readme"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    printed = out.getvalue()
    assert "ProtocolCoAfRegisterNotify" in printed
    assert "rule NdisHandleStale in NdisClCloseAddressFamily" in printed


def test_setup_commands_open_the_readme() -> None:
    first = _blocks("sh")[0].splitlines()
    assert first == [
        "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/condis demo",
        'python3 -m venv .venv && .venv/bin/pip install ".[test]" && .venv/bin/python -m pytest',
    ]
    text = README.read_text()
    assert text.index("```sh") < text.index("```python")
