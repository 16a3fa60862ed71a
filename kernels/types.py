"""Codes, column indices and dtypes shared by the twin kernel and the code that lowers a plant.

Everything the kernel needs to agree on with ``twin/`` lives here, in one place, so that a
reader can decode any array the kernel reads or writes (the idea follows hftbacktest's
``types.py``). The kernel itself never sees a domain object: ``twin.sim.lowering`` turns a plant
into the arrays described below.

Units throughout: time in seconds, power in kW, energy in kWh (converted only at the end).
"""

import numpy as np

# --- element kinds -------------------------------------------------------------------------
SOURCE = 0
STATION = 1
BUFFER = 2
CONVEYOR = 3
SINK = 4
KIND_NAMES = ("source", "station", "buffer", "conveyor", "sink")

# --- station (server) states: mutually exclusive, they partition observed time ------------
OFF = 0  # outside the shift calendar, switched off
IDLE = 1  # outside the shift calendar, on standby
BUSY = 2  # processing a part
SETUP = 3  # changing over to another product
BLOCKED = 4  # holding a finished part that the next element cannot take (blocking after service)
STARVED = 5  # working time, ready, but no part to take
DOWN = 6  # failed, under repair
MAINTENANCE = 7  # preventive maintenance
WAITING_FOR_WORKER = 8  # a repair, setup or processing waits for a worker, or for it to walk up
# energy saving (issue 19 §2, ``kernels.standby``): after starving or blocking for a while in
# working time, a server saves energy; a part to start must then wait for its warm-up
STANDBY = 9  # on standby after its energy-saving timer ran out
SWITCHED_OFF = 10  # switched off after its energy-saving timer ran out
WARMING_UP = 11  # restarting from standby or switched off, holding the part it will start
N_STATES = 12
STATE_NAMES = ("off", "idle", "busy", "setup", "blocked", "starved", "down", "maintenance",
               "waiting_for_worker", "standby", "switched_off", "warming_up")

# --- distributions -----------------------------------------------------------------------
# Parameters sit in ``dist_par[i, 0:4]``; each kernel variate function documents its columns.
D_CONSTANT = 0  # (value)
D_EXPONENTIAL = 1  # (mean)
D_UNIFORM = 2  # (low, high)
D_TRIANGULAR = 3  # (low, mode, high)
D_NORMAL = 4  # (mean, sd), truncated at 0 by rejection
D_LOGNORMAL = 5  # (mu, sigma) of the underlying normal
D_GAMMA = 6  # (shape, scale)
D_WEIBULL = 7  # (shape, scale)
D_EMPIRICAL = 8  # (offset, count, interpolate) into ``emp_values``
DIST_NAMES = (
    "constant", "exponential", "uniform", "triangular", "normal",
    "lognormal", "gamma", "weibull", "empirical",
)
NO_DIST = -1

# --- failure basis -----------------------------------------------------------------------
FB_NONE = 0
FB_OPERATING = 1  # clock runs only while processing
FB_CALENDAR = 2  # clock runs always
FB_OPERATIONS = 3  # counts operations
FAILURE_BASIS_NAMES = ("none", "operating", "calendar", "operations")

# --- routing of a split ------------------------------------------------------------------
R_PROBABILITY = 0
R_ROUND_ROBIN = 1
R_SHORTEST_QUEUE = 2
R_BILL = 3  # a disassembly's: succ_cum holds cumulative quantities; EI_RR counts its parts
ROUTING_NAMES = ("probability", "round_robin", "shortest_queue")

# --- random streams: one per element and purpose (common random numbers across scenarios) --
RS_PROCESS = 0
RS_SETUP = 1
RS_FAILURE = 2
RS_REPAIR = 3
RS_SCRAP = 4
RS_ROUTING = 5
RS_ARRIVAL = 6
RS_PRODUCT = 7
RS_MAINTENANCE = 8
RS_RESTART = 9  # the warm-up of an energy-saving station (kernels.standby)
N_STREAMS = 10

