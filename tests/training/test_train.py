"""The training script: config, schedule, loss, pairs, and a smoke run."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.learned import load_matcher, read_metadata
from training.pairs import (
    Pair,
    SegmentedFrame,
    collate_pairs,
    correspondence_truth,
    part_colors,
    region_identity,
    sample_pairs,
    segment_frame,
)
from training.train import (
    TrainConfig,
    load_config,
    lr_at,
    main,
    match_loss,
    run_to_resume,
)


def test_config_file_then_flags_override_defaults(tmp_path: Path) -> None:
    path = tmp_path / "exp.json"
    path.write_text(json.dumps({"lr": 0.01, "max_steps": 50}))
    cfg = load_config([str(path), "--max_steps=7", "--resume=true"])
    assert (cfg.lr, cfg.max_steps, cfg.resume) == (0.01, 7, True)
    assert cfg.dim == TrainConfig().dim
    with pytest.raises(SystemExit, match="unknown config key 'lrr'"):
        load_config(["--lrr=1"])


@pytest.mark.parametrize(
    ("flag", "words"),
    [
        ("--min_lr=-0.001", "min_lr=-0.001: use a number of 0 or more"),
        ("--lr=0", "lr > 0"),
        ("--eval_shots=0", "eval_shots=0: use a whole number of at least 1"),
        ("--log_every=0", "log_every=0"),
        ("--gap=-5", "gap=-5"),
        ("--device=gpu", "use auto, cpu or cuda"),
        ("--max_steps=abc", "max_steps takes a whole number"),
        ("--sizes=256by192", "use WIDTHxHEIGHT"),
        ("--sources=procedural,procedral", "unknown data source 'procedral'"),
        ("--export_only=true", "name the file with --export"),
        ("--art=heldout", "art='heldout': use train (held-out art kept for"),
        ("--rounds=0", "rounds=0: use a whole number of at least 1"),
        ("--rounds=2 --style_codes=0", "rounds=2: needs the key's fills"),
        ("no-such-config.json", "no-such-config.json: cannot read"),
        ("--heads=2", "heads=2: use 4, one per locality rate"),
        ("--seed=-1", "seed=-1: use a whole number of at least 0"),
        ("--eval_seed=-3", "eval_seed=-3: use a whole number of at least 0"),
        ("--dim=30", "dim 30 is not a multiple of heads 4"),
    ],
)
def test_bad_values_are_refused_in_one_line_before_training(
    flag: str, words: str
) -> None:
    with pytest.raises(SystemExit) as stop:
        load_config(flag.split())
    message = str(stop.value)
    assert words in message and "\n" not in message


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ({"sizes": 256}, "sizes takes a string, not 256"),
        ({"sources": ["procedural"]}, "sources takes a string, not ['procedural']"),
        ({"out_dir": None}, "out_dir takes a string, not None"),
        ({"seed": 1.5}, "seed takes a whole number, not 1.5"),
        ({"max_steps": True}, "max_steps takes a whole number, not True"),
        ({"lr": [0.001]}, "lr takes a number, not [0.001]"),
        ({"resume": 1}, "resume takes true or false, not 1"),
    ],
)
def test_config_values_of_the_wrong_json_type_are_one_line(
    tmp_path: Path, document: dict, words: str
) -> None:
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(document))
    with pytest.raises(SystemExit) as stop:
        load_config([str(path)])
    message = str(stop.value)
    assert message == f"{path}: {words}"
    # Numbers written as strings, and whole numbers for a float, still read.
    path.write_text(json.dumps({"max_steps": "20", "lr": 1, "resume": "yes"}))
    cfg = load_config([str(path)])
    assert (cfg.max_steps, cfg.lr, cfg.resume) == (20, 1, True)


@pytest.mark.parametrize("where", ["a-file", "a-file/run"])
def test_an_out_dir_that_cannot_be_made_is_one_line(tmp_path: Path, where: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    out_dir = tmp_path / where
    with pytest.raises(SystemExit) as stop:
        main([f"--out_dir={out_dir}", "--sources=procedural", "--device=cpu"])
    message = str(stop.value)
    assert message.startswith(f"out_dir {out_dir}: cannot write (")
    assert "\n" not in message
    assert (tmp_path / "a-file").read_text() == "not a folder"


def test_learning_rate_warms_up_then_decays_to_min() -> None:
    cfg = TrainConfig(lr=1e-3, min_lr=1e-5, warmup_steps=10, max_steps=100)
    assert lr_at(0, cfg) == pytest.approx(1e-4)
    assert lr_at(9, cfg) == pytest.approx(1e-3)
    assert lr_at(55, cfg) < lr_at(20, cfg)
    assert lr_at(100, cfg) == pytest.approx(1e-5)
    assert lr_at(1000, cfg) == pytest.approx(1e-5)


def test_a_run_capped_by_time_anneals_by_the_clock() -> None:
    cfg = TrainConfig(
        lr=1e-3, min_lr=1e-5, warmup_steps=10, max_steps=10_000, max_minutes=60
    )
    assert lr_at(20, cfg, minutes=30) == pytest.approx(0.5 * (1e-3 + 1e-5))
    assert lr_at(20, cfg, minutes=60) == pytest.approx(1e-5)
    assert lr_at(20, cfg, minutes=1) > 0.9e-3  # early on, steps still lead


def test_truth_allows_many_correct_key_regions_and_the_dustbin() -> None:
    key = np.array([5, 7, 5, -1])
    target = np.array([5, 9, 7, -1])
    truth = correspondence_truth(key, target)
    assert truth.tolist() == [
        [True, False, True, False, False],  # identity 5: both key regions
        [False, False, False, False, True],  # 9 is not in the key: no match
        [False, True, False, False, False],
        [False, False, False, False, False],  # unknown: left out of the loss
    ]


def test_loss_sums_probability_over_all_correct_columns() -> None:
    probs = torch.tensor([[[0.3, 0.3, 0.4]], [[0.1, 0.1, 0.8]]])
    truth = torch.tensor([[[True, True, False]], [[False, False, True]]])
    loss, correct = match_loss(probs.log(), truth)
    expected = -(np.log(0.6) + np.log(0.8)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert correct.tolist() == [False, True]


def test_region_identity_is_the_majority_label() -> None:
    from engine.regions import segment_image

    image = np.full((40, 60), 255, np.uint8)
    image[:, 29:31] = 0  # two regions, left and right
    _, regions = segment_image(image)
    truth = np.zeros((40, 60), np.uint16)
    truth[:, :29] = 4
    truth[:, 31:] = 9
    truth[:3, 31:] = 4  # a few wrong pixels do not change the majority
    left = regions.region_at(5, 20)
    right = regions.region_at(50, 20)
    identity = region_identity(regions, truth)
    assert identity[left] == 4 and identity[right] == 9


def three_bands() -> SegmentedFrame:
    """Three bands; parts 1 and 3 are painted the same red, part 2 blue."""
    line = np.full((40, 90), 255, np.uint8)
    line[:, 29:31] = line[:, 59:61] = 0
    labels = np.zeros((40, 90), np.uint16)
    labels[:, :29], labels[:, 31:59], labels[:, 61:] = 1, 2, 3
    color = np.zeros((40, 90, 4), np.uint8)
    color[labels != 2] = (220, 30, 30, 255)
    color[labels == 2] = (30, 30, 220, 255)
    return segment_frame(line, labels, part_colors(labels, color), work_side=96)


def test_color_truth_accepts_any_key_region_of_the_target_part_color() -> None:
    frame = three_bands()
    data = collate_pairs([Pair(frame, frame, 0)])
    by_part = {int(part): i for i, part in enumerate(frame.identity)}
    left, middle, right = by_part[1], by_part[2], by_part[3]
    same_part = data["truth"][0, left].nonzero().flatten().tolist()
    same_color = data["color_truth"][0, left].nonzero().flatten().tolist()
    assert same_part == [left]
    assert sorted(same_color) == sorted([left, right])
    assert data["color_truth"][0, middle].nonzero().flatten().tolist() == [middle]


def test_key_regions_of_one_colour_get_one_style_code() -> None:
    frame = three_bands()
    by_part = {int(part): i for i, part in enumerate(frame.identity)}
    left, middle, right = by_part[1], by_part[2], by_part[3]
    data = collate_pairs([Pair(frame, frame, 0)], style_width=8)
    codes = data["style_codes0"]
    assert codes.shape == (frame.inputs.count, 9)
    assert torch.equal(codes[left], codes[right])
    assert not torch.equal(codes[left], codes[middle])
    # Training draws new codes per batch, and can hide a key's fills.
    rng = np.random.default_rng(0)
    drawn = collate_pairs([Pair(frame, frame, 0)], style_width=8, rng=rng)
    assert torch.equal(drawn["style_codes0"][left], drawn["style_codes0"][right])
    assert not torch.equal(drawn["style_codes0"][left], codes[left])
    hidden = collate_pairs(
        [Pair(frame, frame, 0)], style_width=8, rng=rng, unpainted=1.0
    )
    assert not hidden["style_codes0"].any()


def test_pairs_sharing_frames_encode_each_frame_once_with_the_same_output() -> None:
    from engine.features import collate
    from engine.learned import MatchingModel
    from training.data.generate import generate_shot

    shot = generate_shot(5, 0, size=(160, 120), frames=4, sources=("procedural",))
    pairs = sample_pairs(shot, np.random.default_rng(0), 6, work_side=160)
    data = collate_pairs(pairs)
    distinct = len({id(p.key) for p in pairs} | {id(p.target) for p in pairs})
    assert data["frames"]["image"].shape[0] == distinct < 2 * len(pairs)
    # The same pairs with every frame encoded on its own.
    plain = collate([p.key.inputs for p in pairs] + [p.target.inputs for p in pairs])
    torch.manual_seed(0)
    model = MatchingModel({"work_side": 160}).eval()
    with torch.no_grad():
        shared, each = model(data)["log_probs"], model(plain)["log_probs"]
    assert torch.allclose(shared, each, atol=1e-5)


ROOT = Path(__file__).resolve().parents[2]

# A run of three steps on small frames and a small network.
TINY_RUN = [
    "--sources=procedural",
    "--sizes=192x144",
    "--frames=6",
    "--pairs_per_shot=2",
    "--max_steps=3",
    "--warmup_steps=1",
    "--eval_shots=1",
    "--eval_size=192x144",
    "--num_workers=0",
    "--dim=32",
    "--layers=2",
]


def test_smoke_run_writes_a_loadable_checkpoint(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "run"
    export = tmp_path / "exported.safetensors"
    began = ["--eval_every=2", "--color_loss=0.5"]
    code = main([f"--out_dir={out}", *TINY_RUN, *began, f"--export={export}"])
    assert code == 0
    meta = read_metadata(export.read_bytes())
    assert json.loads(meta["step"]) in (2, 3)  # the best evaluation
    assert {"short_acc", "long_acc", "short_color_acc"} <= set(
        json.loads(meta["metrics"])
    )
    assert json.loads(meta["run_config"])["max_steps"] == 3
    assert json.loads(meta["run_config"])["art"] == "train"
    assert meta["data_version"]
    assert load_matcher(export).model.conf["encoder"]["backbone"]["dim"] == 32
    ckpt = torch.load(out / "ckpt.pt", weights_only=True)
    assert ckpt["step"] == 3
    # The run is not overwritten by a new one, nor resumed as another run.
    with pytest.raises(SystemExit, match="holds a run already"):
        main([f"--out_dir={out}", *TINY_RUN])
    with pytest.raises(SystemExit, match=r"differs from the run's in gap 8 -> 4"):
        main([f"--out_dir={out}", *TINY_RUN, "--gap=4", "--resume=true"])
    # Resuming a run that has ended says so (it said nothing and did nothing).
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="train"):
        assert main([f"--out_dir={out}", *TINY_RUN, *began, "--resume=true"]) == 0
    assert "the run ended at step 3 (max_steps 3, max_minutes 0)" in caplog.text
    assert torch.load(out / "ckpt.pt", weights_only=True)["step"] == 3
    # A run from before the art split drew all the art: resuming it on the
    # training share alone would be another run.
    ckpt = torch.load(out / "ckpt.pt", weights_only=True)
    config = json.loads(ckpt["config"])
    del config["art"]
    torch.save(ckpt | {"config": json.dumps(config)}, out / "ckpt.pt")
    began_before = r"in art 'all' -> 'train';.*, and --art=all: it began before"
    with pytest.raises(SystemExit, match=began_before):
        main([f"--out_dir={out}", *TINY_RUN, "--resume=true"])
    assert torch.load(out / "ckpt.pt", weights_only=True)["step"] == 3


@pytest.mark.parametrize("kept", ["best.safetensors", "last.safetensors"])
def test_a_new_run_never_writes_over_weights_kept_without_their_checkpoint(
    tmp_path: Path, kept: str
) -> None:
    (tmp_path / kept).write_bytes(b"weights worth keeping")
    with pytest.raises(SystemExit) as stop:
        run_to_resume(load_config([f"--out_dir={tmp_path}", *TINY_RUN]), tmp_path)
    message = str(stop.value)
    assert message == (
        f"{tmp_path} holds a run already ({kept}): choose another --out_dir"
    )
    assert (tmp_path / kept).read_bytes() == b"weights worth keeping"


def test_a_run_resumes_from_its_folder_moved_or_named_another_way(
    tmp_path: Path,
) -> None:
    began = load_config(["--out_dir=runs/tiny", *TINY_RUN])
    moved = tmp_path / "moved"
    moved.mkdir()
    record = {"config": json.dumps(dataclasses.asdict(began)), "step": 3}
    torch.save(record, moved / "ckpt.pt")
    flags = [f"--out_dir={moved}", *TINY_RUN, "--resume=true"]
    ckpt = run_to_resume(load_config([*flags, "--max_steps=5"]), moved)
    assert ckpt is not None and ckpt["step"] == 3
    with pytest.raises(SystemExit, match=r"differs from the run's in gap 8 -> 4"):
        run_to_resume(load_config([*flags, "--gap=4"]), moved)


@pytest.mark.parametrize(
    ("stop", "status", "workers"),
    [(signal.SIGTERM, 143, 0), (signal.SIGINT, 130, 1)],
)
def test_a_run_stopped_by_sigterm_or_ctrl_c_goes_on_from_its_checkpoint(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    stop: signal.Signals,
    status: int,
    workers: int,
) -> None:
    """A scheduler's (or `timeout`'s) SIGTERM, or Ctrl-C in the terminal
    (SIGINT to the whole process group, data workers included): the step
    under way ends, a checkpoint is written, and --resume=true goes on."""
    out = tmp_path / "run"
    args = [f"--out_dir={out}", *TINY_RUN, "--eval_every=1000"]
    args.append(f"--num_workers={workers}")
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "training.train",
            *args,
            "--max_steps=200",  # ends by itself (and fails) if no signal comes
            "--log_every=1",
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal
    )
    assert run.stderr is not None
    for line in run.stderr:  # the log: wait for the first training step
        if " step 1:" in line:
            break
    os.killpg(run.pid, stop)
    _, rest = run.communicate(timeout=120)
    assert run.returncode == status, rest
    assert "go on with --resume=true" in rest
    stopped = torch.load(out / "ckpt.pt", weights_only=True)["step"]
    assert stopped >= 1
    # Saved without an evaluation: the weights say their metrics are older.
    meta = read_metadata((out / "last.safetensors").read_bytes())
    assert (json.loads(meta["step"]), json.loads(meta["metrics_step"])) == (stopped, 0)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="train"):
        assert main([*args, f"--max_steps={stopped + 1}", "--resume=true"]) == 0
    assert torch.load(out / "ckpt.pt", weights_only=True)["step"] == stopped + 1
    # The step it resumed from was evaluated when saved, and not again.
    evaluated = [r.getMessage().split(":")[0] for r in caplog.records]
    assert [m for m in evaluated if m.startswith("eval")] == [
        f"eval step {stopped + 1}"
    ]
    meta = read_metadata((out / "last.safetensors").read_bytes())
    assert json.loads(meta["metrics_step"]) == stopped + 1
    # Both parts of the run are in its log file, the resumed one appended.
    history = (out / "train.log").read_text()
    assert "go on with --resume=true" in history
    assert history.index("go on with") < history.index(f"eval step {stopped + 1}")


def test_torchrun_trains_on_two_processes(tmp_path: Path) -> None:
    """The multi-GPU path (DistributedDataParallel under torchrun), on two
    CPU processes: both ranks step together to the end and rank 0 saves."""
    out = tmp_path / "run"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "training.train",
        f"--out_dir={out}",
        *TINY_RUN,
        "--device=cpu",
        "--threads=1",
        "--eval_every=3",
        # A clock-limited run (the ranks share one clock; here the steps end it).
        "--max_minutes=30",
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert torch.load(out / "ckpt.pt", weights_only=True)["step"] == 3
    assert (
        json.loads(read_metadata((out / "last.safetensors").read_bytes())["step"]) == 3
    )


def test_weights_that_cannot_be_read_are_said_before_any_shot_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mistyped init_from was said only after the validation shots were
    made (minutes, on a full config)."""
    import training.data.generate

    def no_shots(*_: object, **__: object) -> None:
        raise AssertionError("a validation shot was made first")

    monkeypatch.setattr(training.data.generate, "generate_shot", no_shots)
    args = [f"--out_dir={tmp_path / 'run'}", *TINY_RUN, "--max_steps=1"]
    with pytest.raises(SystemExit, match=r"missing\.pt: cannot read the weights"):
        main([*args, f"--init_from={tmp_path / 'missing.pt'}"])


