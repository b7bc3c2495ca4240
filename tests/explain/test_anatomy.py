"""Loss anatomy from the engine's records: scaling, phases, files."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gramscope.errors import GramscopeError
from gramscope.explain.anatomy import LossAnatomy
from gramscope.transfer import StepRecord


def record(step: int, scale: int, content: float, style: dict[str, float]) -> StepRecord:
    total = content + 10.0 * sum(style.values())
    return StepRecord(step, scale, (8, 8), 0.1 * step, content, style, 10.0, 0.0, total)


@pytest.fixture
def history() -> list[StepRecord]:
    return [
        record(1, 0, 1.0, {"conv1_1": 0.05, "conv4_1": 0.5}),  # β·wE: 0.5, 5.0 -> conv4_1
        record(2, 0, 2.0, {"conv1_1": 0.05, "conv4_1": 0.1}),  # 0.5, 1.0 -> content
        record(3, 1, 3.0, {"conv1_1": 0.01, "conv4_1": 0.01}),  # content
        record(4, 1, 0.1, {"conv1_1": 0.2, "conv4_1": 0.01}),  # conv1_1
    ]


def test_terms_are_parts_of_the_total(history):
    anatomy = LossAnatomy.from_records(history)
    assert list(anatomy.terms) == ["content", "conv1_1", "conv4_1"]
    assert anatomy.terms["conv4_1"][0] == pytest.approx(5.0)  # β·w·E, not w·E
    for i, total in enumerate(anatomy.total):
        assert sum(values[i] for values in anatomy.terms.values()) == pytest.approx(total)


def test_which_term_dominates_when(history):
    anatomy = LossAnatomy.from_records(history)
    assert anatomy.dominant() == ["conv4_1", "content", "content", "conv1_1"]
    assert [(p.term, p.first_step, p.last_step) for p in anatomy.phases()] == [
        ("conv4_1", 1, 1), ("content", 2, 3), ("conv1_1", 4, 4)]
    assert anatomy.summary().startswith("step 1: β·w·E of conv4_1; steps 2–3: α·L_content")
    assert anatomy.scale_starts() == [3]


def test_csv_json_and_sidecar_round_trip(history, tmp_path):
    anatomy = LossAnatomy.from_records(history)
    rows = list(csv.DictReader(io.StringIO(anatomy.to_csv())))
    assert list(rows[0]) == ["step", "scale", "content", "conv1_1", "conv4_1", "total"]
    assert float(rows[1]["conv4_1"]) == pytest.approx(1.0)
    data = json.loads(anatomy.to_json())
    assert data["phases"][1] == {"term": "content", "first_step": 2, "last_step": 3}
    sidecar = tmp_path / "out.png.json"
    sidecar.write_text(json.dumps({"history": [r.to_dict() for r in history]}))
    again = LossAnatomy.from_sidecar(sidecar)
    assert again.terms == anatomy.terms
    paths = again.save(tmp_path, "anatomy")
    assert [p.name for p in paths] == ["anatomy.png", "anatomy.csv", "anatomy.json"]
    assert paths[0].read_bytes().startswith(b"\x89PNG")


def test_a_video_frame_shows_its_temporal_term(history):
    tied = [StepRecord(r.step, r.scale, r.size, r.seconds, r.content, r.style, r.beta, r.tv,
                       r.total + temporal, temporal=temporal)
            for r, temporal in zip(history, (9.0, 0.5, 0.4, 0.3), strict=True)]
    anatomy = LossAnatomy.from_records([r.to_dict() for r in tied])
    assert list(anatomy.terms) == ["content", "conv1_1", "conv4_1", "temporal"]
    for i, total in enumerate(anatomy.total):
        assert sum(values[i] for values in anatomy.terms.values()) == pytest.approx(total)
    assert anatomy.dominant()[0] == "temporal"
    assert anatomy.summary().startswith("step 1: λ·L_temporal; steps 2–3: α·L_content")
    assert "temporal" in json.loads(anatomy.to_json())["columns"]
    assert anatomy.png().startswith(b"\x89PNG")


def test_unusable_input_is_one_line_error(tmp_path):
    with pytest.raises(GramscopeError, match="does not exist"):
        LossAnatomy.from_sidecar(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(GramscopeError, match="not a gramscope sidecar"):
        LossAnatomy.from_sidecar(bad)
    with pytest.raises(GramscopeError, match="no optimiser steps"):
        LossAnatomy.from_records([])