# --- integer parameters per element: ``el_i[e, column]`` ---------------------------------
I_KIND = 0
I_SERVERS = 1  # station: parallel servers
I_SERVER0 = 2  # station: index of the first server in the server arrays
I_CAPACITY = 3  # buffer/conveyor: capacity (-1 unlimited)
I_ROUTING = 4  # routing rule to successors
I_FAIL_BASIS = 5
I_TTF_DIST = 6
I_TTR_DIST = 7
I_ARRIVAL_DIST = 8  # source: interarrival distribution (-1: unlimited raw material or schedule)
I_SCHED0 = 9  # source: first row in the schedule arrays
I_SCHED_N = 10  # source: rows in the schedule (0: none)
I_ON_BLOCK = 11  # source: 0 arrivals queue at the source, 1 arrivals that cannot enter are lost
I_CALENDAR = 12  # station/source: 1 follows the shift calendar
I_OFF_STATE = 13  # station: state outside working time (OFF or IDLE)
I_PM_OPS = 14  # station: preventive maintenance every N operations (0: never)
I_PM_DIST = 15  # station: duration of preventive maintenance
I_SLOT = 16  # index into the per-kind arrays (stations: 0..n_stations-1)
# station: the worker pools a task may take a worker from, as a bit mask over the pools of
# the model (bit k: pool k; 0: the task needs no worker); ``kernels.workers``
I_CREW_REPAIR = 17
I_CREW_SETUP = 18
I_CREW_PROCESS = 19
I_CREW = 20  # station: 1 when its setups or its processing need a worker
I_CREW_PRIO = 21  # station: priority of its tasks among those waiting (higher first)
# assembly (issue 18, kernels/assembly.py): a station with a bill of materials
I_BOM0 = 22  # station: first row of its bill of materials in ``bom``
I_BOM_N = 23  # station: rows of its bill of materials (0: not an assembly)
I_OUT_PROD = 24  # assembly: product of the assembled part (-1: that of its main part)
# energy saving (issue 19 §2, kernels/standby.py; only read when P_ES is on)
I_ES_MODE = 25  # station: the state its servers save energy in (STANDBY, SWITCHED_OFF; 0: none)
I_ES_WHEN = 26  # station: what starts the timer: bit 0 starved, bit 1 blocked
I_ES_RESTART = 27  # station: distribution of the warm-up (restart) time
# batching (kernels/batching.py): a batch station is an assembly with one input whose
# ``BM_K`` is the batch size; its server processes the parts of a load together
I_BATCH_MIN = 28  # station: fewest parts of a load started at the timeout (0: not batching)
# disassembly (kernels/batching.py): a batch station of size 1 that makes each part it
# starts into I_SPLIT parts, handed out by the routing R_BILL
I_SPLIT = 29  # station: parts made of each part (0: not a disassembly)
# orders (issue 18 §4, kernels/orders.py): a source whose schedule rows are orders
I_SEQ = 30  # source, buffer: sequencing rule of its waiting parts (SQ_*; -1: none, FIFO;
#             a source with I_SEQ >= 0 is an order source; a buffer's rule is > SQ_FIFO)
# a load that travels as one unit (issue 18 §2, kernels/batching.py): a batch station whose
# done load leaves whole (LOAD_RELEASE), carried as one part by the chain ``PI_BATCH`` of
# its first part, until an unbatch (LOAD_UNBATCH: a batch station of size 1 whose unit is a
# load, released part by part)
I_LOAD = 31  # station: 0, LOAD_RELEASE or LOAD_UNBATCH
I_WEARS = 32  # station: 1 when it wears or scraps (F_WEAR_OP, F_WEAR_BUSY_H, F_SCRAP or
#               F_WEAR_SCRAP not 0): the others skip that bookkeeping at each operation's end
N_I = 33
LOAD_RELEASE = 1
LOAD_UNBATCH = 2

