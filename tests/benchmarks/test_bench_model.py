"""benchmarks/bench_model.py: what it refuses, and a measuring process that
fails."""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path
from types import ModuleType

import pytest
from probes import usage_error

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_model.py"


def bench_model() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_model", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bad_arguments_are_one_line_before_any_work(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    main = bench_model().main
    assert "--threads: 0 is less than 1" in usage_error(
        main, ["--devices", "cpu", "--threads", "0"], capsys
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert "--devices: cuda: no CUDA GPU is available here" in usage_error(
        main, ["--devices", "cuda"], capsys
    )


def test_a_size_that_fails_says_why_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    module = bench_model()

    def failing(args: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        trace = (
            "Traceback (most recent call last):\n  ...\nRuntimeError: out of memory\n"
        )
        return subprocess.CompletedProcess(args, 1, "", trace)

    monkeypatch.setattr(module.subprocess, "run", failing)
    assert module.main(["--devices", "cpu", "--sizes", "hd"]) == 1
    captured = capsys.readouterr()
    assert captured.err == "bench_model: cpu, 1920x1080: RuntimeError: out of memory\n"
    assert captured.out == ""
