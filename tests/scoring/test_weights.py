"""The weights file: the shipped one is valid; a broken one is refused with the place named."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from kb.scoring.weights import WeightsError, default_path, load_weights, read_weights


def test_shipped_weights_are_valid_and_versioned() -> None:
    weights = load_weights()
    assert weights.model_version
    assert set(weights.dimensions) == {"stability", "lock_in"}
    assert weights.reliability.multiplier(None) == weights.reliability.grades["B"]
    assert weights.reliability.multiplier("a") == 1.0
    assert weights.reliability.multiplier("Z") == weights.reliability.grades["F"]


def write(tmp_path: Path, change: dict) -> Path:
    raw = yaml.safe_load(default_path().read_text())
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = raw
        for p in parents:
            node = node[p]
        if value is None:
            del node[last]
        else:
            node[last] = value
    path = tmp_path / "scoring.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bands.high": 20.0}, "band edges"),
        ({"reliability.grades.F": None}, "grades must list exactly"),
        ({"dimensions.lock_in.facts.open_weights.risk": {"yes": 0.0}}, "risk must list exactly"),
        (
            {"dimensions.lock_in.facts.nonsense": {"label": "x", "weight": 1, "risk": {}}},
            "unknown fact 'nonsense'",
        ),
        ({"dimensions.stability.k": 0}, "dimensions.stability.k"),
        ({"dimensions.lock_in.profile_blend": 1.0}, "profile_blend"),
        ({"model_version": None}, "model_version"),
        ({"alerts.jump_threshold": -1}, "alerts.jump_threshold"),
        ({"extra_key": 1}, "extra_key"),
    ],
)
def test_invalid_weights_are_refused(tmp_path: Path, change: dict, message: str) -> None:
    with pytest.raises(WeightsError, match=message.replace("(", r"\(")):
        read_weights(write(tmp_path, change))


def test_unreadable_or_broken_yaml(tmp_path: Path) -> None:
    with pytest.raises(WeightsError, match="cannot read"):
        load_weights(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("model_version: [unclosed\n")
    with pytest.raises(WeightsError, match="not valid YAML"):
        read_weights(broken)


def test_changed_file_is_reread(tmp_path: Path) -> None:
    path = write(tmp_path, {"model_version": "test-1"})
    assert load_weights(path).model_version == "test-1"
    path.write_text(path.read_text().replace("test-1", "test-2"))
    os.utime(path, ns=(1, 2_000_000_000_000_000_000))
    assert load_weights(path).model_version == "test-2"