# --- float parameters per element: ``el_f[e, column]`` -----------------------------------
F_SCRAP = 0  # base scrap probability
F_WEAR_OP = 1  # wear added per operation
F_WEAR_BUSY_H = 2  # wear added per busy hour
F_WEAR_HAZARD = 3  # failure hazard multiplier = 1 + F_WEAR_HAZARD * wear
F_WEAR_SCRAP = 4  # scrap probability += F_WEAR_SCRAP * wear
F_PM_HOURS = 5  # preventive maintenance every H hours of calendar time (0: never)
F_TRAVEL = 6  # conveyor: travel time of one part over the whole length (s)
F_GAP = 7  # conveyor: time between two parts at minimum spacing (s)
F_SCHED_PERIOD = 8  # source: the schedule repeats with this period (s, 0: once)
F_X = 9  # position of the element on the floor (m): x, y, z, for walking distances
F_Y = 10
F_Z = 11
F_ES_AFTER = 12  # station: starved (or blocked) this long (s) in working time: save energy
F_ES_KWH = 13  # station: energy of one restart (kWh); read by twin.sim.summary, not the kernel
F_BATCH_TIMEOUT = 14  # batch station: a load starts this long after its first part (s; inf)
N_F = 15

# --- per-element result columns: ``el_out[e, column]`` -----------------------------------
O_IN = 0  # parts that entered
O_OUT = 1  # parts that left (good parts only for stations)
O_SCRAP = 2
O_FAILURES = 3
O_WEAR = 4  # wear at the end (stations: mean over servers)
O_CONTENT_INT = 5  # time integral of the number of parts inside (part-seconds)
O_CONTENT_MAX = 6
O_LOST = 7  # source: arrivals lost because the line could not take them
O_SETUPS = 8
O_PM = 9  # preventive maintenances done
O_RESTARTS = 10  # warm-ups begun from standby or switched off (kernels.standby)
O_WORK_START = 11  # station: parts' worth of processing held at the warm-up's end (kernels.edges)
O_WORK_END = 12  # station: the same at the end of the results (kernels.edges)
N_O = 13

# --- bill of materials of the assemblies: ``bom[row, column]`` (one row per input) -------
BM_EL = 0  # the assembly (a station element)
BM_PRED = 1  # the predecessor element this input takes its parts from
BM_K = 2  # parts of this input one assembly consumes (>= 1)
BM_CAP = 3  # capacity of the input's place (parts waiting; >= BM_K)
N_BM = 4
# disassembly (kernels/batching.py): after a disassembly's input row, one row per run of the
# parts one part makes, in the order they leave (BM_EL -1: no input): BM_K parts of product
# BM_OUT_PROD (-1: the separated part's own)
BM_OUT_PROD = 3

# --- per input of an assembly: ``bom_out[row, column]`` (state, float64: the place's FIFO,
# whole numbers held exactly, shares the results' array: one array in the state bundle)
BO_IN = 0  # parts that entered the place
BO_STARVED = 1  # server-seconds the assembly was starved while this input was short
BO_CONTENT_INT = 2  # time integral of the parts waiting (part-seconds)
BO_CONTENT_MAX = 3
BO_SINCE = 4  # time the two integrals were last brought up to date
BO_MARK = 5  # the assembly's starved server-seconds since time 0 at BO_SINCE
BS_HEAD = 6  # FIFO of the parts waiting in the input's place (-1: empty)
BS_TAIL = 7
BS_COUNT = 8  # parts waiting
N_BO = 9

# --- line result columns: ``line_out[column]`` -------------------------------------------
L_GOOD = 0  # good parts that reached a sink after warm-up
L_WIP_INT = 1  # time integral of work in process (part-seconds)
L_LEAD_SUM = 2  # sum of lead times of those parts (s)
L_EVENTS = 3  # model events processed (end of processing, failure, end of repair)
L_CREATED = 4
L_SCRAPPED = 5
L_OBSERVED = 6  # observed time after warm-up (s)
L_LOST = 7
L_ALL_EVENTS = 8  # every event taken from the queue, bookkeeping ones included
N_L = 9

# --- time-series columns: ``ts_line[sample, column]`` -------------------------------------
TS_GOOD = 0  # good parts at the sinks since time 0 (S_GOOD_TOTAL at the sample)
TS_WIP = 1  # parts in the line at the sample
TS_POWER = 2  # total power drawn at the sample (kW)
N_TS = 3