def test_a_warm_restart_from_older_or_shallower_weights(tmp_path: Path) -> None:
    """Weights trained before the key's fills were an input start a run that
    has them: the new read starts at zero, everything else is loaded. So do
    weights with fewer graph layers."""
    from engine.learned import MatchingModel, save_matcher

    torch.manual_seed(0)
    older = MatchingModel(
        {
            "encoder": {"backbone": {"dim": 32}},
            "matcher": {"layers": 2, "style_codes": 0},
            "work_side": 192,
        }
    )
    save_matcher(older, tmp_path / "older.safetensors", {"step": 1})
    out = tmp_path / "run"
    args = [
        f"--out_dir={out}",
        f"--init_from={tmp_path / 'older.safetensors'}",
        *TINY_RUN,
        "--max_steps=1",
        "--work_side=192",
    ]
    assert main(args) == 0
    trained = load_matcher(out / "last.safetensors").model
    assert trained.matcher.conf["style_codes"] == 16
    # Trained on the training share of the art, but from weights without a
    # record of theirs (so they saw it all): the weights have seen it all.
    meta = read_metadata((out / "last.safetensors").read_bytes())
    assert json.loads(meta["run_config"])["art"] == "train"
    assert json.loads(meta["art_seen"]) == "all"
    missing = [f"--init_from={tmp_path / 'missing.pt'}", f"--out_dir={tmp_path / 'x'}"]
    with pytest.raises(SystemExit, match=r"missing\.pt: cannot read the weights"):
        main([*args, *missing])
    # The stem moved by at most one step of the optimiser from the old one.
    stem = "encoder.backbone.stem.0.weight"
    delta = trained.state_dict()[stem] - older.state_dict()[stem]
    assert delta.abs().max() < 0.01
    with pytest.raises(SystemExit, match="do not fit"):
        main([*args, "--dim=16", f"--out_dir={tmp_path / 'other'}"])
    # A deeper network starts from them too: its added layers pass through.
    deeper = tmp_path / "deeper"
    assert main([*args, "--layers=3", f"--out_dir={deeper}"]) == 0
    deep = load_matcher(deeper / "last.safetensors").model
    assert deep.matcher.conf["layers"] == 3
    # The added layer started as pass-through: one step from zero.
    assert deep.matcher.self_layers[2].update.mlp[-1].weight.abs().max() < 0.01
    with pytest.raises(SystemExit, match="do not fit"):  # deeper weights
        main([*args, "--layers=1", f"--out_dir={tmp_path / 'shallower'}"])
