"""The CSV importer: the base data of each recording shape with cells, rows and columns
broken (and sometimes its mapping too), imported and, when it imports, read back."""

from harness import check, run_case
from hypothesis import given, settings
from strategies import import_cases


@settings(max_examples=40)
@given(case=import_cases())
def test_damaged_data_is_refused_or_reported_and_reads_back(case, sandbox, case_dir):
    check(run_case(sandbox, case, case_dir()), case)


@settings(max_examples=10)
@given(case=import_cases(cli=True))
def test_twinbench_import_of_damaged_data(case, sandbox, case_dir):
    check(run_case(sandbox, case, case_dir()), case)