# --- state-log columns: ``log_i[row, column]`` (the time is ``log_t[row]``) ----------------
LG_EL = 0  # element
LG_SERVER = 1  # server within the element (-1: a change of the element's content)
LG_STATE = 2  # the server's new state (STATE codes)
LG_CONTENT = 3  # parts inside the element after the change
# With P_LOG = LOG_WORKERS (playback only) a worker's state change is a row too: LG_EL the
# element it is at or walks to (WR_AT, -1 nowhere), LG_SERVER -2 - worker, LG_STATE its WS_*
# code, LG_CONTENT the server it works for (WR_SRV)
N_LG = 4

# --- event kinds in the queue ------------------------------------------------------------
E_PHASE_END = 0  # obj = server: end of setup or of processing
E_FAIL = 1  # obj = server: operating-time failure
E_CAL_FAIL = 2  # obj = server: calendar-time failure
E_REPAIR_END = 3  # obj = server
E_PM_END = 4  # obj = server
E_PM_DUE = 5  # obj = server: hours-based maintenance falls due
E_ARRIVAL = 6  # obj = source element
# obj = conveyor element: its head part reaches the end while its successor waits for it, or
# its entry frees while its predecessor waits to put a part on it (kernels/conveyor.py)
E_CONVEYOR = 7
E_SHIFT = 8  # obj = index into the calendar arrays
E_WAKE = 9  # obj = element: try to move parts into it again
E_WORKER_ARRIVES = 10  # obj = server, token = worker slot (W_*): its worker reached it
E_ES_TIMER = 11  # obj = server, token = SI_ES_TOK: its energy-saving timer ran out
E_ES_WARM = 12  # obj = server: its warm-up is over, the part it holds starts
E_DR = 13  # obj = row of the demand-response boundaries (kernels.demand): a window starts or ends

# --- server phases -----------------------------------------------------------------------
P_EMPTY = 0
P_SETUP = 1
P_PROCESS = 2
P_DONE = 3
P_WAIT_SETUP = 4  # a part is in, its setup waits for a worker (kernels.workers)
P_WAIT_PROCESS = 5  # its processing waits for a worker
P_WARM = 6  # a part is in, the server warms up first (kernels.standby)

# --- kernel exit codes -------------------------------------------------------------------
# Every code but K_DONE and K_STALLED leaves a state that a new call goes on from exactly
# (even from inside an instant): the trajectory does not depend on where a call stopped.
K_DONE = 0  # reached the requested time
K_NEED_PARTS = 1  # the part pool is nearly full: grow it and call again
K_NEED_HEAP = 2  # the event queue is nearly full
K_NEED_LOG = 3  # the state log is nearly full
K_PAUSE = 4  # the call did PAUSE_EVERY units of work: call again (the caller may cancel first)
K_STALLED = 5  # more than P_STALL_LIMIT units of work in STALL_WINDOW seconds: S_STALL_* say
#                which element kept firing; the run cannot go on

# --- bounds on the work of one call (docs/semantics.md, "Zero and tiny times") -------------
# A unit of work is an event taken from the queue, or a part moved in a cascade longer than
# MOVES_PER_CHECK moves. The room the kernel needs is checked before each event and again
# every MOVES_PER_CHECK moves of a cascade; the P_RESERVE_* entries are sized for that.
MOVES_PER_CHECK = 64
GUARD_EVERY = 1 << 16  # events between two looks at the stall and pause counters
PAUSE_EVERY = 1 << 22  # units of work after which a call returns K_PAUSE (~0.2 s)
STALL_WINDOW = 1.0  # seconds of simulated time the stall limit counts over
STALL_BASE = 1_000_000  # units of work in STALL_WINDOW no plant comes near, plus
STALL_PER_ELEMENT = 1000  # this many for every element and server (twin.sim.lowering)

# --- state log record: one row per state or content change --------------------------------
LOG_DTYPE = np.dtype(
    [("time", "f8"), ("element", "i4"), ("server", "i4"), ("state", "i4"), ("content", "i4")],
    align=True,
)

# =========================================================================================
# Kernel state: struct-of-arrays updated in place, so that a run can stop at any time and go
# on (progress, cancel, fork from a recorded state). Columns of the integer (``*_i``) and
# float (``*_f``) tables follow.
# =========================================================================================

