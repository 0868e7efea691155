"""The canvas controller: what the canvas shows, and what its tools do.

Tools: Fill (F) in three modes (Paint, Paint unpainted, Unpaint) and the
style picker (K). A click, or one drag across several regions, is one undo
step. Review: the fill check highlights unpainted regions, flagged regions
are outlined, "next problem" walks the shot's regions needing a look, and
"accept" keeps a flagged region's colour as right (the one next problem
went to, or every one on the frame).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from cadmium_app import render
from cadmium_app.canvas import Canvas
from cadmium_app.closing import HOW as CLOSING_HOW
from cadmium_app.closing import ClosingController
from cadmium_app.session import Session
from engine.closing_lines import ClosingLines
from engine.fills import ORIGIN_ANIMATOR, ORIGIN_PROPAGATED, FillMap, other_styles
from engine.matching import Frame
from engine.outputs import line_rgba
from engine.project import FillMode, Project

log = logging.getLogger(__name__)


class Tool(StrEnum):
    FILL = "fill"
    PICKER = "picker"
    CLOSE = "close"  # closing lines drawn by hand (cadmium_app.closing)


MODE_NAMES = {
    FillMode.PAINT: "Paint",
    FillMode.PAINT_UNPAINTED: "Paint unpainted",
    FillMode.UNPAINT: "Unpaint",
}


class CanvasController(QObject):
    hover_text = Signal(str)
    tool_changed = Signal()

    def __init__(self, session: Session, canvas: Canvas) -> None:
        super().__init__(canvas)
        self.session = session
        self.canvas = canvas
        self.tool = Tool.FILL
        self.mode = FillMode.PAINT
        self._tool_before_picker = Tool.FILL
        self.show_onion = False
        self.show_closures = True
        self.fill_check = False
        self.show_flagged = True
        self.selected: tuple[int, int] | None = None
        # Where Other likely style is in its turn: the region and the count.
        self._other_turn: tuple[tuple[int, int], int] | None = None
        self._stroke = 0
        self._stroke_regions: set[int] = set()
        # The image point last under the pointer, for the status bar's word
        # on it to follow what changes there without a move.
        self._hovered: tuple[float, float] | None = None
        # Inside `_refreshed_once`: whether a refresh was asked for.
        self._held: bool | None = None
        self.closing = ClosingController(session, canvas)
        self.closing.changed.connect(self.refresh)

        session.project_changed.connect(self._on_project)
        session.frame_changed.connect(lambda _n: self.refresh())
        # The badge's count and the onion skin's neighbours follow the frames.
        session.frames_listed.connect(self.refresh)
        session.frame_analysed.connect(self._on_analysed)
        session.fills_changed.connect(self._on_fills)
        session.palette_changed.connect(self.refresh)
        session.frames.lines_ready.connect(self._on_lines)
        session.gap_changed.connect(self._on_gap)
        session.edit_revisited.connect(self._on_revisited)
        canvas.pressed.connect(self._on_pressed)
        canvas.dragged.connect(self._on_dragged)
        canvas.released.connect(self._on_released)
        canvas.hovered.connect(self._on_hovered)
        canvas.left.connect(self._on_left)

    # -- tool state
    def set_tool(self, tool: Tool) -> None:
        if tool is Tool.PICKER and self.tool is not Tool.PICKER:
            self._tool_before_picker = self.tool
        self.tool = tool
        cursor = (
            Qt.CursorShape.PointingHandCursor
            if tool is Tool.FILL
            else Qt.CursorShape.CrossCursor
        )
        self.canvas.setCursor(cursor)
        if tool is Tool.CLOSE:
            self.session.status.emit(CLOSING_HOW)
        self.tool_changed.emit()
        self.refresh()  # closing lines show while the Close gap tool is on

    def escape(self) -> None:
        """Esc: cancel the running task; with none, leave the style picker
        for the tool before it."""
        if self.session.jobs.running:
            self.session.jobs.cancel_current()
        elif self.tool is Tool.PICKER:
            self.set_tool(self._tool_before_picker)

    def set_mode(self, mode: FillMode) -> None:
        self.mode = mode
        self.set_tool(Tool.FILL)

    def set_onion(self, on: bool) -> None:
        self.show_onion = on
        self.refresh()

    def set_closures(self, on: bool) -> None:
        self.show_closures = on
        self.refresh()

    def set_fill_check(self, on: bool) -> None:
        self.fill_check = on
        self.refresh()

    def set_flagged(self, on: bool) -> None:
        self.show_flagged = on
        self.refresh()

    # -- drawing
    def _on_project(self) -> None:
        self.selected = None
        engine = self.session.engine
        if engine is not None:
            width, height = engine.size
            self.canvas.set_image_size(width, height)
            self.canvas.fit()
        self.refresh()

    def _on_analysed(self, number: int) -> None:
        if number == self.session.frame:
            self.refresh()
            self._center_on_selected()

    def _on_fills(self, frames: tuple[int, ...]) -> None:
        if self.session.frame in frames:
            self.refresh()

    def _on_revisited(self, frame: int, regions: np.ndarray) -> None:
        """Undoing or redoing a change of one region selects it: Ctrl+Z
        after Return (or A) is back on the region, for S to offer the next
        style (its turn goes on) and Return to paint it."""
        if len(regions) != 1:
            return
        region = int(regions[0])
        self.selected = (frame, region)
        current = self.session.current()  # None until the frame is read
        # The edit's own refresh came first (fills_changed, frame_changed).
        self._show_selected(current)
        if current is None or current.number != frame:
            return  # centred when it is (_on_analysed)
        if region < current.regions.count:
            x0, y0, x1, y1 = (int(v) for v in current.regions.table.bbox[region])
            if not self.canvas.shows_any(x0, y0, x1, y1):
                self._center_on_selected()  # never a jump for nothing

    def _on_gap(self, _gap: int) -> None:
        # Every frame is segmented again: region numbers mean other regions.
        self.selected = None
        self.refresh()

    def _on_lines(self, number: int) -> None:
        previous, following = self.session.neighbours(self.session.frame)
        if number == self.session.frame or (
            self.show_onion and number in (previous, following)
        ):
            self.refresh()

    def refresh(self) -> None:
        if self._held is not None:
            self._held = True
            return
        self._refresh()

    @contextmanager
    def _refreshed_once(self) -> Iterator[None]:
        """The canvas made once, at the end, for every refresh asked for
        inside: A or Return on a frame's last problem changes the frame
        (a refresh) and goes to the next problem's frame (another one; at
        HD, each is 50 ms or more of the GUI thread)."""
        self._held = False
        try:
            yield
        finally:
            asked, self._held = self._held, None
            if asked:
                self._refresh()

    def _refresh(self) -> None:
        # What is under the pointer changed too (a click painted it, an
        # undo, another frame): the status bar said the old region's style.
        self._say_hovered()
        session, canvas = self.session, self.canvas
        project = session.project
        if project is None:
            canvas.layers.clear()
            canvas.set_closures(None)
            canvas.set_badge("")
            canvas.set_message("Open a shot folder (File ▸ Open shot…)")
            return
        number = session.frame
        frame = session.current()
        fills = project.fills(number)
        lines = session.frames.lines(number)
        problem = session.frames.errors.get(number)
        if frame is None and problem is not None:
            # Nothing of it can be shown: not even lines drawn before it broke.
            canvas.set_layer("color", None)
            canvas.set_layer("lines", None)
            self._overlays(None, None)
            canvas.set_message(f"This frame cannot be read: {problem}")
            canvas.set_badge(self.badge_text())
            return
        if frame is not None:
            fills = render.fitting(frame, fills)
            if lines is None:  # gone from the cache: made once, and kept
                lines = line_rgba(frame.image)
                self.session.frames.keep_lines(frame.number, lines)
            lines = render.lines_with_trace_painted(
                lines, frame, fills, project.palette
            )
            color = render.color_rgba(frame, fills, project.palette)
            canvas.set_layer("color", render.to_qimage(color))
            canvas.set_message("")
        else:
            canvas.set_layer("color", None)
            canvas.set_message("Finding regions…")
        canvas.set_layer(
            "lines", render.to_qimage(lines) if lines is not None else None
        )
        self._overlays(frame, fills)
        self._onion()
        canvas.set_badge(self.badge_text())

    def _overlays(self, frame: Frame | None, fills: FillMap | None) -> None:
        canvas = self.canvas
        if frame is None:
            for name in ("unpainted", "flagged", "closures", "selected"):
                canvas.set_layer(name, None)
            canvas.set_closures(None)
            canvas.set_closing_lines(ClosingLines())
            return
        unpainted = render.unpainted_rgba(frame, fills) if self.fill_check else None
        canvas.set_layer("unpainted", _image(unpainted))
        flagged = (
            render.flagged_rgba(frame, fills, painted_only=self.fill_check)
            if self.show_flagged
            else None
        )
        canvas.set_layer("flagged", _image(flagged))
        shown = self.show_closures or self.tool is Tool.CLOSE
        closures = render.closures_rgba(frame) if shown else None
        canvas.set_layer("closures", _image(closures))
        canvas.set_closures(frame.regions.closures.segments if shown else None)
        canvas.set_closing_lines(
            self.closing.shown_lines() if shown else ClosingLines()
        )
        self._show_selected(frame)

    def _show_selected(self, frame: Frame | None) -> None:
        """The selected region's outline on ``frame`` (the frame shown), and
        nothing else: selecting needs no other layer made again (each is a
        pass over the whole frame: at HD, a refresh is 50 ms or more)."""
        selected = None
        if (
            frame is not None
            and self.selected is not None
            and self.selected[0] == frame.number == self.session.frame
        ):
            region = self.selected[1]
            if 0 <= region < frame.regions.count:
                selected = render.selected_rgba(frame, region)
        self.canvas.set_layer("selected", _image(selected))

    def _onion(self) -> None:
        previous, following = self.session.neighbours(self.session.frame)
        opacity = self.session.settings.onion_opacity
        for name, number, tint in (
            ("onion_previous", previous, render.ONION_PREVIOUS),
            ("onion_next", following, render.ONION_NEXT),
        ):
            lines = None
            if self.show_onion and number is not None:
                lines = self.session.frames.lines(number)
                if lines is None:
                    self.session.frames.request(number, segment=False)
            layer = (
                render.onion_rgba(lines, tint, opacity) if lines is not None else None
            )
            self.canvas.set_layer(name, _image(layer))

    def badge_text(self) -> str:
        project, number = self.session.project, self.session.frame
        if project is None:
            return ""
        frames = project.shot.frames
        status = project.status(number)
        place = f"{frames.index(number) + 1}/" if number in frames else ""
        parts = [f"Frame {number}  ({place}{len(frames)})"]
        if status.key:
            parts.append("key")
        elif status.propagated:
            parts.append("propagated")
        if status.has_fills:
            if status.unpainted:
                parts.append(f"{status.unpainted} unpainted")
            if status.flagged:
                parts.append(f"{status.flagged} flagged")
        return " · ".join(parts)

    # -- mouse
    def _region_at(self, x: float, y: float) -> int | None:
        frame = self.session.current_or_say("paint")
        if frame is None:
            return None
        return frame.regions.region_at(int(x), int(y))

    def _on_pressed(self, x: float, y: float, button: object) -> None:
        if button != Qt.MouseButton.LeftButton or self.session.project is None:
            return
        if self.tool is Tool.CLOSE:
            self.closing.press(x, y)
            return
        region = self._region_at(x, y)
        if self.tool is Tool.PICKER:
            if region is not None:
                self._pick(region)
            return
        if self.session.current() is None:
            return
        # A drag may start off the frame (on the margin) and paint as it
        # enters regions.
        self._stroke = self.session.new_stroke()
        self._stroke_regions = set()
        if region is not None:
            self._fill(region)

    def _on_dragged(self, x: float, y: float) -> None:
        if self.tool is Tool.CLOSE:
            self.closing.drag(x, y)
            return
        if not self._stroke:
            return
        region = self._region_at(x, y)
        if region is not None and region not in self._stroke_regions:
            self._fill(region)

    def _on_released(self, x: float, y: float) -> None:
        self._stroke = 0
        if self.tool is Tool.CLOSE and self.closing.path:
            self.closing.release(x, y)

    def _fill(self, region: int) -> None:
        session, project, frame = (
            self.session,
            self.session.project,
            self.session.current(),
        )
        if project is None or frame is None:
            return
        self._stroke_regions.add(region)
        if self.mode is not FillMode.UNPAINT and session.style < 0:
            session.status.emit("Pick a style in the palette first")
            return
        edit = project.fill_edit(
            session.frame,
            frame.regions.count,
            [region],
            session.style,
            self.mode,
            stroke=self._stroke,
        )
        session.push(edit)

    def _pick(self, region: int) -> None:
        project, frame = self.session.project, self.session.current()
        if project is None or frame is None:
            return
        fills = render.fitting(frame, project.fills(self.session.frame))
        if fills is not None and fills.style[region] >= 0:
            self.session.set_style(int(fills.style[region]))
            self.set_tool(self._tool_before_picker)
        else:
            self.session.status.emit("That region is unpainted: nothing to pick")

    def _on_hovered(self, x: float, y: float) -> None:
        self._hovered = (x, y)
        self._say_hovered()

    def _on_left(self) -> None:
        """Nothing is under the pointer: no word on a region (a click, an
        undo or another frame must not bring one back)."""
        self._hovered = None
        self.hover_text.emit("")

    def _say_hovered(self) -> None:
        """The region under the pointer, its style and how it was painted,
        on the status bar (nothing while the frame's regions are found)."""
        if self._hovered is None:
            return
        x, y = self._hovered
        project, frame = self.session.project, self.session.current()
        region = None
        if project is not None and frame is not None:
            region = frame.regions.region_at(int(x), int(y))
        if project is None or frame is None or region is None:
            self.hover_text.emit("")
            return
        text = f"x {int(x)}, y {int(y)} · region {region}"
        fills = render.fitting(frame, project.fills(self.session.frame))
        if fills is not None and fills.style[region] >= 0:
            text += f" · {project.palette[int(fills.style[region])].name}"
            if fills.origin[region] == ORIGIN_ANIMATOR:
                text += " (painted)"
            elif fills.origin[region] == ORIGIN_PROPAGATED:
                text += f" (propagated, {fills.confidence[region]:.0%})"
        else:
            text += " · unpainted"
        if fills is not None and fills.flagged[region]:
            text += " · flagged"
        self.hover_text.emit(text)

    # -- review
    def next_problem(self) -> None:
        project = self.session.project
        if project is None:
            return
        here = (
            self.selected[1]
            if self.selected and self.selected[0] == self.session.frame
            else None
        )
        found = project.next_problem(self.session.frame, here)
        if found is None:
            self.session.status.emit("Nothing left to review")
            return
        # The search came back to where it started (the region selected, or
        # this frame when it is unpainted): no other problem is left.
        last = found == (self.session.frame, here)
        # It went past the end of the shot: a review pass is complete.
        order = project.shot.frames

        def place(frame: int, region: int | None) -> tuple[int, int]:
            return order.index(frame), -1 if region is None else region

        wrapped = not last and place(*found) <= place(self.session.frame, here)
        frame, region = found
        self.selected = (frame, region) if region is not None else None
        if frame == self.session.frame:
            self._show_selected(self.session.current())
        else:
            self.session.set_frame(frame)
        # A frame read already is shown at once; one still to read is
        # centred when it is (_on_analysed).
        self._center_on_selected()
        what = self._problem(frame, region) if region is not None else "not painted yet"
        if last:
            said = "This is the last problem left"
        elif wrapped:
            said = "Back to the first problem"
        else:
            said = "Next problem"
        self.session.status.emit(f"{said}: frame {frame}, {what}")

    def accept_selected(self) -> None:
        """Accept (A): the flagged region Next problem went to keeps the
        colour propagation gave it, as the animator's fill (one undo step),
        and the review goes on to the next problem."""
        found = self._problem_here("Nothing to accept: go to a flagged region")
        if found is None:
            return
        project, frame, region = found
        edit = project.accept_edit(frame.number, frame.regions.count, [region])
        if edit is None:
            fills = project.fills(frame.number)
            unpainted = (
                fills is not None
                and 0 <= region < len(fills)
                and fills.style[region] < 0
            )
            self.session.status.emit(
                f"Region {region} is unpainted: paint it (Accept keeps a colour "
                "propagation gave)"
                if unpainted
                else f"Region {region} is not flagged: nothing to accept"
            )
            return
        with self._refreshed_once():
            if self.session.push(edit):
                self.next_problem()

    def paint_selected(self) -> None:
        """Paint (Return): the region Next problem went to takes the current
        style, as a click with the fill tool would give it (one undo step),
        and the review goes on to the next problem. With Accept and the
        palette keys, a review needs no mouse."""
        found = self._problem_here("Nothing to paint: go to a problem region")
        if found is None:
            return
        project, frame, region = found
        if self.session.style < 0:
            self.session.status.emit("Pick a style in the palette first")
            return
        edit = project.fill_edit(
            frame.number,
            frame.regions.count,
            [region],
            self.session.style,
            FillMode.PAINT,
            stroke=self.session.new_stroke(),
        )
        # None: it is that style already, the animator's own; on all the same.
        with self._refreshed_once():
            if edit is None or self.session.push(edit):
                self.next_problem()

    def other_style(self) -> None:
        """Other likely style (S): the current style becomes another one
        likely right for the region Next problem went to, the next at each
        press: propagation's own next guesses, most likely first, then the
        styles of the regions across a line from it; Return paints with it.
        For 46% of the regions propagation paints wrong the first press
        gives the right colour, for 60% one of the first two
        (benchmarks/other_styles.py)."""
        found = self._problem_here("No region to find styles for: go to one")
        if found is None:
            return
        project, frame, region = found
        fills = render.fitting(frame, project.fills(frame.number))
        if fills is None:
            fills = FillMap.empty(frame.regions.count)
        offers = other_styles(frame.regions, fills, region)
        known = len(project.palette)
        styles = [s for s in offers.styles if s < known]
        guesses = len([s for s in offers.styles[: offers.guesses] if s < known])
        if not styles:
            self.session.status.emit(
                f"Region {region}: no other style to offer (no guess from "
                "propagation, no neighbour in another style)"
            )
            return
        here = (frame.number, region)
        turn = self._other_turn
        count = turn[1] + 1 if turn is not None and turn[0] == here else 0
        self._other_turn = (here, count)
        style = styles[count % len(styles)]
        # A region propagation left unpainted had no first guess to follow.
        guess = "next guess" if fills.painted[region] else "guess"
        # A region flagged when its redrawn part moved has the colour that
        # was under it first: not a guess of propagation's.
        by = "the" if fills.origin[region] == ORIGIN_ANIMATOR else "propagation's"
        whose = f"{by} {guess}" if count % len(styles) < guesses else "a neighbour's"
        self.session.set_style(style)
        self.session.status.emit(
            f"Style {project.palette[style].name}, {whose} "
            f"({count % len(styles) + 1} of {len(styles)}): Return paints region "
            f"{region} with it"
        )

    def _problem_here(self, nothing: str) -> tuple[Project, Frame, int] | None:
        """The project, the current frame and the region Next problem went to
        on it; else None, and the status bar says ``nothing`` and how to get
        there (a gap change clears the region: regions are renumbered)."""
        project, frame = self.session.project, self.session.current()
        if project is None or frame is None:
            return None
        if self.selected is not None and self.selected[0] == frame.number:
            region = self.selected[1]
            if 0 <= region < frame.regions.count:
                return project, frame, region
        if not project.status(frame.number).has_fills:
            self.session.status.emit(
                f"Frame {frame.number} has nothing painted yet: paint it with "
                "the fill tool (F), or propagate to it (P)"
            )
        else:
            self.session.status.emit(f"{nothing} first (Next problem, N)")
        return None

    def accept_frame(self) -> None:
        """Accept all (Shift+A): every flagged region of the current frame
        that propagation painted keeps its colour (one undo step)."""
        project, frame = self.session.project, self.session.current()
        if project is None or frame is None:
            return
        edit = project.accept_edit(frame.number, frame.regions.count)
        if edit is None:
            self.session.status.emit(
                f"Frame {frame.number} has no flagged colours to accept"
            )
            return
        if self.session.push(edit):
            left = project.status(frame.number)
            self.session.status.emit(
                f"Frame {frame.number}: accepted {edit.region_count} flagged "
                f"region{'s' if edit.region_count != 1 else ''}"
                + (f"; {left.unpainted} left unpainted" if left.unpainted else "")
            )

    def _problem(self, frame: int, region: int) -> str:
        """A problem region in the animator's words: the style it was given
        and how sure propagation was, or why it was left unpainted."""
        project = self.session.project
        fills = project.fills(frame) if project is not None else None
        if project is None or fills is None or not 0 <= region < len(fills):
            return f"region {region}"
        style = int(fills.style[region])
        if style < 0 and fills.flagged[region]:
            return f"region {region}, unpainted: no key region is like it"
        if style < 0:
            return f"region {region}, unpainted"
        name = project.palette[style].name if style < len(project.palette) else "?"
        if fills.origin[region] == ORIGIN_ANIMATOR and fills.confidence[region] >= 1:
            # Flagged when its drawing was redrawn: a part of it moved.
            return f"region {region}, painted {name} (your paint, to check)"
        sure = f"{fills.confidence[region]:.0%} sure"
        return f"region {region}, painted {name} ({sure})"

    def _center_on_selected(self) -> None:
        frame = self.session.current()
        if self.selected is None or frame is None or self.selected[0] != frame.number:
            return
        region = self.selected[1]
        if 0 <= region < frame.regions.count:
            x, y = frame.regions.table.centroid[region]
            self.canvas.center_on(float(x), float(y))


def _image(array: np.ndarray | None) -> QImage | None:
    return render.to_qimage(array) if array is not None else None
