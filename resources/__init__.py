"""Icons, QSS themes and meshes of the workbench, read with ``importlib.resources``."""