# --- per server: ``srv_i[s, column]`` ----------------------------------------------------
SI_EL = 0  # element the server belongs to
SI_PHASE = 1  # P_EMPTY, P_SETUP, P_PROCESS, P_DONE
SI_PART = 2  # part in the server (-1: none)
SI_STATE = 3  # committed state (STATE codes) used for time accounting
SI_TOK = 4  # token of the pending phase event; bumped to cancel it
SI_CTOK = 5  # token of the pending calendar failure
SI_DOWN = 6  # 1 while failed
SI_PM = 7  # 1 while in preventive maintenance, PM_PAUSED while paused (kernels.demand)
SI_PM_DUE = 8  # bit 0: hours-based maintenance is due; PM_DUE_PAUSE: a pause is (demand response)
SI_OFF = 9  # 1 outside working time
SI_LAST_PROD = 10  # product of the previous part (-1: none), for setups
SI_OPS_PM = 11  # operations since the last maintenance
SI_DEST = 12  # chosen successor for the finished part (-1: any)
SI_DIRTY = 13  # 1 while queued for a state commit
# the worker of each slot (W_*) the server holds or waits for (-1: none); SI_DOWN is 2 while
# a failed server waits for its technician, 1 while it is repaired
SI_WORKER0 = 14
# energy saving (kernels.standby): the state the server saves energy in (STANDBY or
# SWITCHED_OFF; 0: none), and the token of its timer, bumped at every state change
SI_ES = 16
SI_ES_TOK = 17
N_SI = 18

# --- per server: ``srv_f[s, column]`` ----------------------------------------------------
SF_SINCE = 0  # time the committed state began
SF_REM = 1  # work left in the current phase (s)
SF_START = 2  # time the current running segment began
SF_TTF = 3  # time (operating basis) or operations (operations basis) left to failure
SF_WEAR = 4
SF_DONE_T = 5  # time the finished part became ready
SF_WORK = 6  # full process time of the part in work (s), for busy-time wear
SF_ASKED0 = 7  # time the task of each worker slot (W_*) asked for its worker
N_SF = 9

# --- per element: ``el_si[e, column]`` ---------------------------------------------------
EI_COUNT = 0  # parts inside (stations: servers holding a part)
EI_HEAD = 1  # FIFO head part (buffers, conveyors, source queues; -1 empty)
EI_TAIL = 2
EI_RR = 3  # round-robin counter
EI_PEND_DEST = 4  # unlimited source: chosen successor of the next part (-2: undecided)
EI_SCHED_K = 5  # source: next schedule row
EI_SCHED_CYCLE = 6  # source: completed schedule periods
EI_ATOK = 7  # source: token of the pending arrival
EI_QUEUED = 8  # 1 while on the work stack (2: twice, kernels.engine._resume_pulling)
# conveyor: 1 + the sequence number kept for the event at which its entry frees (0: none, or
# the event is in the queue already; kernels/conveyor.py)
EI_ENTRY_SEQ = 9
N_EI = 10

# --- per element: ``el_sf[e, column]`` ---------------------------------------------------
EF_CONTENT_SINCE = 0  # time of the last change of EI_COUNT
EF_LAST_ENTRY = 1  # conveyor: time the last part entered
EF_LAST_TAKE = 2  # unlimited source: time the last part was taken
EF_BATCH_WAKE = 3  # batch station: time of the timeout wake last scheduled (0: none)
EF_DR_SPEED = 4  # station: speed of a demand-response slow-down in force (1: none; kernels.demand)
N_EF = 5

# --- per part: ``part_i[p, column]`` and ``part_f[p, column]`` ----------------------------
PI_NEXT = 0  # next part in the same FIFO, or in the free list
PI_PROD = 1  # product index
PI_DEST = 2  # chosen successor (-1 any, -2 undecided)
PI_BATCH = 3  # next part of the same load of a batch station (-1: none, or not in a load)
PI_ORDER = 4  # order of the part: its schedule row (-1: none; kernels/orders.py)
# on a conveyor: 1 + the sequence number kept for the event at which it reaches the end (its
# PF_READY), <= 0 when none is kept or the event is in the queue already (kernels/conveyor.py)
PI_READY_SEQ = 5
# PI_DEST of the part a disassembly separated, while it waits in its load: PD_BECOMES - p
# when it becomes product p as it leaves (kernels.batching, kernels.flow._take_from_load)
PD_BECOMES = -3
N_PI = 6
PF_T0 = 0  # time the part entered the line
PF_READY = 1  # time the part became available to leave its FIFO element
N_PF = 2

