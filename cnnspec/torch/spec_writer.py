"""The spec text ``cnnspec import`` writes: the imported layers nested in ``sequential``
groups along their dotted names, with ``from`` where a layer reads anything but the item
before it. A name that is not an identifier (torchvision's ``block1-0``) is written quoted."""

from __future__ import annotations

import json
import textwrap

from cnnspec.util.names import is_identifier


def _yaml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, str):
        plain = is_identifier(value) and value.lower() not in _YAML_WORDS
        return value if plain else json.dumps(value)  # a JSON string is a YAML one
    return repr(value)


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def _name(part: str):
    """A node or group name as the spec writes it: a number, a plain word or a quoted text."""
    return int(part) if part.isdigit() and str(int(part)) == part else part


def write_spec(items, input_shape: tuple, name: str, note: str | None = None) -> str:
    """Nest the items in sequential groups along their dotted names."""
    at = "x".join(map(str, (1, *input_shape)))
    lines = [f"# {line}" for line in textwrap.wrap(
        f"Imported by cnnspec from a PyTorch module by running it once at input {at}: code "
        "that reads sizes ran at those sizes, and the spec holds for that input.", 92)]
    if note:  # never lost silently: what the spec does not have, in its header
        lines += ["#"] + [f"# {line}" for line in textwrap.wrap(note[:1].upper() + note[1:] + ".", 92)]
    lines += [
             f"name: {_yaml(name) if is_identifier(name) else 'imported'}",
             f"input: {_yaml(list(input_shape))}", "layers:"]
    stack: list[str] = []  # open group paths
    previous = "input"
    opened: set[str] = set()
    for dotted, kind, attrs, inputs in items:
        parts = dotted.split(".")
        groups, leaf = parts[:-1], parts[-1]
        common = 0
        while common < min(len(stack), len(groups)) and stack[common] == groups[common]:
            common += 1
        del stack[common:]
        for part in groups[common:]:
            path = ".".join([*stack, part])
            if path in opened:  # the importer arranges the items so that it cannot happen
                raise AssertionError(f"group {path!r} is not one stretch of the items")
            opened.add(path)
            indent = "  " * (2 * len(stack) + 1)
            lines.append(f"{indent}- sequential:")
            lines.append(f"{indent}    name: {_yaml(_name(part))}")
            lines.append(f"{indent}    layers:")
            stack.append(part)
        settings = dict(attrs)
        settings["name"] = _name(leaf)
        if inputs != [previous]:
            refs = [ref for ref in inputs]
            settings["from"] = refs[0] if len(refs) == 1 else refs
        body = ", ".join(f"{k}: {_ref(v) if k == 'from' else _yaml(v)}" for k, v in settings.items())
        lines.append(f"{'  ' * (2 * len(stack) + 1)}- {kind}: {{{body}}}")
        previous = dotted
    return "\n".join(lines) + "\n"


def _ref(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_ref(v) for v in value) + "]"
    return json.dumps(value) if not is_identifier(value) else value
