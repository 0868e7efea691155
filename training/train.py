"""Train the region matcher. One linear script, top to bottom:
config, data, model, evaluate(), learning-rate schedule, the loop, export.

    python -m training.train                                  # defaults
    python -m training.train training/configs/cpu.json --max_steps=20
    torchrun --standalone --nproc_per_node=8 -m training.train training/configs/gpu.json

A config file (JSON, keys of TrainConfig) overrides the defaults and
``--key=value`` flags override both. The same script runs on the CPU, on one
GPU (mixed precision), and on several GPUs or machines under torchrun
(DistributedDataParallel; each rank makes its own shots; the tests run it
on two CPU processes). Checkpoints go to
``out_dir``: ``ckpt.pt`` (for resuming: weights, optimizer, step, config,
data version, metrics), ``best.safetensors`` (the best weights so far by
the periodic validation) and ``last.safetensors`` (the latest), both in the
engine's shipped format with the model config and training record in the
metadata. ``--export=resources/matcher.safetensors`` copies the ``ship``
weights (best or last) there when the run ends; with ``--export_only=true``
it only does that.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from engine.gaps import DEFAULT_GAP
from engine.imageio import atomic_write_bytes
from training.data.art import art_seen

log = logging.getLogger("train")


@dataclass
class TrainConfig:
    # -- io
    out_dir: str = "runs/matcher"
    resume: bool = False  # continue from out_dir/ckpt.pt
    # Start from these weights (a .safetensors or a ckpt.pt of the same
    # architecture, or older or shallower: engine.learned.neutral_start)
    # with a fresh optimiser and schedule: a warm restart.
    init_from: str = ""
    export: str = ""  # when done, copy the shipped weights here (safetensors)
    export_only: bool = False  # only export (see ship)
    # Which weights to export: "best" (best periodic validation accuracy; a
    # few held-out shots, so noisy) or "last" (the end of the schedule).
    ship: str = "best"
    # -- data (training/pairs.py)
    seed: int = 1  # training shots: seeds 1.. ; evaluation uses eval_seed
    sources: str = "procedural,lottie,clipart"  # those that exist are used
    # Art files the Lottie and clip-art shots draw (training.data.art):
    # "train" keeps a fifth of them out, and the periodic validation uses
    # only that fifth ("heldout"); "all" draws every file (runs 1-6 did).
    art: str = "train"
    sizes: str = "320x320,384x288,448x256,384x384,512x288,640x360"
    frames: int = 16
    shots_per_batch: int = 2
    pairs_per_shot: int = 4
    long_share: float = 0.5  # share of long-range pairs
    # Gap closing of the frames the network sees, in px at the generated
    # frame's size (as the application segments them by default).
    gap: int = DEFAULT_GAP
    # Weight of the colour term of the loss (see match_loss); 0 trains on
    # part identity alone, as the first runs did.
    color_loss: float = 0.0
    num_workers: int = 1  # data processes per rank
    # Keys shown as an animator may leave them: each colour of a key, and a
    # whole key, unpainted with this probability (training.pairs.
    # key_style_codes).
    unpainted: float = 0.1
    # -- model (engine.learned.MatchingModel)
    work_side: int = 384
    dim: int = 64
    layers: int = 5
    heads: int = 4
    style_codes: int = 16  # width of the key's style codes; 0 = fills not input
    # Rounds of matching (GraphMatcher "rounds"): from the second on, the
    # target's regions read their tentative colours; needs style_codes.
    rounds: int = 1
    # -- optimisation
    max_steps: int = 6000
    lr: float = 1e-3
    min_lr: float = 5e-5
    warmup_steps: int = 200
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    max_minutes: float = 0.0  # stop (and keep the best) after this; 0 = never
    # -- evaluation and logging
    eval_every: int = 250
    eval_shots: int = 6
    eval_seed: int = 900001  # never a training seed
    eval_size: str = "384x288"
    log_every: int = 20
    # -- system
    device: str = "auto"  # auto, cpu, cuda
    threads: int = 2  # CPU threads for torch (the training machine is shared)


def parse_size(text: str) -> tuple[int, int]:
    """A config's WxH (training.data's reading, at least 64x64 here)."""
    from argparse import ArgumentTypeError

    from training.data.__main__ import parse_size as data_size

    try:
        w, h = data_size(text)
    except ArgumentTypeError:
        raise SystemExit(f"size {text!r}: use WIDTHxHEIGHT, as 384x288") from None
    if w < 64 or h < 64:
        raise SystemExit(f"size {text!r}: at least 64x64")
    return w, h


# Keys whose values may change when a run is resumed: how long it goes on,
# where it exports, where its folder is now (moved, or named from another
# working directory), and the machine it runs on. Any other change would
# make the resumed run another run (data, network, schedule, validation set).
RESUMABLE_CHANGES = frozenset(
    {
        "resume",
        "out_dir",
        "max_steps",
        "max_minutes",
        "export",
        "export_only",
        "ship",
        "num_workers",
        "log_every",
        "device",
        "threads",
    }
)


def network_conf(cfg: TrainConfig) -> dict[str, Any]:
    """The engine.learned.MatchingModel configuration of a new run."""
    return {
        "encoder": {"backbone": {"dim": cfg.dim}},
        "matcher": {
            "layers": cfg.layers,
            "heads": cfg.heads,
            "style_codes": cfg.style_codes,
            "rounds": cfg.rounds,
        },
        "work_side": cfg.work_side,
    }


def check_network(cfg: TrainConfig) -> None:
    """Refuse a network that cannot be built, before any shot is made."""
    from engine.learned import MatchingModel
    from engine.model.matcher import GraphMatcher

    rates = len(GraphMatcher.default_conf["locality"])
    if cfg.heads != rates:
        raise SystemExit(
            f"heads={cfg.heads}: use {rates}, one per locality rate of the "
            "matcher's cross-attention (engine.model.matcher)"
        )
    try:
        MatchingModel(network_conf(cfg))
    except ValueError as exc:
        raise SystemExit(f"the network cannot be built: {exc}") from None


def check_config(cfg: TrainConfig) -> None:
    """Refuse values that would crash the run later (after training time
    is spent) or train the wrong way without a word."""
    at_least = {
        "frames": 2,
        "shots_per_batch": 1,
        "pairs_per_shot": 1,
        "num_workers": 0,
        "work_side": 64,
        "dim": 8,
        "layers": 1,
        "heads": 1,
        "style_codes": 0,
        "rounds": 1,
        "max_steps": 1,
        "warmup_steps": 0,
        "eval_every": 1,
        "eval_shots": 1,
        "log_every": 1,
        "threads": 1,
        "gap": 0,
        "seed": 0,
        "eval_seed": 0,
    }
    for key, least in at_least.items():
        value = getattr(cfg, key)
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise SystemExit(f"{key}={value!r}: use a whole number of at least {least}")
    for key in ("lr", "min_lr", "weight_decay", "grad_clip", "max_minutes"):
        value = getattr(cfg, key)
        if not isinstance(value, int | float) or not 0 <= value < math.inf:
            raise SystemExit(f"{key}={value!r}: use a number of 0 or more")
    for key in ("long_share", "unpainted", "color_loss"):
        value = getattr(cfg, key)
        if not isinstance(value, int | float) or not 0 <= value <= 1:
            raise SystemExit(f"{key}={value!r}: use a number from 0 to 1")
    if cfg.lr <= 0 or cfg.min_lr > cfg.lr:
        raise SystemExit(
            f"lr={cfg.lr}, min_lr={cfg.min_lr}: use 0 <= min_lr <= lr, lr > 0"
        )
    if cfg.rounds > 1 and cfg.style_codes == 0:
        raise SystemExit(f"rounds={cfg.rounds}: needs the key's fills (style_codes)")
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise SystemExit(f"device={cfg.device!r}: use auto, cpu or cuda")
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("device=cuda: no CUDA device here (use auto or cpu)")
    if cfg.art not in ("train", "all"):
        raise SystemExit(
            f"art={cfg.art!r}: use train (held-out art kept for evaluation) or all"
        )
    if cfg.ship not in ("best", "last"):
        raise SystemExit(f"ship={cfg.ship!r}: use best or last")
    if cfg.export_only and not cfg.export:
        raise SystemExit("export_only=true: name the file with --export=FILE")
    for size in (*cfg.sizes.split(","), cfg.eval_size):
        parse_size(size)
    check_network(cfg)
    from training.pairs import available_sources

    try:
        available_sources(cfg.sources.split(","))
    except ValueError as exc:
        raise SystemExit(f"sources={cfg.sources!r}: {exc}") from None


# What a value of each TrainConfig field type must be, and its name in errors.
KINDS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "str": (str, "a string"),
    "bool": (bool, "true or false"),
    "int": (int, "a whole number"),
    "float": ((int, float), "a number"),
}


def load_config(argv: list[str]) -> TrainConfig:
    """Defaults, then an optional JSON file, then --key=value flags."""
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    values: dict[str, Any] = {}

    def put(key: str, value: Any, origin: str) -> None:
        if key not in fields:
            raise SystemExit(f"{origin}: unknown config key {key!r}")
        kind = str(fields[key].type)
        types, wanted = KINDS[kind]
        if isinstance(value, str) and kind != "str":
            if kind == "bool":
                if value.lower() not in ("1", "0", "true", "false", "yes", "no"):
                    raise SystemExit(f"{origin}: {key} takes {wanted}")
                value = value.lower() in ("1", "true", "yes")
            else:
                try:
                    value = {"int": int, "float": float}[kind](value)
                except ValueError:
                    raise SystemExit(f"{origin}: {key} takes {wanted}") from None
        # A JSON file's values come typed: a list or a number where a string
        # belongs would crash the run later (true, an int to Python, would
        # count as 1).
        if isinstance(value, bool) != (kind == "bool") or not isinstance(value, types):
            raise SystemExit(f"{origin}: {key} takes {wanted}, not {value!r}")
        values[key] = value

    for arg in argv:
        if arg.startswith("--"):
            key, sep, value = arg[2:].partition("=")
            if not sep:
                raise SystemExit(f"flag {arg!r}: use --key=value")
            put(key, value, arg)
        else:
            try:
                document = json.loads(Path(arg).read_text(encoding="utf-8"))
            except OSError as exc:
                raise SystemExit(
                    f"{arg}: cannot read ({exc.strerror or exc})"
                ) from None
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise SystemExit(f"{arg}: not valid JSON ({exc})") from None
            if not isinstance(document, dict):
                raise SystemExit(f"{arg}: expected a JSON object of config keys")
            for key, value in document.items():
                put(key, value, arg)
    cfg = TrainConfig(**values)
    check_config(cfg)
    return cfg


def validation_art(art: str) -> str:
    """The art of the periodic validation: the held-out share when the run
    trains on the rest."""
    return "heldout" if art == "train" else art


def lr_at(step: int, cfg: TrainConfig, minutes: float = 0.0) -> float:
    """Linear warmup, then cosine decay to min_lr at max_steps, or at
    max_minutes when the clock runs out first (``minutes`` since the start),
    so a run cut short by time still ends annealed."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(cfg.max_steps - cfg.warmup_steps, 1)
    if cfg.max_minutes > 0:
        progress = max(progress, minutes / cfg.max_minutes)
    progress = min(progress, 1.0)
    return cfg.min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (
        cfg.lr - cfg.min_lr
    )


