"""The JSON Schema of the spec format, generated from the layer registry so it cannot drift
from what the loader accepts. ``cnnspec schema`` prints it; editors use it to validate and
complete specs (e.g. with a ``# yaml-language-server: $schema=...`` comment)."""

from __future__ import annotations

from .layers import LAYERS
from .spec import GROUP, NODE_KEYS

SCHEMA_ID = "cnnspec-spec-v1"

_NODE_PROPS = {
    "name": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
             "description": "node name (default: its index in the list)"},
    "trainable": {"type": "boolean", "description": "false freezes its parameters"},
}


def _settings(cls) -> dict:
    props = dict(_NODE_PROPS)
    for attr in cls.attrs:
        for spelling in (attr.name, *attr.aliases):
            entry = dict(attr.kind.schema)
            description = attr.doc or attr.kind.name
            if spelling != attr.name:
                description = f"alias of {attr.name}"
            props[spelling] = {**entry, "description": description}
    schema: dict = {"type": "object", "properties": props, "additionalProperties": False}
    required = [a for a in cls.attrs if a.required]
    if required:
        schema["allOf"] = [
            {"anyOf": [{"required": [s]} for s in (a.name, *a.aliases)]} for a in required
        ]
    return schema


def _layer_item(name: str, cls) -> dict:
    options: list[dict] = [_settings(cls)]
    if not any(a.required for a in cls.attrs):
        options.append({"type": "null"})
    if cls.shorthand:
        shorthand = next(a for a in cls.attrs if a.name == cls.shorthand)
        options.append(shorthand.kind.schema)
    return {
        "type": "object",
        "description": (cls.__doc__ or "").strip().split("\n\n")[0],
        "properties": {name: {"anyOf": options}},
        "required": [name],
        "additionalProperties": False,
    }


def spec_schema() -> dict:
    items: list[dict] = []
    bare = []
    defs: dict = {}
    for cls in sorted(LAYERS.values(), key=lambda c: c.type_name):
        for name in (cls.type_name, *cls.aliases):
            defs[name] = _layer_item(name, cls)
            items.append({"$ref": f"#/$defs/{name}"})
            if not any(a.required for a in cls.attrs):
                bare.append(name)
    defs[GROUP] = {
        "type": "object",
        "description": "a named group of layers in sequence (an nn.Sequential)",
        "properties": {GROUP: {
            "type": "object",
            "properties": {**_NODE_PROPS, "layers": {"$ref": "#/$defs/layers"}},
            "required": ["layers"],
            "additionalProperties": False,
        }},
        "required": [GROUP],
        "additionalProperties": False,
    }
    items.append({"$ref": f"#/$defs/{GROUP}"})
    items.append({"enum": sorted(bare), "description": "a layer with default settings"})
    defs["layers"] = {"type": "array", "minItems": 1, "items": {"anyOf": items}}
    assert set(_NODE_PROPS) == set(NODE_KEYS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "cnnspec network spec",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "input": {
                "type": "array", "minItems": 1, "maxItems": 3,
                "description": "[channels, height, width]; names such as H make the analysis symbolic",
                "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
            },
            "vars": {
                "type": "object",
                "description": "variables usable in expressions; --set NAME=VALUE overrides them",
                "additionalProperties": {"type": ["number", "boolean", "string"]},
            },
            "layers": {"$ref": "#/$defs/layers"},
        },
        "$defs": defs,
    }
