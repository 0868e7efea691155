"""A tiny 2D cut-out rig: bones with animated angles, parts drawn on bones.

A :class:`Scene` is a list of bones (a forest) and a list of parts in
painter's order. Posing it at a time gives one world matrix per bone;
rasterising fills every visible part's polygons into a partition map, with
the camera applied last. Part ids are fixed when the scene is built, which
is what makes identities stable across frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from training.data import shapes
from training.data.raster import INK, fill_polygon

# A bone's local transform at time t (seconds), relative to its parent.
Motion = Callable[[float], np.ndarray]


def static(matrix: np.ndarray) -> Motion:
    return lambda t: matrix


def swing(
    x: float, y: float, base: float, amp: float, freq: float, phase: float
) -> Motion:
    """A joint at (x, y) in the parent's frame, rotating sinusoidally."""

    def motion(t: float) -> np.ndarray:
        angle = base + amp * np.sin(2.0 * np.pi * freq * t + phase)
        return shapes.translate(x, y) @ shapes.rotate(angle)

    return motion


@dataclass
class Bone:
    parent: int  # index of the parent bone, -1 for a root
    motion: Motion


@dataclass
class Part:
    """One colour region of the drawing, possibly made of several polygons.

    clip_to:  id of the part this one is painted inside (shadow, pupil);
              0 for none. Only pixels showing that part change.
    trace:    line kind of the boundary with ``clip_to`` (INK or TRACE_*).
    visible:  visibility per drawing; None means always.
    """

    name: str
    bone: int
    polygons: list[np.ndarray]
    color: tuple[int, int, int, int]
    clip_to: int = 0
    trace: int = INK
    visible: Callable[[int], bool] | None = None
    pid: int = 0
    evenodd: bool = False  # polygons are rings of one shape (holes), not a union


@dataclass
class Scene:
    size: tuple[int, int]
    background: tuple[int, int, int, int]
    bones: list[Bone] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    # Non-rigid deformation of world points at time t (bends, wobbles).
    warp: Callable[[np.ndarray, float], np.ndarray] | None = None

    def add_bone(self, parent: int, motion: Motion) -> int:
        self.bones.append(Bone(parent, motion))
        return len(self.bones) - 1

    def add_part(self, part: Part) -> Part:
        part.pid = len(self.parts) + 2  # 1 is the background
        self.parts.append(part)
        return part

    @property
    def id_count(self) -> int:
        return len(self.parts) + 2

    def lookup_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(parent, trace, rgba) tables indexed by id."""
        n = self.id_count
        parent = np.zeros(n, np.int64)
        trace = np.zeros(n, np.uint8)
        lut = np.zeros((n, 4), np.uint8)
        lut[1] = self.background
        for part in self.parts:
            parent[part.pid] = part.clip_to
            trace[part.pid] = part.trace
            lut[part.pid] = part.color
        return parent, trace, lut

    def pose(self, t: float) -> list[np.ndarray]:
        """World matrix of every bone at time t (parents come first)."""
        world: list[np.ndarray] = []
        for bone in self.bones:
            local = bone.motion(t)
            world.append(local if bone.parent < 0 else world[bone.parent] @ local)
        return world

    def rasterise(
        self,
        t: float,
        drawing: int,
        camera: np.ndarray,
        jitter: float,
        rng: np.random.Generator,
    ) -> np.ndarray:
        """The partition (uint16 ids, 1 = background) of one frame."""
        w, h = self.size
        partition = np.ones((h, w), np.uint16)
        world = self.pose(t)
        for part in self.parts:
            if part.visible is not None and not part.visible(drawing):
                continue
            rings = []
            for polygon in part.polygons:
                pts = shapes.apply(world[part.bone], polygon)
                if self.warp is not None:
                    pts = self.warp(pts, t)
                rings.append(shapes.boil(shapes.apply(camera, pts), jitter, rng))
            clip = part.clip_to if part.clip_to else None
            if part.evenodd:
                fill_polygon(partition, rings, part.pid, clip_to=clip)
            else:
                for pts in rings:
                    fill_polygon(partition, pts, part.pid, clip_to=clip)
        return partition
