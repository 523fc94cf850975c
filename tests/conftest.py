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


TV_DATA = DATA / "torchvision"


def _tv_entries() -> dict:
    return {path.stem: json.loads(path.read_text()) for path in sorted(TV_DATA.glob("*.json"))}


TV_ENTRIES = _tv_entries()
# shipped spec -> the torchvision model it mirrors, one file per model in tests/data/torchvision
TV_MIRRORS = {entry["spec"]: model for model, entry in TV_ENTRIES.items()}


@pytest.fixture(scope="session")
def tv_reference() -> dict:
    """torchvision's measured figures, one file per model (written by
    tools/torchvision_reference.py; the first ones copied from shared/reference)."""
    return TV_ENTRIES
