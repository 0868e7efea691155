"""Every menu item and shortcut, made by one factory and kept in one typed
container, so tests trigger any of them by name
(``window.actions.colorize_shot.trigger()``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup, QIcon, QKeySequence
from PySide6.QtWidgets import QWidget

from cadmium_app.carry_closing import BACK, FORWARD
from cadmium_app.gap import PRESETS
from cadmium_app.tools import Tool
from engine.project import FillMode

if TYPE_CHECKING:
    from cadmium_app.window import MainWindow


def icon(name: str) -> QIcon:
    path = resources.files("cadmium_resources").joinpath("icons", f"{name}.svg")
    return QIcon(str(path)) if path.is_file() else QIcon()


def tooltip(text: str, tip: str, keys: Sequence[str]) -> str:
    """The action's name first (on an icon-only toolbar the tooltip is all
    that shows it), then what it does and its shortcuts."""
    name = text.rstrip("…")
    shown = f"{name}: {tip}" if tip else name
    return f"{shown} ({', '.join(keys)})" if keys else shown


def retitle(action: QAction, text: str) -> None:
    """A new name for an action whose name says its state (Mark/Unmark)."""
    action.setText(text)
    keys = [k.toString() for k in action.shortcuts()]
    action.setToolTip(tooltip(text, "", keys))


def make_action(
    parent: QWidget,
    text: str,
    slot: Callable[..., object] | None = None,
    *,
    shortcut: str | Sequence[str] = (),
    icon_name: str = "",
    tip: str = "",
    checkable: bool = False,
    checked: bool = False,
) -> QAction:
    action = QAction(text, parent)
    keys = [shortcut] if isinstance(shortcut, str) else list(shortcut)
    if keys:
        action.setShortcuts([QKeySequence(k) for k in keys])
    if icon_name:
        action.setIcon(icon(name=icon_name))
    action.setToolTip(tooltip(text, tip, keys))
    action.setStatusTip(tip or text)
    if checkable:
        action.setCheckable(True)
        action.setChecked(checked)
    if slot is not None:
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False: slot())
    # Window-wide: the shortcuts work whichever panel has the focus.
    parent.addAction(action)
    return action


@dataclass
class Actions:
    # File
    open_shot: QAction
    open_project: QAction
    open_sample: QAction
    save: QAction
    save_as: QAction
    export: QAction
    quit: QAction
    # Edit
    undo: QAction
    redo: QAction
    toggle_key: QAction
    # View
    zoom_in: QAction
    zoom_out: QAction
    zoom_fit: QAction
    zoom_actual: QAction
    onion_skin: QAction
    show_closures: QAction
    fill_check: QAction
    show_flagged: QAction
    correspondence: QAction
    # Tools
    fill_tool: QAction
    picker_tool: QAction
    close_tool: QAction
    carry_lines_forward: QAction
    carry_lines_back: QAction
    mode_paint: QAction
    mode_paint_unpainted: QAction
    mode_unpaint: QAction
    previous_style: QAction
    next_style: QAction
    delete_style: QAction
    gap_presets: tuple[QAction, ...]  # one per cadmium_app.gap.PRESETS
    # Navigate
    previous_frame: QAction
    next_frame: QAction
    first_frame: QAction
    last_frame: QAction
    next_problem: QAction
    accept: QAction
    paint_selected: QAction
    other_style: QAction
    accept_frame: QAction
    # Colorize
    propagate_current: QAction
    propagate_selected: QAction
    propagate_all: QAction
    colorize_shot: QAction
    cancel_task: QAction


def build_actions(w: MainWindow) -> Actions:
    s, canvas, tools = w.session, w.canvas, w.canvas_controller
    files, run = w.files, w.propagation
    undo = s.undo_stack.createUndoAction(w, "Undo")
    undo.setShortcuts([QKeySequence("Ctrl+Z")])
    undo.setIcon(icon("undo"))
    redo = s.undo_stack.createRedoAction(w, "Redo")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    redo.setIcon(icon("redo"))
    w.addAction(undo)
    w.addAction(redo)
    a = Actions(
        open_shot=make_action(
            w,
            "Open shot folder…",
            files.ask_open_shot,
            shortcut="Ctrl+O",
            icon_name="open",
        ),
        open_project=make_action(
            w, "Open project…", files.ask_open_project, shortcut="Ctrl+Shift+O"
        ),
        open_sample=make_action(w, "Open sample shot", w.open_sample),
        save=make_action(
            w, "Save project", files.save, shortcut="Ctrl+S", icon_name="save"
        ),
        save_as=make_action(
            w, "Save project as…", files.save_as, shortcut="Ctrl+Shift+S"
        ),
        export=make_action(
            w,
            "Export layers…",
            files.ask_export,
            shortcut="Ctrl+E",
            tip="Write colour, line and composite layers of every frame",
        ),
        quit=make_action(w, "Quit", w.close, shortcut="Ctrl+Q"),
        undo=undo,
        redo=redo,
        toggle_key=make_action(
            w,
            "Mark as key",
            w.toggle_key,
            shortcut="Shift+K",
            icon_name="key",
        ),
        zoom_in=make_action(w, "Zoom in", canvas.zoom_in, shortcut=["+", "="]),
        zoom_out=make_action(w, "Zoom out", canvas.zoom_out, shortcut="-"),
        zoom_fit=make_action(
            w, "Fit to window", canvas.fit, shortcut="Ctrl+0", icon_name="fit"
        ),
        zoom_actual=make_action(
            w, "Actual size (100%)", canvas.actual_size, shortcut="Ctrl+1"
        ),
        onion_skin=make_action(
            w,
            "Onion skin",
            tools.set_onion,
            shortcut="/",
            icon_name="onion",
            checkable=True,
            tip="Previous frame in red, next in green",
        ),
        show_closures=make_action(
            w, "Show gap closures", tools.set_closures, checkable=True, checked=True
        ),
        fill_check=make_action(
            w,
            "Fill check",
            tools.set_fill_check,
            shortcut="U",
            icon_name="check",
            checkable=True,
            tip="Highlight unpainted regions",
        ),
        show_flagged=make_action(
            w,
            "Outline flagged regions",
            tools.set_flagged,
            checkable=True,
            checked=True,
        ),
        correspondence=make_action(
            w,
            "Correspondence view",
            w.correspondence.show,
            shortcut="Ctrl+Shift+C",
            icon_name="match",
        ),
        fill_tool=make_action(
            w,
            "Fill",
            lambda: tools.set_tool(Tool.FILL),
            shortcut="F",
            icon_name="fill",
            checkable=False,
        ),
        picker_tool=make_action(
            w,
            "Style picker",
            lambda: tools.set_tool(Tool.PICKER),
            shortcut="K",
            icon_name="picker",
        ),
        close_tool=make_action(
            w,
            "Close gap",
            lambda: tools.set_tool(Tool.CLOSE),
            shortcut="G",
            icon_name="close_gap",
            tip="Draw closing lines across gaps left open; click one to remove "
            "it, a closure (cyan) to open it",
        ),
        carry_lines_forward=make_action(
            w,
            "Carry closing lines forward",
            lambda: w.carrier.carry(FORWARD),
            shortcut="Shift+G",
            tip="Carry this frame's closing lines to each frame after it, up "
            "to the next key, moved with the regions they part",
        ),
        carry_lines_back=make_action(
            w,
            "Carry closing lines back",
            lambda: w.carrier.carry(BACK),
            shortcut="Ctrl+Shift+G",
            tip="Carry this frame's closing lines to each frame before it, "
            "back to the key before, moved with the regions they part",
        ),
        mode_paint=make_action(
            w, "Paint", lambda: tools.set_mode(FillMode.PAINT), shortcut="Alt+1"
        ),
        mode_paint_unpainted=make_action(
            w,
            "Paint unpainted",
            lambda: tools.set_mode(FillMode.PAINT_UNPAINTED),
            shortcut="Alt+2",
        ),
        mode_unpaint=make_action(
            w, "Unpaint", lambda: tools.set_mode(FillMode.UNPAINT), shortcut="Alt+3"
        ),
        previous_style=make_action(
            w, "Previous style", lambda: s.step_style(-1), shortcut="["
        ),
        next_style=make_action(w, "Next style", lambda: s.step_style(1), shortcut="]"),
        delete_style=make_action(
            w,
            "Delete style…",
            w.palette.ask_delete,
            tip="Delete the chosen style; its regions take another style, or none",
        ),
        gap_presets=tuple(
            make_action(w, f"Close gaps: {px} px", lambda px=px: w.gap.set_gap(px))
            for px in PRESETS
        ),
        previous_frame=make_action(
            w, "Previous frame", lambda: s.step(-1), shortcut=[",", "Left"]
        ),
        next_frame=make_action(
            w, "Next frame", lambda: s.step(1), shortcut=[".", "Right"]
        ),
        first_frame=make_action(
            w, "First frame", s.go_first, shortcut=["Alt+,", "Home"]
        ),
        last_frame=make_action(w, "Last frame", s.go_last, shortcut=["Alt+.", "End"]),
        next_problem=make_action(
            w,
            "Next problem",
            tools.next_problem,
            shortcut="N",
            icon_name="problem",
            tip="Go to the next unpainted or flagged region",
        ),
        accept=make_action(
            w,
            "Accept flagged colour",
            tools.accept_selected,
            shortcut="A",
            tip="Keep the colour of the flagged region Next problem went to, "
            "then go to the next problem",
        ),
        paint_selected=make_action(
            w,
            "Paint problem region",
            tools.paint_selected,
            shortcut=["Return", "Enter"],
            tip="Paint the region Next problem went to with the current style, "
            "then go to the next problem",
        ),
        other_style=make_action(
            w,
            "Other likely style",
            tools.other_style,
            shortcut="S",
            tip="Take another style likely right for the region Next problem "
            "went to (propagation's next guesses, then its neighbours'); "
            "again for the next",
        ),
        accept_frame=make_action(
            w,
            "Accept frame's flagged colours",
            tools.accept_frame,
            shortcut="Shift+A",
            tip="Keep the colour of every flagged region on this frame",
        ),
        propagate_current=make_action(
            w,
            "Propagate to current frame",
            run.propagate_current,
            shortcut="P",
            icon_name="propagate",
        ),
        propagate_selected=make_action(
            w,
            "Propagate to selected frames",
            run.propagate_selected,
            shortcut="Shift+P",
        ),
        propagate_all=make_action(
            w, "Propagate to whole shot", run.propagate_all, shortcut="Ctrl+Shift+P"
        ),
        colorize_shot=make_action(
            w,
            "Colorize shot",
            run.colorize_shot,
            icon_name="colorize",
            tip="Propagate to every frame and write an output folder",
        ),
        cancel_task=make_action(w, "Cancel task", tools.escape, shortcut="Esc"),
    )
    modes = QActionGroup(w)
    for action in (a.mode_paint, a.mode_paint_unpainted, a.mode_unpaint):
        action.setCheckable(True)
        modes.addAction(action)
    a.mode_paint.setChecked(True)
    tool_group = QActionGroup(w)
    for action in (a.fill_tool, a.picker_tool, a.close_tool):
        action.setCheckable(True)
        tool_group.addAction(action)
    a.fill_tool.setChecked(True)
    # Shorter words on toolbar buttons than in the menus.
    for action, short in (
        (a.propagate_current, "Propagate"),
        (a.colorize_shot, "Colorize shot"),
        (a.correspondence, "Matches"),
        (a.next_problem, "Next problem"),
    ):
        action.setIconText(short)
    return a