# --- orders (issue 18 §4; ``kernels.orders``) ---------------------------------------------
# An order source's schedule rows are its orders (released once, at their row's time); the
# parts of a row carry the row index (PI_ORDER). Sequencing rules of the parts waiting at an
# order source (and at a buffer with a rule, kernels.orders.part_key): which part goes first.
SQ_FIFO = 0  # by release (the row order)
SQ_EDD = 1  # earliest due date first
SQ_SPT = 2  # shortest total processing time first
SQ_PRIORITY = 3  # highest priority first
SQ_SETUP = 4  # the product the first station is set up for first, else by release
SEQUENCING_NAMES = ("fifo", "edd", "spt", "priority", "setup")
# per schedule row: ``params[P_OD0 + row * N_OD + column]`` (``twin.sim.orders.order_table``;
# rows of sources without orders unused)
OD_DUE = 0  # due date (s)
OD_KEY = 1  # sort key of the order's parts at its source (smaller first; SQ_SETUP: release)
OD_PRIO = 2  # priority (higher first; the ``priority`` rule at a buffer)
N_OD = 3
# per schedule row: ``ord_out[row, column]`` (float64), never reset by the warm-up
OS_LEFT = 0  # parts of the order still in (or not yet released to) the line
OS_DONE_T = 1  # time its last part left the line (-1: not yet)
OS_GOOD = 2  # its parts that reached a sink
N_OS = 3

# --- worker pools (issue 18 §3; ``kernels.workers``) -------------------------------------
# A server has two worker slots: its repair (a technician) and its operation (the setup and
# the processing of a part, by an operator); each holds one worker at a time.
W_REPAIR = 0
W_OP = 1
# The worker arrays are float64 (whole numbers held exactly): few arrays, because every call
# of a separately compiled kernel function passes each array of the two bundles as scalars.
# per pool: ``params[P_WK0 + k * N_WK + column]`` (``twin.sim.workers.pool_table``)
WK_COUNT = 0  # people in the pool
WK_FIRST = 1  # index of its first worker in ``wkr``
WK_CALENDAR = 2  # 1: works only in the working time of the shift calendar
WK_HOME = 3  # element its people start at (-1: at their first task, no walk to it)
WK_SPEED = 4  # walking speed (m/s)
N_WK = 5
# worker states: they partition each worker's time; a pool's results row (below) sums them
WS_IDLE = 0  # free, in working time
WS_WALKING = 1  # walking to the station of its task
WS_BUSY = 2  # working at it (repairing, setting up, processing)
WS_OFF = 3  # outside the pool's working time
N_WS = 4
WORKER_STATE_NAMES = ("idle", "walking", "busy", "off")
# ``wkr`` (state, float64, (n_workers + n_pools, N_WKR)) holds the workers' rows first,
# then each pool's results row: one array in the state bundle for the feature, not two
# (each costs the hot loop even when no pool exists: benchmarks/README.md)
# per worker: ``wkr[w, column]``
WR_POOL = 0
WR_STATE = 1  # WS_* code
WR_AT = 2  # element it is at, or walks to (-1: nowhere yet)
WR_SRV = 3  # server it works for (-1: none)
WR_SINCE = 4  # time its state began
N_WR = 5
# per pool results since the warm-up: ``wkr[n_workers + k, column]`` (``wk_out`` of a run's
# results, ``twin.sim.workers.pool_results``); columns 0..N_WS-1 are the worker-seconds in
# each WS_* state
WO_TASKS = 4  # tasks that got a worker
WO_WAITED = 5  # of those, tasks that had to wait for one (walking not counted)
WO_WAIT_SUM = 6  # total time tasks waited for a worker (s), walking not included
WO_WAIT_MAX = 7
WO_WALK_SUM = 8  # total walking time of the tasks' workers (s)
N_WO = 9
N_WKR = max(N_WR, N_WO)  # columns of ``wkr``

