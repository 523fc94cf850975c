"""The JSON Schema of the spec format, generated from the layer registry so it cannot drift
from what the loader accepts. ``cnnspec schema`` prints it; editors use it to validate and
complete specs (e.g. with a ``# yaml-language-server: $schema=...`` comment)."""

from __future__ import annotations

from cnnspec.frontend.composites import MERGES, SE_GATES, SHORTCUTS, se_activations
from cnnspec.frontend.scope import NODE_KEYS
from cnnspec.layers import LAYERS
from cnnspec.util.names import IDENTIFIER_TEXT, NODE_NAME_TEXT

SCHEMA_ID = "cnnspec-spec-v1"

_REF = {"anyOf": [{"type": "string"}, {"type": "integer", "maximum": -1}]}
_NODE_PROPS = {
    "name": {"anyOf": [{"type": "string", "pattern": f"^{NODE_NAME_TEXT}$"},
                       {"type": "integer", "minimum": 0}],
             "description": "node name (default: its index in the list)"},
    "trainable": {"type": "boolean", "description": "false freezes its parameters"},
    "from": {"anyOf": [_REF, {"type": "array", "items": _REF, "minItems": 1}],
             "description": "input node(s): names, or -1 for the previous item, -2 before it"},
    "if": {"anyOf": [{"type": "boolean"}, {"type": "string"}],
           "description": "false (or a condition that is false) leaves the item out"},
}
_LAYERS_REF = {"$ref": "#/$defs/layers"}
_NUMBER_OR_EXPR = {"anyOf": [{"type": "number"}, {"type": "string"}]}
#: a var or argument: a number, true/false, an expression or a layer type's name, or a list
_VALUE = {"anyOf": [{"type": ["number", "boolean", "string"]},
                    {"type": "array", "minItems": 1, "items": {"type": ["number", "string"]}}]}
_ARGS = {"type": "object", "additionalProperties": _VALUE}
_NAME_PATTERN = {"type": "string", "pattern": f"^{IDENTIFIER_TEXT}$"}
_PIECE_NAMES = {"type": "array", "items": {"type": "string", "pattern": f"^{NODE_NAME_TEXT}$"}}


def _composite(name: str, description: str, props: dict, required: tuple = ()) -> dict:
    inner = {"type": "object", "properties": {**_NODE_PROPS, **props}, "additionalProperties": False}
    if required:
        inner["required"] = list(required)
    if name == "squeeze_excitation":
        inner = {"anyOf": [inner, {"type": "null"}]}
    return {"type": "object", "description": description, "properties": {name: inner},
            "required": [name], "additionalProperties": False}


