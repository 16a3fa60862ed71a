"""The recording reader: recordings written by ``twinbench import`` and then changed with
h5py (datasets deleted, made scalars or other dtypes, NaN/inf/huge values, attributes
changed, soft and external links, truncated or flipped bytes), read, replayed and turned
into KPIs, as a library and through ``twinbench replay --json``."""

from harness import check, run_case
from hypothesis import given, settings
from strategies import recording_cases


@settings(max_examples=40)
@given(case=recording_cases())
def test_a_damaged_recording_is_refused_clearly_or_replayed_sanely(case, sandbox, case_dir):
    check(run_case(sandbox, case, case_dir()), case)


@settings(max_examples=15)
@given(case=recording_cases(cli=True))
def test_twinbench_replay_of_a_damaged_recording(case, sandbox, case_dir):
    check(run_case(sandbox, case, case_dir()), case)
