"""Propagation: paint every frame of a shot from its painted keys.

For each frame, the nearest key before it and the nearest key after it vote
for each region's style (see engine.matching.vote), weighted by how close in
time each key is. When the key before is more than ``chain_after`` frames
away, the frame just before (already painted by this same pass) votes too,
which follows slow drift that a distant key alone would miss.

How votes combine (`combine_votes`). Each vote spreads a region over the
styles and "unknown": no match, a key region that is unpainted or flagged
for review, or the doubt in a propagated fill (its confidence below 1).
"Unknown" counts only as far as *every* vote says it (the product of the
votes' unknown shares); the rest goes to the styles in proportion to their
weighted votes, and the region is left unpainted (and flagged) when the
product outweighs the best style. So a part that appears after the key
before, and is painted in the key after, takes the key after's colour even
when the key before is nearer and has no match for it. A region's
confidence is its style's share of all the weighted votes, "unknown"
included, so such a part is flagged when the key that has it is the
farther one; below ``flag_below`` a region is flagged. What the animator
painted is never overwritten.

A key the animator has only begun (one stroke on a bare frame makes a key)
is blank elsewhere. Blank key regions say nothing: the share of a vote that
falls on them is filled with what the other votes say, and stays "unknown"
where no other vote says anything (`Vote.blank`; nothing is scaled up).
Before, one stroke halved the confidence of every region in the frames
around it: on the sample shot, keys 1, 12 and 24 flag 24 regions, and one
stroke on frame 6 made that 442. Now 56: frame 6's own 3, and the 53 that
frame 6 finished would give the frames around it (`python
benchmarks/begun_key_flags.py`). Propagated again, the begun key votes with
the fills the first run gave it too, like any key holding propagated fills
(a frame marked as a key, say), with their doubt: 61.

The pass runs once through the shot in frame order and holds at most four
analysed frames at a time (the two keys, the previous frame and the current
one), plus the frames analysed ahead for a batch, so memory does not grow
with the length of the shot.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.errors import CadmiumError
from engine.fills import ALTERNATIVES, ORIGIN_PROPAGATED, FillMap
from engine.matching import Correspondence, Frame, Matcher, Vote, vote
from engine.palette import UNPAINTED
from engine.regions import Regions

# Most region pairs (key regions x the largest target's regions x targets:
# the pass pads every target to the largest) matched in one call when a
# batch of frames is read ahead: about 40 MB of scores; ordinary frames
# (hundreds of regions) fit eight to a call.
BATCH_PAIRS = 2_000_000


@dataclass(frozen=True)
class PropagationSettings:
    """flag_below: confidence under which a region is flagged for review.
    chain_after: key distance (frames) beyond which the previous painted frame
    also votes, with weight ``chain_weight`` (the keys' weights sum to 1).

    The frame before follows slow drift, but it passes on its own mistakes.
    Measured with the learned matcher on whole held-out shots (keys every 12
    frames; `python -m training.evaluate_shots --shots 3 --chain-weight W`):
    segment accuracy 0.738 at weight 1, 0.765 at 0.3, 0.771 without it;
    0.3 keeps most of the accuracy, and its extra review flags. With later
    weights (run 5) and votes combined as now, both give 0.813, and 0.3
    leaves 1.0% wrong without a flag (26% flagged) against 1.3% (23%)
    without it (`--chain-after 1000000`).
    The same shots put the flag threshold at 0.7: with the shipped weights
    26% of regions flagged and 1.0% painted wrong without a flag, against
    23% and 1.5% at 0.6 and 30% and 0.7% at 0.8 (`--flag-sweep
    0.5,0.6,0.7,0.8`).
    """

    flag_below: float = 0.7
    chain_after: int = 3
    chain_weight: float = 0.3


@dataclass(frozen=True)
class FrameResult:
    """The fills of one frame after propagation, and how they were made."""

    number: int
    fills: FillMap
    keys_used: tuple[int, ...]
    # The analysed frame these fills belong to: writers use it instead of
    # analysing the frame again.
    frame: Frame = field(compare=False, repr=False)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def flagged(self) -> np.ndarray:
        return np.flatnonzero(self.fills.flagged)

    @property
    def unpainted(self) -> np.ndarray:
        return np.flatnonzero(self.fills.needs_paint)


def neighbouring_keys(frame: int, keys: Sequence[int]) -> tuple[int | None, int | None]:
    """The nearest key strictly before and strictly after ``frame``."""
    ordered = sorted(keys)
    i = bisect.bisect_left(ordered, frame)
    before = ordered[i - 1] if i > 0 else None
    j = bisect.bisect_right(ordered, frame)
    after = ordered[j] if j < len(ordered) else None
    return before, after


def combine_votes(
    votes: Sequence[tuple[Vote, float]], settings: PropagationSettings, n_styles: int
) -> FillMap:
    """Weighted votes to fills (origin: propagated); see the module's notes.
    A vote of weight 0 takes no part.

    Measured on whole held-out shots (`python -m training.evaluate_shots
    --shots 3`, keys every 12 frames): weighing "unknown" like a style, a
    nearer key that has no match outvoted a farther key that had the part
    (0.788 segment accuracy, 24% flagged, 1.1% wrong without a flag);
    taking it only where every vote agrees, and not passing on fills
    flagged for review, gives 0.813, 26% and 1.0%.
    """
    votes = [(v, w) for v, w in votes if w > 0]
    if not votes:
        raise ValueError("combine_votes needs a vote of positive weight")
    total = sum(w for _, w in votes)
    shares = _filled_shares(votes, n_styles, total) / total
    if len(votes) == 1:
        decided = shares  # the product of one vote is that vote
    else:
        known = shares[:, :n_styles]
        # Blank shares count as unknown here: a vote that says nothing of a
        # region leaves the product to the others.
        unknown = np.prod([v.scores[:, n_styles] for v, _ in votes], axis=0)
        # The mass no vote leaves unknown, spread like the styles' votes.
        scale = (1.0 - unknown) / np.maximum(known.sum(axis=1), 1e-12)
        decided = np.concatenate([known * scale[:, None], unknown[:, None]], axis=1)
    best = decided.argmax(axis=1)  # a tie goes to the style
    no_match = best == n_styles
    confidence = np.clip(shares[np.arange(len(best)), best], 0.0, 1.0)
    style = np.where(no_match, UNPAINTED, best).astype(np.int32)
    flagged = no_match | (confidence < settings.flag_below)
    origin = np.where(no_match, 0, ORIGIN_PROPAGATED).astype(np.uint8)
    return FillMap(
        style=style,
        origin=origin,
        confidence=np.where(no_match, 0.0, confidence).astype(np.float32),
        flagged=flagged,
        alternatives=_runners_up(decided[:, :n_styles], style),
    )


def _runners_up(shares: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """int32 [n x ALTERNATIVES]: per region, the styles of largest share
    other than ``chosen``, largest first (UNPAINTED past those with any
    share, however small: on the validation shots a guess of 0.1% share is
    still right more often than a neighbour's style); see
    FillMap.alternatives."""
    n, n_styles = shares.shape
    out = np.full((n, ALTERNATIVES), UNPAINTED, np.int32)
    if n == 0 or n_styles == 0:
        return out
    shares = shares.copy()
    painted = chosen != UNPAINTED
    shares[np.flatnonzero(painted), chosen[painted]] = 0.0
    order = np.argsort(-shares, axis=1, kind="stable")[:, :ALTERNATIVES]
    taken = np.take_along_axis(shares, order, axis=1) > 0
    out[:, : order.shape[1]] = np.where(taken, order, UNPAINTED)
    return out


def keep_unread_flags(key: FillMap, filled: FillMap) -> FillMap:
    """``filled`` (a key frame's fills with propagation's under them) with
    the key's unread regions still flagged: those it left unpainted and
    flagged (no main colour: noise, soft shading, or parts run together
    through a gap left open). Propagation paints them from the other keys,
    but the key had paint there that it did not match: never a silent fill.
    A run after that sees them painted by propagation and flagged: still
    unread, until the animator accepts or paints them."""
    unread = key.flagged & ~key.by_animator
    return filled.replace(flagged=filled.flagged | unread)


def _filled_shares(
    votes: Sequence[tuple[Vote, float]], n_styles: int, total: float
) -> np.ndarray:
    """The weighted sum of the votes (weights summing to ``total``)
    [n x (n_styles + 1)], float64, where the
    share of a vote that falls on blank key regions (Vote.blank) is filled
    with what the other votes say, as they say it: their own blank and "no
    match" shares stay unknown, so nothing is scaled up. With no other vote
    it stays unknown."""
    scores = [v.scores.astype(np.float64) for v, _ in votes]
    summed = sum(w * s for (_, w), s in zip(votes, scores, strict=True))
    assert isinstance(summed, np.ndarray)
    if len(votes) == 1 or all(v.blank is None for v, _ in votes):
        return summed
    filled = summed.copy()
    for (v, w), s in zip(votes, scores, strict=True):
        if v.blank is None:
            continue
        blank = np.minimum(v.blank.astype(np.float64), s[:, n_styles])
        others = (summed - w * s) / (total - w)
        filled[:, n_styles] -= w * blank
        filled += (w * blank)[:, None] * others
    return filled


# Animator fills to keep: frame -> fills, or (number, regions) -> fills.
AnimatorFills = Mapping[int, FillMap] | Callable[[int, Regions], FillMap | None]


def _own_fills(
    keys: Mapping[int, FillMap], painted: AnimatorFills | None
) -> Callable[[Frame], FillMap | None]:
    """A frame's animator fills, asked of ``painted`` once per frame; a
    key's own fills are the animator's, whether or not ``painted`` says so."""
    known: dict[int, FillMap | None] = {}

    def own(frame: Frame) -> FillMap | None:
        number = frame.number
        if number not in known:
            if painted is None:
                found = None
            elif isinstance(painted, Mapping):
                found = painted.get(number)
            else:
                found = painted(number, frame.regions)
            known[number] = found if found is not None else keys.get(number)
        return known[number]

    return own


def propagate(
    *,
    frames: Sequence[int],
    keys: Mapping[int, FillMap],
    analyse: Callable[[int], Frame],
    matcher: Matcher,
    n_styles: int,
    painted: AnimatorFills | None = None,
    targets: Sequence[int] | None = None,
    settings: PropagationSettings = PropagationSettings(),
    cancelled: Callable[[], bool] = lambda: False,
    batch_frames: int = 1,
    unreadable: Callable[[int, CadmiumError], None] | None = None,
) -> Iterator[FrameResult]:
    """Yield the propagated fills of each target frame, in frame order.

    frames:  every frame number of the shot (chaining walks through them).
    keys:    key frame -> its fills (the colours propagation starts from).
    analyse: frame number -> analysed Frame; called once per frame per pass.
    painted: animator fills kept as they are (keys included): frame ->
             fills, or a function of a frame's number and regions, asked
             once per frame when it is analysed (fills fitted to a frame's
             regions then need no analysis of their own).
    targets: the frames to paint (default: all); the pass still walks from
             the key before the first target so chaining has its history.
    batch_frames: when above 1 and the matcher can ``prepare`` frames (the
             learned one: its CNN features), the next ``batch_frames`` frames
             are analysed ahead and prepared in one call, and those between
             the same two keys are matched to each key in one call
             (``match_many``), which keeps a GPU busy; the results are the
             same as frame by frame.
    unreadable: when given, a frame other than a key whose analysis fails
             (a truncated file, another size) is passed to it with the error
             and skipped:
             it yields nothing, and the frame after it is not chained from
             it. Without it the error ends the pass.
    """
    own_fills = _own_fills(keys, painted)
    key_numbers = sorted(keys)
    if not key_numbers:
        raise ValueError("propagation needs at least one key")
    wanted = set(frames if targets is None else targets)
    order = sorted(frames)
    first_target = min(wanted) if wanted else None
    if first_target is not None:
        before, _ = neighbouring_keys(first_target, key_numbers)
        start = before if before is not None else first_target
        order = [f for f in order if f >= start and f <= max(wanted)]

    prepare = getattr(matcher, "prepare", None) if batch_frames > 1 else None
    match_many = getattr(matcher, "match_many", None) if prepare else None
    ahead: dict[int, Frame] = {}  # analysed ahead of their turn, for a batch
    # Key matches made for frames read ahead, with the current frame's:
    # (key, frame) -> correspondence.
    premade: dict[tuple[int, int], Correspondence] = {}
    held: dict[int, Frame] = {}  # the keys in use (before, after, current)
    previous: tuple[Frame, FillMap] | None = None

    def needs_votes(frame: Frame) -> bool:
        own = own_fills(frame)
        if own is not None and bool(own.by_animator.all()):
            return False
        return frame.number in wanted or frame.number not in keys

    def key_match(key: int, frame: Frame) -> Correspondence:
        """The key's match for the frame; with a batch read ahead, the
        frames ahead that lie between the same two keys are matched to this
        key in the same call."""
        made = premade.pop((key, frame.number), None)
        if made is not None:
            return made
        if match_many is None:
            return matcher.match(held[key], keys[key], frame)
        span = neighbouring_keys(frame.number, key_numbers)
        group = [frame]
        most = frame.regions.count  # the pass pads every target to the largest
        for n in sorted(ahead):
            if n <= frame.number or neighbouring_keys(n, key_numbers) != span:
                continue
            if not needs_votes(ahead[n]):
                continue
            most = max(most, ahead[n].regions.count)
            if held[key].regions.count * most * (len(group) + 1) > BATCH_PAIRS:
                break
            group.append(ahead[n])
        found = match_many(held[key], keys[key], group)
        for other, corr in zip(group[1:], found[1:], strict=True):
            premade[key, other.number] = corr
        return found[0]

    def get(number: int) -> Frame:
        """An analysed frame, reusing one held or read ahead: each frame is
        analysed once per pass."""
        if number in held:
            return held[number]
        if number in ahead:
            return ahead[number]
        return analyse(number)

    for at, number in enumerate(order):
        if cancelled():
            return
        started = time.perf_counter()
        before, after = neighbouring_keys(number, key_numbers)
        # Keys first: they may still be cached from reading their fills.
        for key in (before, after):
            if key is not None and key not in held:
                held[key] = get(key)
        if prepare is not None and number not in ahead and number not in held:
            for upcoming in order[at : at + batch_frames]:
                try:
                    ahead[upcoming] = get(upcoming)
                except CadmiumError:
                    if unreadable is None or upcoming in keys:
                        raise
                    # Said and skipped when its turn comes.
            prepare([*ahead.values(), *held.values()])
        try:
            frame = get(number)
        except CadmiumError as exc:
            if unreadable is None or number in keys:
                raise
            if number in wanted:  # not a frame walked through for chaining
                unreadable(number, exc)
            previous = None
            continue
        ahead.pop(number, None)
        if number in keys:
            held[number] = frame  # the key before the frames that follow
        held = {k: v for k, v in held.items() if k in (before, after, number)}
        analysed = time.perf_counter()

        own = own_fills(frame)
        if not needs_votes(frame):
            result_fills = own if own is not None else keys[number]
            used: tuple[int, ...] = ()
        else:
            votes: list[tuple[Vote, float]] = []
            span = (after - before) if before is not None and after is not None else 0
            for key, distance in (
                (before, number - (before or 0)),
                (after, (after or 0) - number),
            ):
                if key is None:
                    continue
                weight = 1.0 if span == 0 else 1.0 - distance / span
                corr = key_match(key, frame)
                votes.append((vote(corr, keys[key], n_styles), max(weight, 1e-3)))
            if (
                previous is not None
                and before is not None
                and number - before > settings.chain_after
                and previous[0].number == number - 1
            ):
                prev_frame, prev_fills = previous
                corr = matcher.match(prev_frame, prev_fills, frame)
                votes.append((vote(corr, prev_fills, n_styles), settings.chain_weight))
            used = tuple(k for k in (before, after) if k is not None)
            if not votes:  # a lone partial key: nothing else to learn from
                assert own is not None
                result_fills = own
            else:
                propagated = combine_votes(votes, settings, n_styles)
                result_fills = (
                    own.merged_under(propagated) if own is not None else propagated
                )
                if own is not None and number in keys:
                    result_fills = keep_unread_flags(own, result_fills)
        matched = time.perf_counter()
        previous = (frame, result_fills)
        if number in wanted:
            yield FrameResult(
                number=number,
                fills=result_fills,
                keys_used=used,
                frame=frame,
                timings={
                    "analyse_ms": (analysed - started) * 1000.0,
                    "match_ms": (matched - analysed) * 1000.0,
                },
            )
