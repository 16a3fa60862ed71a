"""The state log's row writer, shared by ``kernels.flow`` (server states and contents) and
``kernels.workers`` (worker rows, only when the log is on for playback: ``P_LOG`` >=
``LOG_WORKERS``). Apart from both so that neither imports the other for it."""

from kernels.jit import cold
from kernels.types import LG_CONTENT, LG_EL, LG_SERVER, LG_STATE, S_LOG_N


@cold
def write_log(log_t, log_i, si, now, e, srv, state, content):
    """Append one row (``LG_*`` columns) at time ``now``."""
    k = si[S_LOG_N]
    log_t[k] = now
    log_i[k, LG_EL] = e
    log_i[k, LG_SERVER] = srv
    log_i[k, LG_STATE] = state
    log_i[k, LG_CONTENT] = content
    si[S_LOG_N] = k + 1
