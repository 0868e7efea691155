"""On-the-fly training data: shots made in memory, none on disk.

    stream = ShotStream(seed=0, size=(512, 512), frames=16,
                        sources=("procedural", "lottie"))
    loader = DataLoader(stream, batch_size=None, num_workers=2)
    for shot in loader: ...          # GeneratedShot objects

Shot ``k`` depends only on (seed, k), so workers split the index range
between them (worker ``i`` of ``n`` makes shots ``i, i + n, ...``) and any
shot can be rebuilt later from its index alone (``stream[k]``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from torch.utils.data import IterableDataset, get_worker_info

from training.data.generate import generate_shot, parse_sources
from training.data.shot import GeneratedShot


class ShotStream(IterableDataset):
    """Generated shots ``start, start + 1, ...`` (``length`` of them, or forever)."""

    def __init__(
        self,
        seed: int,
        *,
        size: tuple[int, int] = (512, 512),
        frames: int = 16,
        sources: Sequence[str] = ("procedural",),
        length: int | None = None,
        start: int = 0,
    ) -> None:
        super().__init__()
        self.seed, self.size, self.frames = seed, size, frames
        self.sources = parse_sources(sources)
        self.length, self.start = length, start

    def __getitem__(self, index: int) -> GeneratedShot:
        return generate_shot(
            self.seed, index, size=self.size, frames=self.frames, sources=self.sources
        )

    def __len__(self) -> int:
        if self.length is None:
            raise TypeError("an endless ShotStream has no length")
        return self.length

    def __iter__(self) -> Iterator[GeneratedShot]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        stop = None if self.length is None else self.start + self.length
        indices = itertools.count(self.start + worker, workers)
        for index in indices:
            if stop is not None and index >= stop:
                return
            yield self[index]
