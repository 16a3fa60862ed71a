"""The plant model: what a line is, independent of files, runs and windows.

``elements`` holds the evented dataclasses a project is made of (sources, stations, buffers,
conveyors, sinks, connections, calendar, scenarios, run settings, tariff); ``distributions``
the random-time families and their parameters; ``commands`` every user edit as a command
with ``do``/``undo`` on an ``UndoStack``. Nothing here reads or writes a file or runs the
kernel: the layers above (``projectfile``, ``sim``, ``recording``, ``whatif``) do.
"""