def match_loss(
    log_probs: torch.Tensor, truth: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """-log of the probability summed over all correct columns, per target
    region with a known identity; returns (mean loss, per-row correct-argmax).

    With ``truth`` the same part (collate_pairs' ``truth``) this teaches which
    part a region is; with ``color_truth`` it is the loss of what the
    application paints (a region's colour sums its match probabilities over
    key regions of one colour), so it stops spending capacity on telling
    apart parts of one colour. The training loss is the first plus
    ``color_loss`` times the second."""
    rows = truth.any(dim=-1)
    picked = log_probs.masked_fill(~truth, -1e4).logsumexp(dim=-1)
    loss = -(picked[rows]).mean()
    best = log_probs.argmax(dim=-1, keepdim=True)
    correct = truth.gather(-1, best).squeeze(-1)
    return loss, correct[rows]


def initial_weights(path: str) -> tuple[dict[str, torch.Tensor], str]:
    """A model state dict, on the CPU, from shipped-style safetensors or a
    checkpoint (never unpickled: safetensors, or torch.load with
    weights_only), and the art those weights have seen: "train" only when
    their record says so (weights from before the art split saw it all)."""
    if path.endswith(".pt"):
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
        config = json.loads(ckpt.get("config", "{}"))
        return ckpt["model"], art_seen(ckpt.get("art_seen"), config)
    from safetensors.torch import load

    from engine.learned import read_metadata

    data = Path(path).read_bytes()
    meta = read_metadata(data)
    config = json.loads(meta.get("run_config", "{}"))
    recorded = json.loads(meta["art_seen"]) if "art_seen" in meta else None
    return load(data), art_seen(recorded, config)


def _names(keys: list[str], shown: int = 4) -> str:
    """A few parameter names and how many more: a whole layer is dozens."""
    more = f" and {len(keys) - shown} more" if len(keys) > shown else ""
    return f"{keys[:shown]}{more}"


def _as_is(pairs: list) -> list:
    return pairs


def _leave_stopping_to_the_main_process(_: int) -> None:
    """Data workers ignore SIGTERM and Ctrl-C's SIGINT (sent to the whole
    process group): the main process finishes its step and saves, then
    stops them."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def export(weights: Path, target: str) -> None:
    """Copy checked weights to ``target`` atomically (it may be the shipped
    file: a copy cut short must not leave it truncated)."""
    from engine.errors import ModelError
    from engine.learned import model_from_bytes

    try:
        data = weights.read_bytes()
        model_from_bytes(data, str(weights))  # refuse a bad file
        atomic_write_bytes(target, data)
    except OSError as exc:
        raise SystemExit(
            f"export {weights} -> {target}: {exc.strerror or exc}"
        ) from None
    except ModelError as exc:
        raise SystemExit(f"export {weights}: {exc}") from None
    log.info("exported %s -> %s", weights, target)


def run_to_resume(cfg: TrainConfig, out_dir: Path) -> dict[str, Any] | None:
    """The checkpoint a resumed run goes on from (None for a new run). A new
    run never overwrites another run's checkpoints, and a resumed one goes on
    with the config it began with.

    Loaded on the CPU: load_state_dict copies to the model's device, and the
    optimiser's step counts must stay on the CPU (else every step syncs with
    the GPU once per parameter)."""
    ckpt_path = out_dir / "ckpt.pt"
    if not cfg.resume:
        # Weights kept without their checkpoint (to ship them, say) are a
        # run's too: a new run would write over them.
        held = [
            name
            for name in ("ckpt.pt", "best.safetensors", "last.safetensors")
            if (out_dir / name).exists()
        ]
        if held:
            raise SystemExit(
                f"{out_dir} holds a run already ({', '.join(held)}): "
                + ("go on with --resume=true, or " if ckpt_path.exists() else "")
                + "choose another --out_dir"
            )
        return None
    try:
        ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        before = json.loads(ckpt["config"])
        legacy = "art" not in before
        before.setdefault("art", "all")  # runs from before the split drew all art
    except FileNotFoundError:
        raise SystemExit(f"--resume=true: no checkpoint {ckpt_path}") from None
    except Exception as exc:
        raise SystemExit(f"--resume=true: {ckpt_path} cannot be read ({exc})") from None
    now = asdict(cfg)
    changed = [
        f"{key} {before[key]!r} -> {now[key]!r}"
        for key in now
        if key in before and before[key] != now[key] and key not in RESUMABLE_CHANGES
    ]
    if changed:
        raise SystemExit(
            f"--resume=true: the config differs from the run's in {'; '.join(changed)}"
            " (pass the config file the run began with"
            + (
                ", and --art=all: it began before the art split"
                if legacy and now["art"] != "all"
                else ""
            )
            + ")"
        )
    return ckpt


def log_to_file(path: Path | None) -> None:
    """Also log to ``path`` (appending: a resumed run goes on with its log),
    so a run started in the background keeps its history beside its
    weights; None closes the file. One file at a time per process."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "cadmium_run", False)]:
        root.removeHandler(handler)
        handler.close()
    if path is not None:
        handler = logging.FileHandler(path, encoding="utf-8")
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")
        )
        handler.cadmium_run = True  # type: ignore[attr-defined]
        root.addHandler(handler)