# --- scalars: ``si[column]`` and ``sf[column]`` -------------------------------------------
S_SEQ = 0  # events scheduled so far (tie-breaker of the queue)
S_HEAP_N = 1
S_FREE = 2  # head of the free part list
S_NFREE = 3
S_LOG_N = 4
S_SAMPLE_K = 5  # next time-series sample
S_WARM_DONE = 6  # 1 once statistics were reset at the end of the warm-up
S_WORKING = 7  # 1 inside working time of the calendar
S_CAL_K = 8  # next calendar toggle
S_WIP = 9
S_GOOD_TOTAL = 10  # good parts at the sinks since time 0 (never reset), for the time series
S_STACK_N = 11
S_DIRTY_N = 12
S_PULLING = 13  # 1 + the element a call stopped in the middle of pulling into (0: none)
S_LOSE = 14  # 1 + the 'lose' source whose unplaced arrivals are still to be lost (0: none)
S_WORK = 15  # events since the last look at the stall counter
S_CALL_N = 16  # units of work in this call (K_PAUSE)
S_STALL_N = 17  # units of work since T_STALL
S_STALL_EL = 18  # K_STALLED: the element that kept firing (-1: the calendar)
S_STALL_KIND = 19  # K_STALLED: its event kind (E_*), or -1 for parts it kept handing on
S_STALL_TO = 20  # K_STALLED with kind -1: the element that kept taking them
N_S = 21
T_NOW = 0
T_WIP_SINCE = 1
T_OBS_START = 2  # start of the observation (0 or end of warm-up)
T_WARMUP = 3
T_STALL = 4  # start of the window S_STALL_N counts over
N_T = 5

# --- the bundles the kernel takes: the plant (read only) and the state (updated in place) --
from collections import namedtuple  # noqa: E402

ModelArrays = namedtuple("ModelArrays", [
    "el_i",  # int64 (n_el, N_I)
    "el_f",  # float64 (n_el, N_F)
    "succ_ptr", "succ", "succ_cum",  # CSR successors; succ_cum: cumulative split probability
    "pred_ptr", "pred",  # CSR predecessors (none for an assembly: it pulls through ``bom``)
    "dist_kind", "dist_par", "emp",  # distributions, see rng.sample
    "proc_dist", "setup_dist",  # int64 (n_el, n_products): distribution per product (-1 none)
    "power",  # float64 (n_el, N_STATES): kW per server in each state
    "mix_cum",  # float64 (n_el, n_products): cumulative product mix of a source; of a buffer
    #             with the ``spt`` rule, each product's mean process time after it (orders)
    "sched_t", "sched_p", "sched_q",  # source schedules: time (s), product, quantity
    "cal_t", "cal_on",  # calendar toggles: time (s) and 1 if working from then on
    "ts_t",  # float64 (n_samples,): times of the time-series samples (s)
    "bom",  # int64 (max(n_bom, 1), N_BM): BM_* columns, one row per assembly input
    "params",  # float64 (N_P + ...): the P_* entries below, then the feature tables
    "features",  # None: the line uses none of the features of issues 18-19 (``uses_features``);
    #              else int64 (1,). The kernel is compiled once for each (``kernels.jit``)
])

