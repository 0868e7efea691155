"""The command line on input that is damaged or out of the ordinary: JSON
nested too deep to parse, output folders holding another tool's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_cli import _one_line_error, make_shot, run_main

DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("where", "words"),
    [
        ("project", ("scene.cadmium", "not a readable project", "nested too deep")),
        ("shot.json", ("shot.json", "not valid JSON")),
        ("report.json", ("out: holds", "Cadmium did not write")),
    ],
)
def test_json_nested_too_deep_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, words: tuple[str]
) -> None:
    """A project file, shot.json or an output folder's report.json holding
    ``[[[[...`` ended in a RecursionError traceback."""
    shot = make_shot(tmp_path / "shot", frames=2)
    out = tmp_path / "out"
    target = shot
    if where == "project":
        target = tmp_path / "scene.cadmium"
        target.write_text(DEEP)
    elif where == "shot.json":
        (shot / "shot.json").write_text(DEEP)
    else:
        (out / "color").mkdir(parents=True)
        (out / "report.json").write_text(DEEP)
    result = run_main(capsys, "colorize-shot", str(target), "--out", str(out))
    _one_line_error(result, *words)


def test_an_output_mark_nested_too_deep_still_marks_outputs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The hidden mark says the folder holds Cadmium's outputs, whatever
    else it fails to say: they are replaced, without a traceback."""
    shot = make_shot(tmp_path / "shot", frames=2)
    out = tmp_path / "out"
    (out / "color").mkdir(parents=True)
    (out / ".cadmium-output").write_text(DEEP)
    result = run_main(
        capsys, "colorize-shot", str(shot), "--out", str(out), "--matcher", "overlap"
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (out / "color").iterdir()) == [
        "sc01_0001.png",
        "sc01_0002.png",
    ]
