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


def test_the_fixture_example_is_clean() -> None:
    from condis import Mode, Ndis
    from condis.verifier.report import Report

    namespace: dict[str, object] = {"__name__": "readme"}
    for block in _blocks("python"):
        if "condis_ndis" in block:
            exec(compile(block, str(README), "exec"), namespace)
    test = namespace["test_my_client_opens_and_closes"]
    ndis = Ndis(mode=Mode.COLLECT)
    test(ndis)  # type: ignore[operator]
    ndis.shutdown()
    assert Report.of(ndis).clean


def test_the_verify_example_runs_clean(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from condis.cli import main

    (block,) = [b for b in _blocks("sh") if "condis verify" in b]
    source = re.search(r"<<'PY'\n(.*?)\nPY\n", block, flags=re.DOTALL)
    assert source is not None
    driver = tmp_path / "mydriver.py"
    driver.write_text(source.group(1) + "\n")
    command = re.search(r"condis verify (\S+) --role (\S+)", block)
    assert command is not None and command.group(1) == "mydriver.py:factory"
    result = CliRunner().invoke(main, ["verify", f"{driver}:factory", "--role", command.group(2)])
    assert result.exit_code == 0, result.output
    assert "30 of 30 runs clean" in result.output
