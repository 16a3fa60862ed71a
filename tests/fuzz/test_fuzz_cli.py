"""``twinbench check`` and a short ``twinbench run --json`` of mutated projects: in-process
(the command's handler, without ``main``'s net for unexpected exceptions) and, for a few
cases, as a user runs them in a subprocess (exit code, no traceback, no signal)."""

from harness import check, run_case
from hypothesis import given, settings
from strategies import cli_cases


@settings(max_examples=30)
@given(case=cli_cases())
def test_check_and_run_refuse_clearly_or_print_sane_kpis(case, sandbox, case_dir):
    check(run_case(sandbox, case, case_dir()), case)


@settings(max_examples=4)
@given(case=cli_cases(subprocess=True))
def test_the_twinbench_process_exits_cleanly(case, sandbox, case_dir):
    check(run_case(sandbox, case, case_dir()), case)
