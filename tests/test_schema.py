"""The JSON Schema: every shipped spec validates, and typical mistakes are rejected."""

from __future__ import annotations

import jsonschema
import pytest
import yaml

from cnnspec.layers import LAYERS
from cnnspec.reports.schema import spec_schema

from .conftest import SPEC_FILES, SPEC_IDS


@pytest.fixture(scope="module")
def validator():
    schema = spec_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.mark.parametrize("path", SPEC_FILES, ids=SPEC_IDS)
def test_shipped_specs_validate(validator, path):
    validator.validate(yaml.safe_load(path.read_text()))


@pytest.mark.parametrize("bad", [
    {"layers": ["relu"]},
    {"input": [3, 8, 8], "layers": ["rleu"]},
    {"input": [3, 8, 8], "layers": [{"conv2d": {"out": 8}}]},
    {"input": [3, 8, 8], "layers": [{"conv2d": {"out": 8, "kernal": 3}}]},
    {"input": [3, 8, 8], "layers": [{"conv2d": {"out": 0, "kernel": 3}}]},
    {"input": [3, 8, 8], "layers": [{"dropout": [0.1, 0.2]}]},
    {"input": [3, 8, 8], "layers": [{"maxpool2d": {"kernel": 2, "ceil_mode": "yes"}}]},
])
def test_mistakes_are_rejected(validator, bad):
    assert list(validator.iter_errors(bad))


def test_every_layer_type_and_alias_is_in_the_schema():
    defs = spec_schema()["$defs"]
    for cls in LAYERS.values():
        for name in (cls.type_name, *cls.aliases):
            assert name in defs
