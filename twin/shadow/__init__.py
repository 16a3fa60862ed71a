"""The shadow twin: the twin run beside the plant (live or replayed).

It forecasts the rest of the shift from the plant's present state (rolling forks with
bands), tests each machine's behaviour against the model for drift, and evaluates the
project's alert rules. It reads feeds and recordings (``twin.live``, ``twin.recording``) and
forks the twin through ``twin.whatif``; it never touches Qt.
"""
