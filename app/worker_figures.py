"""Worker figures in the 3D view (issue 18 §5): in playback, each person of a worker pool is
a small figure (a body and a head) at the station it works at, or on its way between two
(positions from ``twin.sim.walks``), coloured by what it does."""

from __future__ import annotations

from vtkmodules.vtkFiltersSources import vtkCylinderSource, vtkSphereSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

#: Colour of a worker by its state (``twin.sim.walks.WORKER_STATES``).
WORKER_COLORS = {"idle": (0.62, 0.62, 0.62), "walking": (0.16, 0.42, 0.85),
                 "busy": (0.10, 0.62, 0.25), "off": (0.30, 0.30, 0.30)}
#: Where a figure stands beside its element's centre (m): in front of it, several people at
#: one place side by side.
FRONT = -1.2
SIDE = 0.6
BODY_H = 1.2
HEAD_R = 0.18


def _mapper(source) -> vtkPolyDataMapper:
    mapper = vtkPolyDataMapper()
    mapper.SetInputConnection(source.GetOutputPort())
    return mapper


class WorkerFigures:
    """One figure per worker, shown by :meth:`show` and hidden by :meth:`clear`."""

    def __init__(self, renderer):
        self.renderer = renderer
        body = vtkCylinderSource()  # along y: turned upright by the actor
        body.SetRadius(0.22)
        body.SetHeight(BODY_H)
        body.SetResolution(12)
        head = vtkSphereSource()
        head.SetRadius(HEAD_R)
        head.SetThetaResolution(12)
        head.SetPhiResolution(8)
        self._body, self._head = _mapper(body), _mapper(head)
        self.actors: dict[str, tuple[vtkActor, vtkActor]] = {}

    def _figure(self, label: str) -> tuple[vtkActor, vtkActor]:
        if label not in self.actors:
            body, head = vtkActor(), vtkActor()
            body.SetMapper(self._body)
            body.RotateX(90.0)
            head.SetMapper(self._head)
            for a in (body, head):
                a.PickableOff()
                self.renderer.AddActor(a)
            self.actors[label] = (body, head)
        return self.actors[label]

    def show(self, workers: dict) -> None:
        """Place every worker of ``workers`` (``{label: twin.sim.walks.WorkerAt}``) and hide
        the others. People at the same place stand side by side."""
        seen: dict[tuple[float, float], int] = {}
        for label, w in workers.items():
            k = seen.get((round(w.x, 3), round(w.y, 3)), 0)
            seen[(round(w.x, 3), round(w.y, 3))] = k + 1
            x, y = w.x + k * SIDE, w.y + FRONT
            body, head = self._figure(label)
            body.SetPosition(x, y, w.z + BODY_H / 2)
            head.SetPosition(x, y, w.z + BODY_H + HEAD_R)
            for a in (body, head):
                a.GetProperty().SetColor(*WORKER_COLORS[w.state])
                a.VisibilityOn()
        for label, (body, head) in self.actors.items():
            if label not in workers:
                body.VisibilityOff()
                head.VisibilityOff()

    def clear(self) -> None:
        """Hide every figure (no playback)."""
        self.show({})

    def positions(self) -> dict[str, tuple[float, float, float]]:
        """Where each shown figure stands (its feet, m): what the user sees, for tests."""
        return {label: (body.GetPosition()[0], body.GetPosition()[1],
                        body.GetPosition()[2] - BODY_H / 2)
                for label, (body, _) in self.actors.items() if body.GetVisibility()}

    def colors(self) -> dict[str, tuple[float, float, float]]:
        """Each shown figure's colour."""
        return {label: tuple(body.GetProperty().GetColor())
                for label, (body, _) in self.actors.items() if body.GetVisibility()}
