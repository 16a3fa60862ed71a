"""Recordings: import shop-floor data, store it as HDF5, replay it and compute KPIs.

The pieces, each in its own module:

* :mod:`~twin.recording.format` — the HDF5 layout and the reader :class:`Recording`;
* :mod:`~twin.recording.writer` — :class:`RecordingWriter`, also for live (SWMR) recording;
* :mod:`~twin.recording.mapping` — mapping files (:func:`load_mapping`);
* :mod:`~twin.recording.importers` — the importer registry and :func:`import_recording`;
* :mod:`~twin.recording.report` — :class:`ImportReport`;
* :mod:`~twin.recording.replay` — state timelines and cumulative output/energy;
* :mod:`~twin.recording.kpi` — OEE, MTBF, MTTR, energy per part, breakdowns;
* :mod:`~twin.recording.snapshot` — an asset's situation at a moment, for forks.

The file format is documented in ``docs/recording-format.md``.
"""

from twin.recording.errors import MappingError, RecordingError, RecordingImportError
from twin.recording.format import (
    COMPATIBLE_VERSIONS,
    FORMAT_NAME,
    GAPS_DTYPE,
    NO_DATA,
    SCHEMA_VERSION,
    UNKNOWN,
    AssetData,
    Recording,
    is_hdf5,
    migrate_recording,
    migration,
    state_name,
)
from twin.recording.importers import data_importer, find_importer, import_recording, importers
from twin.recording.kpi import (
    Kpis,
    Period,
    asset_kpis,
    daily_kpis,
    ideal_cycle_time,
    kpis_for_bins,
    recording_kpis,
    shift_kpis,
)
from twin.recording.mapping import Mapping, load_mapping, mapping_from_dict, shipped_mapping
from twin.recording.replay import (
    AssetReplay,
    Cumulative,
    Level,
    StateTimeline,
    extent,
    replay_asset,
    replay_recording,
)
from twin.recording.report import ImportReport
from twin.recording.snapshot import AssetSnapshot, ChannelError, snapshot_at
from twin.recording.writer import AssetInfo, RecordingWriter

__all__ = [
    "COMPATIBLE_VERSIONS", "FORMAT_NAME", "GAPS_DTYPE", "NO_DATA", "SCHEMA_VERSION", "UNKNOWN",
    "AssetData", "AssetInfo", "AssetReplay", "AssetSnapshot", "ChannelError", "Cumulative",
    "ImportReport", "Kpis", "Level", "Mapping", "MappingError", "Period", "Recording",
    "RecordingError", "RecordingImportError", "RecordingWriter", "StateTimeline",
    "asset_kpis", "daily_kpis", "data_importer", "extent", "find_importer", "ideal_cycle_time",
    "import_recording", "importers", "is_hdf5", "kpis_for_bins", "load_mapping",
    "mapping_from_dict", "migrate_recording", "migration", "recording_kpis", "replay_asset",
    "replay_recording", "shift_kpis", "shipped_mapping", "snapshot_at", "state_name",
]
