"""The order and names of the imported nodes in the spec (``cnnspec import``).

A spec nests layers in ``sequential`` groups along their module paths, and a group is one
stretch of the spec. A model's forward can leave a module's group and come back to it: HRNet
calls the fuse layers of a ``ModuleList`` with a shared activation between them, and a
container is never called itself. :func:`arrange` moves such a stretch next to the rest of its
group when nothing in between needs it first (the spec reads its inputs by name, so any order
in which every node follows its inputs computes the same); else an operation between them
that no module names (an ``add``) joins the group; where that cannot be done either, the
later stretches become groups of their own (``fuse_1``). The execution order is kept wherever
it already fits, and the model's output stays last. :func:`names` gives every node its dotted
name: its module path, with ``_1``, ``_2`` … for a module called again (a shared ReLU).
"""

from __future__ import annotations


def fold_into_layers(nodes: list) -> None:
    """A node whose path lies under another node's (timm's ``BatchNormAct2d``: a functional
    batch norm named ``bn1``, then its ``bn1.act``) joins the segments there (``bn1_act``):
    a layer cannot also be a group."""
    changed = True
    while changed:
        changed = False
        layers = {n.path for n in nodes}
        for node in nodes:
            path = node.path
            for i in range(len(path) - 1, 0, -1):
                if path[:i] in layers:
                    node.path = (*path[:i - 1], f"{path[i - 1]}_{path[i]}", *path[i + 1:])
                    changed = True
                    break


def arrange(nodes: list, output: int) -> list:
    """The nodes in an order in which every group is one stretch (see the module docstring)."""
    return _arrange(nodes, 0, output)


def _key(node, depth: int):
    return ("group", node.path[depth]) if len(node.path) > depth + 1 else ("node", node.id)


def _arrange(nodes: list, depth: int, output: int) -> list:
    split: set = set()  # the groups whose stretches become groups of their own
    while True:
        units = _units(nodes, depth, split)
        order, stalled = _schedule(units, output)
        if order is not None:
            break
        if not _absorb(units, stalled, depth):
            split |= _to_split(units, stalled, output)
    siblings = {n.path[depth] for n in nodes}
    arranged = []
    for key in order:
        members = units[key]
        if len(key) == 3 and key[2]:  # a later stretch of a group: a name no sibling has
            name = _free(key[1], key[2], siblings)
            for node in members:
                node.path = (*node.path[:depth], name, *node.path[depth + 1:])
        arranged += _arrange(members, depth + 1, output) if key[0] == "group" else members
    return arranged


def _units(nodes: list, depth: int, split: set) -> dict:
    """The nodes by unit: a node of its own, a group, or a stretch of a group in ``split``
    (``("group", name, i)`` for its i-th stretch)."""
    units: dict = {}
    stretches: dict = {}
    previous = None
    for node in nodes:
        key = _key(node, depth)
        if key[0] == "group" and key[1] in split:
            if key != previous:
                stretches[key[1]] = stretches.get(key[1], -1) + 1
            previous, key = key, ("group", key[1], stretches[key[1]])
        else:
            previous = key
        units.setdefault(key, []).append(node)
    return units


def _schedule(units: dict, output: int) -> tuple:
    """(the units in first-appearance order, each after the units it reads and the output's
    last, None), or (None, the units it stalled at, with what they read) when no such order
    exists."""
    unit_of = {n.id: key for key, members in units.items() for n in members}
    needs = {key: {unit_of[i] for n in members for i in n.inputs if unit_of.get(i, key) != key}
             for key, members in units.items()}
    last = unit_of.get(output)
    pending, done, order = list(units), set(), []
    while pending:
        ready = next((k for k in pending if needs[k] <= done and (k != last or len(pending) == 1)), None)
        if ready is None:
            return None, {k: needs[k] - done for k in pending}
        order.append(ready)
        done.add(ready)
        pending.remove(ready)
    return order, None


def _reaches(stalled: dict, start, goal) -> bool:
    """Whether unit ``start`` reads ``goal``, directly or through other units left."""
    seen, todo = set(), list(stalled[start])
    while todo:
        key = todo.pop()
        if key == goal:
            return True
        if key not in seen:
            seen.add(key)
            todo.extend(stalled.get(key, ()))
    return False


def _absorb(units: dict, stalled: dict, depth: int) -> bool:
    """Move each operation between module calls whose name no state_dict key holds (an
    ``add``; a call of a module without tensors, as Res2Net's one ReLU used after every conv)
    that is on a cycle with a group into that group, which is then one stretch with its
    module names kept (HRNet's head: ``y = incre[i + 1](x[i + 1]) + down[i](y)``). Whether
    any moved."""
    groups = [k for k in stalled if k[0] == "group" and len(k) == 2]
    moved = False
    for key in stalled:
        node = units[key][0]
        if key[0] != "node" or node.keys or node.held is not None:
            continue  # a module with state_dict keys, or a bare layer: named by the model's tree
        group = next((g for g in groups if _reaches(stalled, key, g) and _reaches(stalled, g, key)), None)
        if group is not None:
            node.path = (*node.path[:depth], group[1], node.path[-1])
            moved = True
    return moved


def _to_split(units: dict, stalled: dict, output: int) -> set:
    """The groups to split where the schedule stalled: those on a cycle of the units left;
    else (nothing left can come after the output) the output's group."""
    cycle = {k[1] for k in stalled if k[0] == "group" and len(k) == 2 and _reaches(stalled, k, k)}
    if cycle:
        return cycle
    last = next(k for k, members in units.items() if any(n.id == output for n in members))
    if last[0] != "group" or len(last) == 3:
        raise AssertionError("the nodes cannot be arranged")  # the output is the last node run
    return {last[1]}


def _free(name: str, count: int, taken: set) -> str:
    while f"{name}_{count}" in taken:
        count += 1
    taken.add(f"{name}_{count}")
    return f"{name}_{count}"


def names(nodes: list) -> dict:
    """Node id -> its dotted name: the module path, unique among the nodes and the groups."""
    taken = {".".join(n.path[:i]) for n in nodes for i in range(1, len(n.path))}
    named = {}
    for node in nodes:
        head, leaf = node.path[:-1], node.path[-1]
        dotted = ".".join(node.path)
        count = 1
        while dotted in taken:
            dotted = ".".join((*head, f"{leaf}_{count}"))
            count += 1
        taken.add(dotted)
        named[node.id] = dotted
    return named
