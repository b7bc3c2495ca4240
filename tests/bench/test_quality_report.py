"""bench_quality's report: rows of pairs not run now are kept, if the judge was the same."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from bench.judge import JudgeSettings

BENCH = Path(__file__).parents[2] / "bench"


@pytest.fixture(scope="module")
def quality():
    sys.path.insert(0, str(BENCH))  # bench_quality imports its neighbours by bare name
    try:
        import bench_quality
    finally:
        sys.path.remove(str(BENCH))
    return bench_quality


def _row(pair: str, size: int) -> dict:
    return {"pair": pair, "size": size, "gramscope": {"content": 0.1, "style": 0.05}}


def test_rows_of_pairs_not_run_now_are_kept(quality):
    settings = JudgeSettings()
    written = {"judge": quality.judges(settings),
               "rows": [_row("a-x", 1024), _row("b-y", 1024), _row("b-y", 512)]}
    previous = json.loads(json.dumps(written))  # as read back from the report file
    kept = quality.kept_rows(previous, settings, {("b-y", 1024)})
    assert [(r["pair"], r["size"]) for r in kept] == [("a-x", 1024), ("b-y", 512)]


def test_a_report_made_with_another_judge_is_not_mixed_in(quality):
    previous = {"judge": quality.judges(JudgeSettings(size=256)),
                "rows": [_row("a-x", 1024)]}
    assert quality.kept_rows(previous, JudgeSettings(), {("b-y", 1024)}) == []
    # A report from before the network judge, graded by judge.py alone.
    previous = {"judge": JudgeSettings().to_dict(), "rows": [_row("a-x", 1024)]}
    assert quality.kept_rows(previous, JudgeSettings(), {("b-y", 1024)}) == []
    assert quality.kept_rows(None, JudgeSettings(), set()) == []
