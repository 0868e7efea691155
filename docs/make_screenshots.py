"""Screenshots of the real main window on the bundled sample shot.

Run under a virtual X server (the xcb platform, as animators see it)::

    xvfb-run -a -s "-screen 0 1920x1200x24" \\
        python docs/make_screenshots.py --out docs

It opens resources/sample_shot, propagates the keys to part of the shot (so
the timeline shows keys, propagated frames, flags and unpainted frames) and
writes app_painted.png, app_timeline.png, app_fill_check.png and
app_correspondence.png.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtWidgets import QApplication

from cadmium_app.settings import load_settings
from cadmium_app.window import MainWindow, sample_shot

log = logging.getLogger("screenshots")


def wait(
    app: QApplication, condition: Callable[[], bool], timeout: float = 120
) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):  # let pending paints land
        app.processEvents()
        time.sleep(0.005)


def ready(window: MainWindow) -> Callable[[], bool]:
    session = window.session
    return lambda: (
        session.editable
        and not session.jobs.running
        and session.current() is not None
        and session.current().number == session.frame  # type: ignore[union-attr]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--matcher", default="auto")
    parser.add_argument("--shot", type=Path, default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CadmiumScreenshots")
    shot = args.shot or sample_shot()
    if shot is None:
        log.error("no sample shot installed; pass --shot")
        return 1
    settings = load_settings(
        matcher=args.matcher,
        autosave_seconds=0,
        autosave_dir=tempfile.mkdtemp(prefix="cadmium-shots-"),
    )
    window = MainWindow(settings)
    window.dialogs.unsaved_changes = lambda: "discard"  # type: ignore[method-assign]
    window.dialogs.recover = lambda when: False  # type: ignore[method-assign]
    window.resize(1500, 940)
    window.show()
    args.out.mkdir(parents=True, exist_ok=True)

    assert window.open_path(shot)
    wait(app, ready(window))
    session = window.session
    frames = session.frames_list
    # Propagate the first two thirds: the rest stays unpainted but for its key.
    window.timeline.select_range(frames[0], frames[len(frames) * 2 // 3])
    job = window.propagation.propagate_selected()
    assert job is not None
    wait(app, lambda: job.done, timeout=600)
    window.timeline.view.clearSelection()
    window.timeline.select_range(frames[3], frames[5])

    painted = frames[len(frames) // 2]  # next to the middle key
    session.set_frame(painted)
    wait(app, ready(window))
    window.canvas.fit()
    wait(app, lambda: True)
    window.grab().save(str(args.out / "app_painted.png"))
    window.timeline_dock.grab().save(str(args.out / "app_timeline.png"))

    session.set_frame(frames[8])
    window.actions.fill_check.trigger()
    wait(app, ready(window))
    window.grab().save(str(args.out / "app_fill_check.png"))
    window.actions.fill_check.trigger()

    # Frame 7 from key 1: the eyes open again after the blink, so some
    # regions have no match (crosses) beside the lines.
    session.set_frame(frames[6])
    wait(app, ready(window))
    corr = window.correspondence
    corr.window.resize(1200, 470)
    corr.show()
    wait(app, lambda: corr.window.view.pair is not None, timeout=300)
    view = corr.window.view
    # Hover a region with no match (else the largest) so its candidates show.
    pair = view.pair
    assert pair is not None
    best, _ = pair.corr.best()
    wanted = best < 0 if (best < 0).any() else best >= 0
    area = np.where(wanted, pair.target.regions.table.area, 0)
    view.hover(("target", int(area.argmax())))
    wait(app, lambda: True)
    corr.window.grab().save(str(args.out / "app_correspondence.png"))
    corr.window.close()
    window.close()
    log.info("screenshots written to %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
