"""What the window shows of one project, and forgets when another one comes (issue 14, §5).

New and Open must leave no trace of the last project: its runs in the tree, the progress of
a run, the playback colours, the fork results and the fork's scenario list; a run still going
is cancelled (its results would be the old line's). Results of a run go stale when the model
is edited after it: the run panel says so until the next run.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def forget_last_project(win) -> None:
    """Clear from ``win`` (a ``MainWindow``) everything that belonged to the last project."""
    win.run_panel.reset()
    win.progress.hide()
    win.progress.setValue(0)
    win.run_labels = []
    win.last_result = None
    win.last_summary = {}
    win.playback = None
    win.dashboards.clear_results()
    win.stats.show_summary(None)
    win.view.set_tints(None)
    win.view.set_fills(None)
    win.view.workers.clear()
    win.colour_mode = "plain"
    win.colour_legend.show_mode("plain")  # no legend of colours no element wears
    forecast = getattr(win, "forecast", None)
    if forecast is not None:  # the last project's fans, its forecast, its target in the box
        forecast.forget()
        forecast.sync_target()
    replay = win.replay
    if replay.is_forking():
        replay.cancel_fork()
    replay.fork_view.clear()
    replay.fork_status.setText("")
    replay._set_fork_warning("")
    replay._fill_scenarios()  # the fork's scenario list: the new project's
    if replay.recording is not None:  # its assets map onto the new project's elements
        replay.set_recording(replay.recording, [el.id for el in win.project.elements])


def model_edited(win) -> None:
    """After a command of the undo stack: results of an earlier run no longer describe the
    model on screen; nor will those of a run going on. An edit that cannot change a run
    (which element shows a recorded asset: ``Command.affects_run``) leaves them current."""
    if getattr(win, "forecast", None) is not None:  # an undone shift target, say
        win.forecast.sync_target()
    replay = win.replay
    if replay.recording is not None and win.colour_mode == "replay":
        _follow_mapping(win, win.stack.last)
        # an element undone back (a delete) is a new actor, without the recording's colour
        replay.seek(replay.t)
    if not getattr(win.stack.last, "affects_run", True):
        return
    win.run_panel.note_edit()
    if win.last_result is not None:
        win.run_panel.mark_stale()


def _follow_mapping(win, command) -> None:
    """An undone or redone asset mapping (``SetRecordingAsset``) moves the asset in the
    Replay dock too: the table and the 3D colours kept the undone mapping."""
    replay = win.replay
    if (getattr(command, "recording", None) != getattr(win, "recording_name", None)
            or getattr(command, "asset", None) not in replay.elements):
        return
    ids = [el.id for el in win.project.elements]
    eid = remembered_assets(win.project, command.recording).get(command.asset)
    if eid is None:  # no mapping kept: the recording's own, where the project has it
        own = replay.replays[command.asset].element
        eid = own if own in ids else ""
    if replay.elements[command.asset] != eid:
        replay.elements[command.asset] = eid
        replay._fill_mapping(ids)


def save_as_start(path: Path | None) -> str:
    """Where the Save As dialog opens: the project's folder (its parent, where a sibling
    would go, when it is a saved project), else the user's documents."""
    if path is not None:
        return str(Path(path).parent / Path(path).name)
    docs = QStandardPaths.writableLocation(QStandardPaths.DocumentsLocation)
    return str(Path(docs or Path.home()) / "Untitled")


def project_folder_from_name(chosen: str) -> Path:
    """The project folder a name typed in Save As makes: ``.../Name`` (a ``.json`` ending
    typed by habit is dropped); the folder is created by the save."""
    p = Path(chosen)
    if p.suffix.lower() == ".json":
        p = p.with_suffix("")
    return p


def remembered_assets(project, recording_name: str) -> dict[str, str]:
    """The asset -> element mapping the user made for the recording named
    ``recording_name`` (its file name), as kept in the project's ``meta``."""
    table = project.meta.get("recording_assets")
    found = table.get(recording_name) if isinstance(table, dict) else None
    return {str(a): str(e) for a, e in found.items()} if isinstance(found, dict) else {}


def apply_remembered_assets(replay, project, recording_name: str) -> int:
    """Show each asset of the open recording where the user put it last time (elements
    since deleted are skipped); returns how many were applied."""
    ids = [el.id for el in project.elements]
    applied = 0
    for asset, eid in remembered_assets(project, recording_name).items():
        if asset in replay.elements and (eid == "" or eid in ids):
            replay.elements[asset] = eid
            applied += 1
    if applied:
        replay._fill_mapping(ids)
        replay.seek(replay.t)
    return applied


def recording_error_text(e: Exception) -> str:
    """The message of a recording that cannot be opened, as the workbench says it: data to
    import points at File > Import data…, not at the CLI's command (gui17 §6)."""
    from twin.recording.errors import NeedsImportError

    if isinstance(e, NeedsImportError):
        return f"{e.first} with File > Import data… (Ctrl+I)"
    return str(e)
