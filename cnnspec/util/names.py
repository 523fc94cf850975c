"""Names: the one identifier pattern every check uses, the names a node cannot take, and the
reading of input shapes ("3x224x224") and variable overrides ("width=1.25") given as text.

``IDENTIFIER`` matches the whole text (``\\A…\\Z``): a ``^…$`` pattern lets a trailing newline
through (``"stem\\n"``), so it works with ``match`` and ``fullmatch`` alike.

A node's name is a module name in the built model and in the emitted source, so it cannot be
an attribute that ``torch.nn.Module`` or the containers holding the nodes already have
(``forward``, ``training``, ``to``, ``pop``, …): PyTorch's ``add_module`` refuses such a name,
and where it would not, ``model.<name>`` or ``get_submodule`` would reach the method instead.
The list is fixed here (no torch import); ``tests/test_names.py`` checks it against the
installed torch, and the builder refuses any other name torch has taken.
"""

from __future__ import annotations

import re

from cnnspec.errors import UsageError

#: an identifier as a regular expression without anchors (the JSON Schema's patterns use it too)
IDENTIFIER_TEXT = "[A-Za-z_][A-Za-z0-9_]*"
IDENTIFIER = re.compile(rf"\A{IDENTIFIER_TEXT}\Z")


#: a node's own name, as a PyTorch module path segment: letters, digits and _, with single
#: hyphens between them (``conv1``, ``0``, torchvision RegNet's ``block1-0``); never a dot
#: (which separates the segments of a path) and never a leading or trailing hyphen
NODE_NAME_TEXT = "[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*"
NODE_NAME = re.compile(rf"\A{NODE_NAME_TEXT}\Z")


def is_node_name(text) -> bool:
    """A node's own name (see ``NODE_NAME_TEXT``), the whole text, ASCII only."""
    return isinstance(text, str) and NODE_NAME.match(text) is not None


def is_identifier(text) -> bool:
    """Letters, digits and _, not starting with a digit (ASCII), the whole text."""
    return isinstance(text, str) and IDENTIFIER.match(text) is not None


#: attributes of torch.nn.Module, nn.Sequential and nn.ModuleDict (the containers the builder
#: and the emitted code put nodes in), and of cnnspec's GraphModule
_ATTRIBUTES = """
T_destination add_module append apply bfloat16 buffers call_super_init children clear compile
cpu cuda double dump_patches eval extend extra_repr float forward get_buffer get_extra_state
get_parameter get_submodule half insert ipu items keys load_state_dict modules mtia
named_buffers named_children named_modules named_parameters parameters pop
register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter
register_state_dict_post_hook register_state_dict_pre_hook requires_grad_ set_extra_state
set_submodule share_memory state_dict to to_empty train training type update values xpu
zero_grad
_apply _backward_hooks _backward_pre_hooks _buffers _call_impl _compiled_call_impl
_forward_hooks _forward_hooks_always_called _forward_hooks_with_kwargs _forward_pre_hooks
_forward_pre_hooks_with_kwargs _get_backward_hooks _get_backward_pre_hooks _get_item_by_idx
_get_name _is_full_backward_hook _load_from_state_dict _load_state_dict_post_hooks
_load_state_dict_pre_hooks _maybe_warn_non_full_backward_hook _modules _named_members
_non_persistent_buffers_set _parameters _register_load_state_dict_pre_hook
_register_state_dict_hook _replicate_for_data_parallel _save_to_state_dict _slow_forward
_state_dict_hooks _state_dict_pre_hooks _version _wrapped_call_impl
nodes node_parameters replace_node spec_name _attach _hold _held _parent _plan _release _output
_outputs _as_tuple _kept
"""
MODULE_ATTRIBUTES = frozenset(_ATTRIBUTES.split())


def taken_by_torch(name: str) -> bool:
    """A module name PyTorch's machinery already uses: an attribute of nn.Module or of the
    containers, or any dunder (``__init__``, ``__class__``, and those Python may add)."""
    return name in MODULE_ATTRIBUTES or (name.startswith("__") and name.endswith("__"))


def parse_input_shape(text: str) -> tuple:
    """``"3x224x224"`` → (3, 224, 224); names such as ``H`` stay names (symbolic input)."""
    parts = [p.strip() for p in re.split(r"[x×,]", str(text).strip()) if p.strip()]
    text = str(text) if len(str(text)) <= 60 else str(text)[:60] + "…"
    if not parts:
        raise UsageError(f"cannot read input shape '{text}'", hint="write it as CxHxW, e.g. 3x224x224")
    shape = []
    for part in parts:
        if part.isascii() and part.isdigit():
            if len(part) > 18:
                raise UsageError(f"cannot read input shape '{text}': {part[:12]}… is too large",
                                 hint="sizes are integers below 10^18")
            shape.append(int(part))
        elif is_identifier(part):
            shape.append(part)
        else:
            raise UsageError(
                f"cannot read input shape '{text}': '{part}' is neither a number nor a name",
                hint="write it as CxHxW, e.g. 3x224x224 or 3xHxW",
            )
    return tuple(shape)


def parse_overrides(pairs) -> dict:
    """``["width=1.25", "classes=10"]`` → {"width": "1.25", "classes": "10"}."""
    result = {}
    for pair in pairs:
        name, sep, value = str(pair).partition("=")
        name = name.strip()
        if not sep or not IDENTIFIER.match(name) or not value.strip():
            raise UsageError(f"cannot read --set '{pair}'", hint="write it as NAME=VALUE, e.g. width=1.25")
        result[name] = value.strip()
    return result


def prefix_groups(items, depth: int, name=lambda item: item) -> list[tuple[str, list]]:
    """Consecutive ``items`` whose dotted names (``name(item)``) share their first ``depth``
    parts, as (those parts joined, the items); ``depth`` 0 keeps each item alone, under its
    full name. The collapsing of ``--depth`` in analyze, verify and profile."""
    result: list[tuple[str, list]] = []
    for item in items:
        full = name(item)
        key = full if not depth else ".".join(full.split(".")[:depth])
        if result and result[-1][0] == key:
            result[-1][1].append(item)
        else:
            result.append((key, [item]))
    return result