def main(argv: list[str]) -> int:
    """Train (see the module's docstring); the exit status."""
    try:
        return train(argv)
    finally:
        log_to_file(None)  # however it ends: the run's folder stays removable


def train(argv: list[str]) -> int:
    cfg = load_config(argv)
    # `kill PID` (a scheduler's or `timeout`'s SIGTERM) or Ctrl-C ends the
    # run after the step under way, with a checkpoint to go on from
    # (--resume=true); a second one exits at once.
    stop_asked = threading.Event()
    stopped_by: list[int] = []  # the signal: the exit status says which

    def ask_stop(signum: int, _frame: object) -> None:
        if stop_asked.is_set():
            sys.exit(128 + signum)
        stopped_by.append(signum)
        stop_asked.set()
        log.info("stopping after this step (again to stop at once)")

    signal.signal(signal.SIGTERM, ask_stop)
    signal.signal(signal.SIGINT, ask_stop)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S"
    )
    out_dir = Path(cfg.out_dir)

    from engine.learned import (
        MatchingModel,
        neutral_start,
        rebuild_model,
        save_matcher,
    )
    from training.pairs import (
        PairBatches,
        available_sources,
        collate_pairs,
        data_version,
        sample_pairs,
    )

    shipped = out_dir / f"{cfg.ship}.safetensors"
    if cfg.export_only:
        export(shipped, cfg.export)
        return 0
    ckpt = run_to_resume(cfg, out_dir)

    # -- distributed and device -------------------------------------------
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    distributed = world_size > 1
    rank, local_rank = 0, 0
    if cfg.device == "auto":
        cfg.device = "cuda" if torch.cuda.is_available() else "cpu"
    if distributed:
        rank, local_rank = int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"])
        torch.distributed.init_process_group("nccl" if cfg.device == "cuda" else "gloo")
    device = torch.device(f"cuda:{local_rank}" if cfg.device == "cuda" else "cpu")
    if device.type == "cuda":
        torch.cuda.set_device(device)
    master = rank == 0
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed + rank)
    use_amp = device.type == "cuda"
    amp_dtype = (
        torch.bfloat16
        if use_amp and torch.cuda.is_bf16_supported(including_emulation=False)
        else torch.float16
    )
    scaler = torch.amp.GradScaler(enabled=use_amp and amp_dtype == torch.float16)
    if master:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            log_to_file(out_dir / "train.log")
        except OSError as exc:
            raise SystemExit(
                f"out_dir {out_dir}: cannot write ({exc.strerror or exc})"
            ) from None
        log.info("config: %s", json.dumps(asdict(cfg), sort_keys=True))
        if cfg.warmup_steps >= cfg.max_steps:
            log.warning(
                "warmup_steps %d >= max_steps %d: the learning rate never reaches lr",
                cfg.warmup_steps,
                cfg.max_steps,
            )

    # -- data ----------------------------------------------------------------
    sources = available_sources(cfg.sources.split(","), cfg.art)
    version = data_version()
    sizes = [parse_size(s) for s in cfg.sizes.split(",")]
    # A resumed run goes on with new shots, not the ones it began with.
    start_step = 0 if ckpt is None else int(ckpt["step"])
    batches = PairBatches(
        seed=cfg.seed,
        sizes=sizes,
        frames=cfg.frames,
        sources=sources,
        shots_per_batch=cfg.shots_per_batch,
        pairs_per_shot=cfg.pairs_per_shot,
        work_side=cfg.work_side,
        long_share=cfg.long_share,
        gap=cfg.gap,
        art=cfg.art,
        rank=rank,
        world_size=world_size,
        start=start_step,
    )
    loader = torch.utils.data.DataLoader(
        batches,
        batch_size=None,
        num_workers=cfg.num_workers,
        collate_fn=_as_is,
        prefetch_factor=2 if cfg.num_workers else None,
        persistent_workers=cfg.num_workers > 0,
        worker_init_fn=_leave_stopping_to_the_main_process,
        # Forked workers can deadlock on locks held by the parent's thread
        # pools (OpenMP, the SVG and Lottie renderers); spawn starts clean.
        multiprocessing_context="spawn" if cfg.num_workers else None,
    )

    # -- model ---------------------------------------------------------------
    if ckpt is not None:
        # The network the run began with (a config may have gained keys).
        model = rebuild_model(json.loads(ckpt["model_conf"])).to(device)
    else:
        model = MatchingModel(network_conf(cfg)).to(device)
    # The width of the keys' style codes is the network's, not the config's.
    style_width = int(model.matcher.conf["style_codes"])
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay
    )
    step, best_score, metrics = 0, -1.0, {}
    measured = 0  # the step the metrics were measured at
    # The art these weights have seen: a run on the training share that
    # starts from weights that saw everything has seen everything.
    seen = cfg.art
    minutes_before = 0.0
    if cfg.init_from and ckpt is None:
        # Older weights may lack parameters added since, and shallower ones
        # the last graph layers: both start out leaving the network as it
        # was (engine.learned.neutral_start).
        try:
            state, seen_before = initial_weights(cfg.init_from)
        except Exception as exc:  # missing, truncated, foreign: one line each
            raise SystemExit(
                f"init_from {cfg.init_from}: cannot read the weights ({exc})"
            ) from None
        if seen_before != "train":
            seen = "all"
        try:
            result = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # a tensor of another shape
            detail = str(exc).strip().splitlines()[-1].strip()
            raise SystemExit(
                f"init_from {cfg.init_from}: weights do not fit the network ({detail})"
            ) from None
        added = neutral_start(model, result.missing_keys)
        if result.unexpected_keys or len(added) != len(result.missing_keys):
            raise SystemExit(
                f"init_from {cfg.init_from}: weights do not fit the network "
                f"(missing {_names(result.missing_keys)}, "
                f"unexpected {_names(result.unexpected_keys)})"
            )
        log.info(
            "weights from %s%s",
            cfg.init_from,
            f"; {len(added)} tensors added since keep their neutral start"
            if added
            else "",
        )
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        step, best_score, metrics = ckpt["step"], ckpt["best_score"], ckpt["metrics"]
        measured = int(ckpt.get("metrics_step", step))
        seen = ckpt.get("art_seen", seen)
        # Time already trained: max_minutes and the schedule count the run's
        # whole time, across resumes.
        minutes_before = float(ckpt.get("minutes", 0.0))
        if master and (step >= cfg.max_steps or 0 < cfg.max_minutes < minutes_before):
            log.info(
                "the run ended at step %d (max_steps %d, max_minutes %g): "
                "nothing to train; raise them to go on",
                step,
                cfg.max_steps,
                cfg.max_minutes,
            )
    raw_model = model
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[local_rank] if device.type == "cuda" else None
        )
    if master:
        n_params = sum(p.numel() for p in raw_model.parameters())
        log.info(
            "model: %.2fM parameters; sources %s; data %s",
            n_params / 1e6,
            sources,
            version,
        )

    @torch.no_grad()
    def evaluate() -> dict[str, float]:
        """Validation loss and match accuracy (argmax in the correct set)."""
        raw_model.eval()
        result = {}
        for kind, pairs in val_pairs.items():
            losses, correct, color_correct = [], [], []
            for i in range(0, len(pairs), 8):
                data = collate_pairs(pairs[i : i + 8], device, style_width=style_width)
                with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
                    out = raw_model(data)
                loss, ok = match_loss(out["log_probs"], data["truth"])
                _, color_ok = match_loss(out["log_probs"], data["color_truth"])
                losses.append(loss.item())
                correct.append(ok.float())
                color_correct.append(color_ok.float())
            result[f"{kind}_loss"] = float(np.mean(losses))
            result[f"{kind}_acc"] = float(torch.cat(correct).mean())
            result[f"{kind}_color_acc"] = float(torch.cat(color_correct).mean())
        raw_model.train()
        return result

    def save(step: int, metrics: dict[str, float], best: bool) -> None:
        record = {
            "step": step,
            "metrics": metrics,
            # A run stopped from outside saves without evaluating: its
            # metrics are those of the last evaluation.
            "metrics_step": measured,
            "art_seen": seen,  # training.data.art.art_seen
            "data_version": version,
        }
        info = {**record, "run_config": asdict(cfg), "sources": list(sources)}
        # Every file is written atomically: a run killed while saving keeps
        # the previous checkpoint whole.
        if best:
            save_matcher(raw_model, out_dir / "best.safetensors", info)
        save_matcher(raw_model, out_dir / "last.safetensors", info)
        state = {
            **record,
            "model": raw_model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "model_conf": json.dumps(raw_model.conf),
            "best_score": best_score,
            "config": json.dumps(asdict(cfg)),
            "minutes": (time.time() - started) / 60,
        }
        buffer = io.BytesIO()
        torch.save(state, buffer)
        atomic_write_bytes(out_dir / "ckpt.pt", buffer.getvalue())

    # Validation pairs: every drawing of a few held-out shots against the
    # shot's first drawing (long range) and against the drawing before it.
    # Made once the weights have loaded (an init_from that cannot be read
    # is said at once, not after minutes of making shots).
    val_pairs: dict[str, list] = {"short": [], "long": []}
    if master:
        val_art = validation_art(cfg.art)
        val_sources = available_sources(cfg.sources.split(","), val_art)
        from training.data.generate import generate_shot

        rng = np.random.default_rng(0)
        for index in range(cfg.eval_shots):
            shot = generate_shot(
                cfg.eval_seed,
                index,
                size=parse_size(cfg.eval_size),
                frames=cfg.frames,
                sources=val_sources,
                art=val_art,
            )
            for kind, share in (("short", 0.0), ("long", 1.0)):
                val_pairs[kind] += sample_pairs(
                    shot, rng, 4, cfg.work_side, long_share=share, gap=cfg.gap
                )

    # -- the loop ------------------------------------------------------------
    # Fresh style codes every batch (a resumed run draws new ones).
    style_rng = np.random.default_rng([cfg.seed, rank, step])
    # The run's start, as if it had never been interrupted.
    started = time.time() - 60 * minutes_before
    # No evaluation at the step a run starts from: step 0, or a resumed
    # step, saved (and evaluated, unless the run was stopped) before.
    first_step = step
    stopping = False
    model.train()
    window_loss, window_acc, window_time = [], [], time.time()
    for pairs in loader:
        minutes = (time.time() - started) / 60
        stopping = stop_asked.is_set()
        if distributed:
            # The clock and a stop decide the last step, and the clock the
            # learning rate: every rank must read the same, or they stop at
            # different steps (and wait for each other forever) and their
            # weights drift apart.
            shared = torch.tensor(
                [minutes, float(stopping)], dtype=torch.float64, device=device
            )
            torch.distributed.all_reduce(shared, op=torch.distributed.ReduceOp.MAX)
            minutes, stopping = float(shared[0]), bool(shared[1] > 0)
        last = (
            stopping
            or step >= cfg.max_steps
            or (cfg.max_minutes > 0 and minutes > cfg.max_minutes)
        )
        if master and stopping and step > first_step:
            # Stopped from outside: save before the sender's grace runs out
            # (torchrun's and schedulers' are about 30 s); the evaluation
            # waits for the next slice.
            save(step, metrics, best=False)
        elif master and (step % cfg.eval_every == 0 or last) and step > first_step:
            metrics, measured = evaluate(), step
            score = 0.5 * (metrics["short_acc"] + metrics["long_acc"])
            is_best = score > best_score
            best_score = max(best_score, score)
            save(step, metrics, is_best)
            log.info(
                "eval step %d: %s%s",
                step,
                " ".join(f"{k} {v:.4f}" for k, v in metrics.items()),
                " (best)" if is_best else "",
            )
        if last:
            break
        lr = lr_at(step, cfg, minutes)
        for group in optimizer.param_groups:
            group["lr"] = lr
        data = collate_pairs(
            pairs,
            device,
            style_width=style_width,
            rng=style_rng,
            unpainted=cfg.unpainted,
        )
        with torch.autocast(device.type, dtype=amp_dtype, enabled=use_amp):
            out = model(data)
        loss, ok = match_loss(out["log_probs"], data["truth"])
        if cfg.color_loss:
            color_loss, _ = match_loss(out["log_probs"], data["color_truth"])
            loss = loss + cfg.color_loss * color_loss
        if not torch.isfinite(loss):
            # A degenerate batch (a frame without regions); every rank skips
            # it together only if all see it, so under DDP it is an error.
            if distributed:
                raise RuntimeError(f"non-finite loss at step {step}")
            log.warning("step %d: non-finite loss, batch skipped", step)
            continue
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        step += 1
        window_loss.append(loss.item())
        window_acc.append(ok.float().mean().item())
        if master and step % cfg.log_every == 0:
            elapsed = time.time() - window_time
            log.info(
                "step %d: loss %.4f acc %.4f lr %.2e %.2fs/step (%.1f min)",
                step,
                np.mean(window_loss),
                np.mean(window_acc),
                lr,
                elapsed / len(window_loss),
                (time.time() - started) / 60,
            )
            window_loss, window_acc, window_time = [], [], time.time()

    if stopping and master:
        if step > first_step:
            log.info("stopped at step %d; go on with --resume=true", step)
        else:
            log.info("stopped before a step was taken; nothing new was saved")
    elif master and cfg.export:
        export(shipped, cfg.export)
    if distributed:
        # The DDP wrapper goes before its process group, or tearing it down
        # at exit can wait forever on the group; and every rank waits for
        # rank 0's last evaluation and save.
        del model
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    # 143 after SIGTERM, 130 after Ctrl-C, as a shell reports them.
    return 128 + (stopped_by[0] if stopped_by else signal.SIGTERM) if stopping else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
