"""The project reader: ``load_project`` of valid-shaped, mutated and damaged project files,
then a short run of every scenario of those that load."""

from harness import check, run_case
from hypothesis import given, settings
from strategies import mapping_cases, project_cases


@settings(max_examples=40)
@given(case=project_cases())
def test_a_project_file_is_refused_clearly_or_runs_sanely(case, sandbox, case_dir):
    check(run_case(sandbox, case, case_dir()), case)


@settings(max_examples=40)
@given(case=mapping_cases())
def test_a_mapping_file_is_refused_clearly_or_read(case, sandbox, case_dir):
    check(run_case(sandbox, case, case_dir()), case)