KernelState = namedtuple("KernelState", [
    "si", "sf",  # scalars: int64 (N_S,), float64 (N_T,)
    "srv_i", "srv_f",  # servers: (n_srv, N_SI), (n_srv, N_SF)
    "el_si", "el_sf",  # elements: (n_el, N_EI), (n_el, N_EF)
    "part_i", "part_f",  # part pool: (n_parts, N_PI), (n_parts, N_PF)
    "heap_t", "heap_i",  # event queue: time (n_heap,), (n_heap, 4) seq, kind, obj, token
    "rng",  # uint64 (n_el * N_STREAMS, 4)
    "el_out",  # float64 (n_el, N_O)
    "st_time",  # float64 (n_el, N_STATES): server-seconds in each state since warm-up
    "st_warm",  # float64 (n_el, N_STATES): the same before warm-up (+ st_time: since 0)
    "line_out",  # float64 (N_L,)
    "stack", "dirty",  # work stacks: elements to pull into, servers to commit
    "ts_line",  # float64 (n_samples, N_TS): TS_* columns
    "ts_energy", "ts_wear", "ts_content",  # float64 (n_samples, n_el): kWh since 0, wear, parts
    "log_t", "log_i",  # state log: time (n_log,), (n_log, N_LG) LG_* columns
    "wkr",  # float64 (n_workers + n_pools, N_WKR): workers (WR_*), then pools' results (WO_*)
    "bom_out",  # float64 (max(n_bom, 1), N_BO): assembly inputs, their places and results
    "ord_out",  # float64 (len(sched_t), N_OS): orders' progress, OS_* columns
])
P_WARMUP = 0  # warm-up (s)
P_LOG = 1  # 1: write the state log; LOG_WORKERS: also a row per worker state change
LOG_WORKERS = 2  # P_LOG of a playback re-run: worker rows (LG_SERVER = -2 - worker) too
# Free parts, queue slots and log rows to keep before each event and every MOVES_PER_CHECK
# moves: enough for the largest event (a shift change, a schedule row), MOVES_PER_CHECK + 2
# moves, and what follows a cascade (state commits, lost arrivals); twin.sim.lowering sizes them.
P_RESERVE_PARTS = 2
P_RESERVE_HEAP = 3
P_WORKING0 = 4  # 1: time 0 is working time of the calendar
P_RESERVE_LOG = 5
P_STALL_LIMIT = 6  # units of work in STALL_WINDOW beyond which the kernel returns K_STALLED
P_ES = 7  # 1: some station has an energy-saving policy (kernels.standby); 0: no hook runs
P_DR = 8  # rows of demand-response boundaries after N_P in ``params`` (kernels.demand); 0: no hook
# Feature tables of the model ride in ``params`` after N_P (one array in the model bundle, not
# one per feature: each costs the hot loop even when unused, benchmarks/README.md)
P_POOLS = 9  # worker pools (kernels.workers): their rows ``params[P_WK0 + k * N_WK + WK_*]``
P_WK0 = 10
P_OD0 = 11  # orders' rows ``params[P_OD0 + row * N_OD + OD_*]`` (0: no order source)
N_P = 12

# --- demand response (issue 19 §2, kernels/demand.py; only read when P_DR > 0) -------------
# ``params[N_P + k * N_DR + DR_*]``: boundary k of a window for one station, sorted by time
DR_T = 0  # time (s)
DR_EL = 1  # the station (element index)
DR_ON = 2  # 1: the window starts, 0: it ends
DR_SPEED = 3  # 0: the station pauses; else it runs at this speed (0 < speed <= 1)
N_DR = 4
PM_PAUSED = 2  # SI_PM of a server paused by demand response
PM_DUE_PAUSE = 2  # SI_PM_DUE bit: pause the server once its part has left


def uses_features(el_i: np.ndarray, params: np.ndarray) -> bool:
    """Whether a line needs the kernel's feature hooks (issue 18: assembly, batches and
    disassembly, worker pools, orders and sequencing; issue 19: energy saving, demand
    response). Each hook in ``kernels`` is written ``if m.features is not None and ...``:
    for a line without any of these, every such test is false on every event, and its
    ``ModelArrays.features`` is None, for which the kernel is compiled without the hooks
    (``kernels.jit.DropAbsentFeatures``): neither their code nor their tests cost that line
    anything, in run time or in compile time."""
    return bool(
        (el_i[:, I_BOM_N] > 0).any()  # assembly, batch, disassembly (PI_BATCH loads)
        or (el_i[:, I_SEQ] >= 0).any()  # order sources (PI_ORDER) and sequencing rules
        or (el_i[:, [I_CREW, I_CREW_REPAIR, I_CREW_SETUP, I_CREW_PROCESS]] != 0).any()
        or (el_i[:, I_ES_MODE] > 0).any()
        or params[P_POOLS] > 0 or params[P_ES] > 0.0 or params[P_DR] > 0.0
        or params[P_OD0] > 0)


def features_array(el_i: np.ndarray, params: np.ndarray) -> np.ndarray | None:
    """``ModelArrays.features`` for a line (``uses_features``)."""
    return np.ones(1, np.int64) if uses_features(el_i, params) else None
