"""The spec text ``cnnspec import`` writes: the imported layers nested in ``sequential``
groups along their dotted names, with ``from`` where a layer reads anything but the item
before it."""

from __future__ import annotations

import textwrap

from cnnspec.errors import UsageError
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
        return value if plain else repr(value)
    return repr(value)


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n"}


def write_spec(items, input_shape: tuple, name: str, note: str | None = None) -> str:
    """Nest the items in sequential groups along their dotted names."""
    lines = ["# Imported by cnnspec from a PyTorch module (torch.fx trace)."]
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
            if path in opened:
                raise UsageError(f"module {path!r} runs in two separate stretches; cnnspec groups "
                                 "must be contiguous")
            opened.add(path)
            indent = "  " * (2 * len(stack) + 1)
            lines.append(f"{indent}- sequential:")
            lines.append(f"{indent}    name: {_yaml(part) if not part.isdigit() else part}")
            lines.append(f"{indent}    layers:")
            stack.append(part)
        settings = dict(attrs)
        settings["name"] = int(leaf) if leaf.isdigit() else leaf
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
    return f'"{value}"' if not is_identifier(value) else value
