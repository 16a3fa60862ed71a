"""What-if work that joins the simulation with what a plant recorded.

``fork`` starts the twin from a moment of a recording and simulates the future;
``calibration`` and ``fitting`` fit the model's distributions to recorded data and offer them
as a scenario; ``validation`` puts recorded and simulated KPIs side by side; ``simulated``
writes a simulated run as a recording, in the recording format, for tests and demos.
"""
