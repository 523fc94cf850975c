"""Shared fixtures: where the specs are, and loading helpers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
DATA = Path(__file__).resolve().parent / "data"
SPEC_FILES = sorted(SPECS.glob("*.yaml"))
SPEC_IDS = [p.stem for p in SPEC_FILES]


@pytest.fixture(scope="session")
def tv_reference() -> dict:
    """torchvision's measured figures (copied from shared/reference/torchvision.json)."""
    return json.loads((DATA / "torchvision_reference.json").read_text())["models"]
