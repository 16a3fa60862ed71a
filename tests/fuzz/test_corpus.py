"""Every input the fuzzing found to break a reader, replayed through the same property.

Each entry of ``tests/fuzz/corpus`` is a folder: ``case.json`` (reader, arguments and, for a
recording, the recipe that builds it from a base recording), ``files/`` (the project, the
mapping, the CSV) and ``NOTE`` (what it triggered when it was found).
"""

import pytest
from harness import check, entries, load, run_case

ENTRIES = entries()


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.name for e in ENTRIES])
def test_corpus_entry(entry, sandbox, case_dir):
    case = load(entry)
    check(run_case(sandbox, case, case_dir()), case)
