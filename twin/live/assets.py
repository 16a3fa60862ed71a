"""Which assets a live recording declares: the project's, named as simulated recordings name
them, and the mapping's. Apart from :mod:`twin.live.recorder` (which imports both) so that
the recorder stays one concept: taking readings in and writing them."""

from __future__ import annotations

from collections.abc import Iterable

from twin.recording import AssetInfo, RecordingError


def project_assets(project) -> list[AssetInfo]:
    """The assets a live recording of ``project`` declares, named as simulated recordings
    name them (:func:`twin.whatif.simulated.recorded_assets`): every station server and a
    level asset per buffer, conveyor and queuing source.

    Raises
    ------
    InputError
        For a project that cannot be lowered (its problems named).
    """
    from twin.sim.lowering import lower
    from twin.whatif.simulated import recorded_assets

    return recorded_assets(lower(project, horizon=3600.0))


def mapping_assets(mapping: dict | None, declared: Iterable[AssetInfo] = ()) -> list[AssetInfo]:
    """The mapping's ``assets`` (recorded id -> element id, or ``{"element", "name",
    "server", "ideal_cycle_time_s"}``) that ``declared`` does not hold already; an asset
    mapped to a level element of ``declared`` (or to no known element) records a level too.

    Raises
    ------
    RecordingError
        For an ``assets`` entry of the wrong form, naming it.
    """
    if not mapping or "assets" not in mapping:
        return []
    table = mapping["assets"]
    if not isinstance(table, dict):
        raise RecordingError(f"mapping: assets must be an object of asset id -> element, not "
                             f"{type(table).__name__}")
    declared = list(declared)
    have = {d.asset_id for d in declared}
    levels = {d.element for d in declared if d.level}
    elements = {d.element for d in declared}
    out = []
    for aid, spec in table.items():
        if aid in have:
            continue
        if isinstance(spec, str):
            spec = {"element": spec}
        if not isinstance(spec, dict):
            raise RecordingError(f"mapping: $.assets.{aid}: expected an element id or an "
                                 f"object, not {type(spec).__name__}")
        element = str(spec.get("element", ""))
        server = spec.get("server")
        ict = spec.get("ideal_cycle_time_s")
        try:
            out.append(AssetInfo(
                str(aid), name=str(spec.get("name", "")), element=element,
                ideal_cycle_time_s=None if ict is None else float(ict),
                server=None if server is None else int(server),
                level=element in levels or element not in elements))
        except (TypeError, ValueError) as exc:
            raise RecordingError(f"mapping: $.assets.{aid}: {exc}") from None
    return out