def _composites() -> dict:
    return {
        "sequential": _composite("sequential", "layers in a row, as one named group",
                                 {"layers": _LAYERS_REF}, ("layers",)),
        "residual": _composite("residual", "a main path plus a shortcut, merged", {
            "layers": _LAYERS_REF,
            "shortcut": {"anyOf": [{"enum": list(SHORTCUTS)}, _LAYERS_REF]},
            "shortcut_name": _NAME_PATTERN,
            "merge": {"enum": list(MERGES)},
            "merge_name": _NAME_PATTERN,
            "after": _LAYERS_REF,
        }, ("layers",)),
        "branches": _composite("branches", "parallel paths from one input, merged", {
            "paths": {"type": "array", "minItems": 2,
                      "items": {"anyOf": [_LAYERS_REF, {"$ref": "#/$defs/item"}]}},
            "merge": {"enum": list(MERGES)},
            "merge_name": _NAME_PATTERN,
        }, ("paths",)),
        "repeat": _composite("repeat", "a block or layer list repeated", {
            "times": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
            "block": {"type": "string"},
            "layers": _LAYERS_REF,
            "args": _ARGS,
            "first": _ARGS,
            "names": {"type": "string"},
        }, ("times",)),
        "squeeze_excitation": _composite("squeeze_excitation", "torchvision's SqueezeExcitation", {
            "squeeze": _NUMBER_OR_EXPR,
            "reduction": _NUMBER_OR_EXPR,
            "activation": {"enum": list(se_activations())},
            "gate": {"enum": list(SE_GATES)},
        }),
        "split": _composite("split", "the channels cut into pieces of given sizes (torch.split)", {
            "sizes": {"anyOf": [_NUMBER_OR_EXPR,
                                {"type": "array", "items": _NUMBER_OR_EXPR, "minItems": 1}]},
            "names": _PIECE_NAMES,
        }, ("sizes",)),
        "group": {"type": "object", "description": "items in place of one, adding no naming level",
                  "properties": {"group": {"type": "object", "properties": {
                      "layers": _LAYERS_REF, "if": _NODE_PROPS["if"]},
                      "required": ["layers"], "additionalProperties": False}},
                  "required": ["group"], "additionalProperties": False},
        "chunk": _composite("chunk", "the channels cut into equal pieces (torch.chunk)", {
            "chunks": _NUMBER_OR_EXPR,
            "names": _PIECE_NAMES,
        }, ("chunks",)),
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


def _lint_schema() -> dict:
    """The spec's ``lint:`` section (docs/rules.md)."""
    from cnnspec.lint.config import DTYPES
    from cnnspec.lint.diagnostic import SEVERITIES
    from cnnspec.lint.registry import default_settings

    names = {"type": "array", "items": {"type": "string"}}
    quantity = {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string"}]}
    thresholds = {name: ({"anyOf": [{"type": "integer", "minimum": 1},
                                    {"type": "array", "items": {"type": "integer", "minimum": 1},
                                     "minItems": 2, "maxItems": 2}]}
                         if isinstance(default, tuple) else {"type": "number", "minimum": 0})
                  for name, default in default_settings().items()}
    return {
        "type": "object", "additionalProperties": False,
        "description": "lint settings for this spec: rules by code (CNN101), prefix (CNN1) or name",
        "properties": {
            "select": names, "ignore": names,
            "severity": {"type": "object", "additionalProperties": {"enum": list(SEVERITIES)}},
            "thresholds": {"type": "object", "properties": thresholds, "additionalProperties": False},
            "fail_on": {"enum": list(SEVERITIES)},
            "max_params": quantity, "max_macs": quantity, "max_memory": quantity,
            "batch": {"type": "integer", "minimum": 1}, "dtype": {"enum": list(DTYPES)},
        },
    }


def spec_schema() -> dict:
    defs, items, bare = _item_defs()
    known = sorted(defs)
    items.append({"enum": sorted(bare), "description": "a layer with default settings"})
    items.append(_block_instance(known))
    defs["item"] = {"anyOf": items}
    defs["layers"] = {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/item"}}
    assert set(_NODE_PROPS) == set(NODE_KEYS)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "cnnspec network spec",
        "type": "object",
        "required": ["input", "layers"],
        "additionalProperties": False,
        "properties": _top_properties(known),
        "patternProperties": {"^x-": {"description": "ignored: a place for YAML anchors"}},
        "$defs": defs,
    }


def _item_defs() -> tuple[dict, list, list]:
    """The definitions of every layer type (and alias) and composite, references to them as
    list items, and the layers that may be written bare (no required setting)."""
    items: list[dict] = []
    bare = []
    defs: dict = {}
    for cls in sorted(LAYERS.values(), key=lambda c: c.type_name):
        for name in (cls.type_name, *cls.aliases):
            defs[name] = _layer_item(name, cls)
            items.append({"$ref": f"#/$defs/{name}"})
            if not any(a.required for a in cls.attrs):
                bare.append(name)
    for name, definition in _composites().items():
        defs[name] = definition
        items.append({"$ref": f"#/$defs/{name}"})
    return defs, items, bare


def _block_instance(known: list) -> dict:
    """An item naming a user block (any name but a layer type or composite), with arguments."""
    return {
        "description": "an instance of a block defined under 'blocks:' (its arguments)",
        "type": "object", "minProperties": 1, "maxProperties": 1,
        "propertyNames": {"not": {"enum": known}},
        "additionalProperties": {"anyOf": [{"type": "null"}, {
            "type": "object",
            "properties": _NODE_PROPS,
            "additionalProperties": _VALUE,
        }]},
    }


def _top_properties(known: list) -> dict:
    """The spec's top-level keys."""
    return {
        "name": {"type": "string"},
        "description": {"type": "string"},
        "input": {
            "type": "array", "minItems": 1, "maxItems": 4,
            "description": "[channels, height, width] (or [channels, length], [channels, depth, "
                           "height, width], [features]); names such as H make the analysis symbolic",
            "items": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]},
        },
        "vars": {
            "type": "object",
            "description": "variables usable in expressions; --set NAME=VALUE overrides them",
            "additionalProperties": _VALUE,
        },
        "blocks": {
            "type": "object",
            "description": "reusable, parameterised layer lists; use one as '- NAME: {args}'",
            "propertyNames": {"pattern": f"^{IDENTIFIER_TEXT}$", "not": {"enum": known}},
            "additionalProperties": {
                "type": "object", "required": ["layers"], "additionalProperties": False,
                "properties": {"args": _ARGS, "layers": _LAYERS_REF},
            },
        },
        "layers": {"$ref": "#/$defs/layers"},
        "outputs": {
            "description": "the nodes the network returns: output names -> node (or group) names "
                           "(the model returns a dict), or a list of node names (a tuple); "
                           "without it, the last item's output",
            "anyOf": [
                {"type": "object", "minProperties": 1,
                 "propertyNames": {"pattern": f"^{IDENTIFIER_TEXT}$"},
                 "additionalProperties": {"type": "string"}},
                {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string"}},
            ],
        },
        "normalize": {
            "type": "object", "required": ["mean", "std"], "additionalProperties": False,
            "description": "the input normalisation: per-channel mean and std (or one for all)",
            "properties": {key: {"anyOf": [{"type": "number"}, {"type": "array", "minItems": 1,
                                                              "items": {"type": "number"}}]}
                           for key in ("mean", "std")},
        },
        "lint": _lint_schema(),
    }
