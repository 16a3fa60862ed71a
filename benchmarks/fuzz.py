"""A long fuzz run: the strategies of ``tests/fuzz`` for minutes to hours, new failures into
the corpus.

    python benchmarks/fuzz.py --minutes 30                    # every reader, in turns
    python benchmarks/fuzz.py --minutes 5 --reader recording  # one reader
    python benchmarks/fuzz.py --minutes 5 --no-save           # count only

Each case runs in the sandboxed worker of ``tests/fuzz/harness.py`` under the same property
as the tests (a clear refusal or a sane result, within the time bound). Cases are drawn at
random (not derandomized as in CI); the readers take turns in slices of a minute. A failure
whose signature (kind, exception, where it rose) has been seen fewer than ``--per-signature``
times, counting the corpus already there, is written to ``tests/fuzz/corpus``: replay it with
``pytest tests/fuzz/test_corpus.py``. Prints, per reader, the cases run, refusals, sane
results and failures, then each failure signature with its count.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "fuzz"), str(ROOT)]

import harness  # noqa: E402
import strategies  # noqa: E402
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402

SLICE_S = 60.0


class _TimeUp(Exception):
    """The reader's slice is over (ends Hypothesis's loop; not a failure)."""


class Tally:
    """Outcomes per reader and failure signatures over the whole run."""

    def __init__(self, per_signature: int, save: bool) -> None:
        self.kinds: dict[str, Counter] = {}
        self.signatures: Counter = Counter()
        self.seen = Counter(_note(e) for e in harness.entries())
        self.per_signature, self.save, self.saved = per_signature, save, []

    def add(self, reader: str, case: harness.Case, outcome: harness.Outcome) -> None:
        self.kinds.setdefault(reader, Counter())[outcome.kind] += 1
        if outcome.ok:
            return
        sig = f"{reader}: {outcome.signature()}"
        self.signatures[sig] += 1
        if self.save and self.seen[sig] < self.per_signature:
            self.saved.append(harness.save(case, sig))
        self.seen[sig] += 1


def _note(entry: Path) -> str:
    return (entry / "NOTE").read_text(encoding="utf-8").strip() if (entry / "NOTE").is_file() \
        else ""


def fuzz_slice(reader: str, sandbox: harness.Sandbox, work: Path, tally: Tally,
               seconds: float) -> None:
    """Draw and run cases of one reader for ``seconds``."""
    end = time.monotonic() + seconds

    @settings(max_examples=10**9, phases=[Phase.generate], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=strategies.READERS[reader]())
    def one(case):
        if time.monotonic() > end:
            raise _TimeUp
        tally.add(reader, case, harness.run_case(sandbox, case, harness.fresh_dir(work)))

    with contextlib.suppress(_TimeUp):
        one()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--reader", action="append", choices=sorted(strategies.READERS),
                   help="reader to fuzz (repeatable; default: all)")
    p.add_argument("--per-signature", type=int, default=1,
                   help="corpus entries kept per failure signature")
    p.add_argument("--no-save", action="store_true", help="do not write the corpus")
    args = p.parse_args(argv)
    readers = args.reader or sorted(strategies.READERS)
    tally = Tally(args.per_signature, not args.no_save)
    sandbox = harness.Sandbox()
    end = time.monotonic() + 60 * args.minutes
    try:
        with tempfile.TemporaryDirectory(prefix="twinbench-fuzz-") as tmp:
            i = 0
            while (left := end - time.monotonic()) > 1:
                reader = readers[i % len(readers)]
                fuzz_slice(reader, sandbox, Path(tmp) / "work", tally, min(SLICE_S, left))
                i += 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
    finally:
        sandbox.close()
    print(f"{'reader':<16}{'cases':>8}{'refusals':>10}{'sane':>8}{'failures':>10}")
    for reader in readers:
        c = tally.kinds.get(reader, Counter())
        bad = c["failure"] + c["hang"] + c["crash"]
        print(f"{reader:<16}{sum(c.values()):>8}{c['refusal']:>10}{c['sane']:>8}{bad:>10}")
    if tally.signatures:
        print("\nfailures by signature:")
        for sig, n in tally.signatures.most_common():
            print(f"{n:>6}  {sig}")
    if tally.saved:
        print(f"\n{len(tally.saved)} new corpus entries:")
        for entry in tally.saved:
            print(f"  {entry.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
