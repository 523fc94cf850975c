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


def write_spec(items, input_shape: tuple, name: str, note: str | None = None,
               outputs: dict | list | None = None) -> str:
    """Nest the items in sequential groups along their dotted names; ``outputs`` (output name
    -> node, or a list of nodes) is written as the spec's ``outputs:``."""
    at = "x".join(map(str, (1, *input_shape)))
    lines = [f"# {line}" for line in textwrap.wrap(
        f"Imported by cnnspec from a PyTorch module by running it once at input {at}: code "
        "that reads sizes ran at those sizes, and the spec holds for that input.", 92)]
    if note:  # never lost silently: what the spec does not have, in its header
        lines += ["#"] + [f"# {line}" for line in textwrap.wrap(note[:1].upper() + note[1:] + ".", 92)]
    lines += [
             f"name: {_yaml(name) if is_identifier(name) else 'imported'}",
             f"input: {_yaml(list(input_shape))}", "layers:"]
    writer = _Writer(lines)
    for item in items:
        writer.write(*item)
    if isinstance(outputs, dict):
        lines.append("outputs: {" + ", ".join(f"{k}: {_ref(v)}" for k, v in outputs.items()) + "}")
    elif outputs is not None:
        lines.append(f"outputs: {_ref(list(outputs))}")
    return "\n".join(lines) + "\n"


class _List:
    """A list of the spec being written: its group's path, its input and its items so far."""

    def __init__(self, path: str, source: str):
        self.path, self.source, self.outputs = path, source, []


class _Writer:
    """Writes the items one after another, opening and closing groups, with every ``from``
    written so that the spec's name lookup (the current group first, then the enclosing
    ones) finds the node meant: its full name, else a name relative to a group holding both,
    else a negative index into the list."""

    def __init__(self, lines: list):
        self.lines = lines
        self.frames = [_List("", "input")]
        self.defined: set = set()  # the nodes and the closed groups so far, by full name
        self.opened: set = set()
        self.previous = "input"

    def write(self, dotted: str, kind: str, attrs: dict, inputs: list) -> None:
        *groups, leaf = dotted.split(".")
        common = 0
        while common < min(len(self.frames) - 1, len(groups)) and \
                self.frames[common + 1].path == ".".join(groups[:common + 1]):
            common += 1
        while len(self.frames) > common + 1:
            self._close()
        group_from, inputs = self._hoisted(groups[common:], inputs)
        for i, part in enumerate(groups[common:]):
            self._open(part, group_from if i == 0 else None)
        settings = {**attrs, "name": _name(leaf)}
        if inputs != [self.previous]:
            refs = [self._reference(ref) for ref in inputs]
            if None in refs:
                raise AssertionError(f"{dotted}: no reference reaches {inputs}")
            settings["from"] = refs[0] if len(refs) == 1 else refs
        body = ", ".join(f"{k}: {_ref(v) if k == 'from' else _yaml(v)}" for k, v in settings.items())
        self.lines.append(f"{'  ' * (2 * len(self.frames) - 1)}- {kind}: {{{body}}}")
        self.frames[-1].outputs.append(dotted)
        self.defined.add(dotted)
        self.previous = dotted

    def _hoisted(self, new_groups: list, inputs: list) -> tuple:
        """(the ``from`` of the first group opened, the item's inputs then): when the first item
        of new groups reads one node that no reference from inside them reaches, the group
        reads it (from the enclosing list, where a negative index can)."""
        if not new_groups or len(inputs) != 1 or inputs == [self.previous]:
            return None, inputs
        probe, path = list(self.frames), self.frames[-1].path
        for part in new_groups:
            path = f"{path}.{part}" if path else part
            probe.append(_List(path, self.previous))
        source = self._reference(inputs[0])
        if _reference(inputs[0], probe, self.defined) is not None or source is None:
            return None, inputs
        return source, [self.previous]

    def _open(self, part: str, source) -> None:
        parent = self.frames[-1]
        path = f"{parent.path}.{part}" if parent.path else part
        if path in self.opened:  # the importer arranges the items so that it cannot happen
            raise AssertionError(f"group {path!r} is not one stretch of the items")
        self.opened.add(path)
        indent = "  " * (2 * len(self.frames) - 1)
        self.lines.append(f"{indent}- sequential:")
        self.lines.append(f"{indent}    name: {_yaml(_name(part))}")
        if source is not None:
            self.lines.append(f"{indent}    from: {_ref(source)}")
        self.lines.append(f"{indent}    layers:")
        self.frames.append(_List(path, self.previous))

    def _close(self) -> None:
        frame = self.frames.pop()
        self.frames[-1].outputs.append(frame.path)
        self.defined.add(frame.path)

    def _reference(self, target: str):
        return _reference(target, self.frames, self.defined)


def _reference(target: str, frames: list, defined: set):
    """How the innermost of ``frames`` refers to ``target``, or None: by a name the lookup
    finds it by (no deeper group has a node of that name), else by a negative index."""
    if target == "input":
        return target
    levels = [f.path for f in frames]
    holders = [i for i, p in enumerate(levels) if not p or target.startswith(p + ".")]
    for depth in (0, holders[-1]):  # the full name; the name inside the deepest group holding it
        name = target[len(levels[depth]) + 1:] if levels[depth] else target
        if not any(f"{p}.{name}" in defined for p in levels[depth + 1:] if p):
            return name
    frame = frames[-1]
    if target in frame.outputs:
        return frame.outputs.index(target) - len(frame.outputs)
    if target == frame.source:
        return -len(frame.outputs) - 1
    return None


def _ref(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_ref(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value) if not is_identifier(value) else value
