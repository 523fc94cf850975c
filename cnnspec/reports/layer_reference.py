"""The layer reference of docs/spec.md, generated from the layer registry so it cannot drift
from what the loader accepts (as ``cnnspec schema`` is generated from the same declarations).

``python -m cnnspec.reports.layer_reference`` prints it; ``--write docs/spec.md`` replaces the
region between the markers; ``--check docs/spec.md`` exits 1 when the page differs.
tests/test_layer_reference.py fails when the page is not regenerated.

Everything comes from the layer classes: type name, aliases, docstring, settings (name,
aliases, kind, default, doc), shorthand, arity and the torch module the builder calls. The one
thing they do not yet carry for every setting is its meaning: ``MEANINGS`` fills in the
settings whose ``Attr.doc`` is empty, and the test fails when an entry there is unused.
"""

from __future__ import annotations

import inspect
import re
import sys

from cnnspec.frontend.scope import NODE_KEYS
from cnnspec.layers import LAYERS
from cnnspec.layers.base import AttrValueError
from cnnspec.reports.page_region import Region

COMMAND = "python -m cnnspec.reports.layer_reference --write docs/spec.md"
BEGIN = (f"<!-- layer-reference: generated from the layer registry by `{COMMAND}`; "
         "do not edit by hand -->")
END = "<!-- /layer-reference -->"
_BEGIN_PREFIX = "<!-- layer-reference:"

#: The meaning of settings whose ``Attr.doc`` is empty, by ``type.setting`` or, for every
#: type, by ``setting``. An ``Attr.doc`` always wins; an entry no setting uses is an error.
MEANINGS = {
    "stride": "step between windows",
    "dilation": "spacing of kernel taps",
    "bias": "learnable bias per output channel",
    "ceil_mode": "round the output size up",
    "kernel": "window height and width",
    "conv2d.groups": "grouped convolution; `groups` equal to the channels is depthwise",
    "conv_transpose2d.out": "output channels",
    "conv_transpose2d.kernel": "kernel height and width",
    "conv_transpose2d.stride": "upsampling factor",
    "conv_transpose2d.padding": "removed from each side of the output",
    "conv_transpose2d.output_padding": "added to one side of the output; smaller than the stride "
                                       "or the dilation",
    "conv_transpose2d.groups": "grouped transposed convolution",
    "conv_transpose2d.in": "input channels; inferred, and checked when given",
    "linear.bias": "learnable bias",
    "batchnorm2d.eps": "added to the variance",
    "batchnorm2d.momentum": "running-statistics momentum",
    "batchnorm2d.affine": "learnable scale and shift",
    "batchnorm2d.track_running_stats": "keep running mean and variance",
    "maxpool2d.padding": "implicit padding on each side",
    "maxpool2d.dilation": "spacing of window taps",
    "avgpool2d.padding": "implicit zero padding on each side",
    "avgpool2d.count_include_pad": "count padding zeros in the divisor",
    "avgpool2d.divisor_override": "divide by this instead of the window size",
    "output_size": "output height and width; in a `[height, width]` list, `null` keeps that "
                   "axis's input size",
    "upsample.mode": "interpolation",
    "leaky_relu.negative_slope": "slope for negative inputs",
    "elu.alpha": "α in α·(eˣ − 1), the value for negative inputs",
    "gelu.approximate": "`tanh` for the tanh approximation",
    "softmax.dim": "dimension in PyTorch's numbering, batch included (0 is the batch, 1 the "
                   "channels or features); negative counts from the end",
    "concat.dim": "dimension in PyTorch's numbering, batch included (1 is the channels, 2 the "
                  "height, 3 the width); negative counts from the end; the batch (0) is refused",
    "flatten.start_dim": "first dimension to merge, PyTorch's numbering (batch is 0)",
    "flatten.end_dim": "last dimension to merge",
    "p": "drop probability",
    "channel_shuffle.groups": "number of channel groups; must divide the channels",
}


# --------------------------------------------------------------------------- what a class says


def meaning_key(name: str, attr) -> str | None:
    """The ``MEANINGS`` entry a setting without a doc uses (None when it has a doc or none)."""
    if attr.doc:
        return None
    for key in (f"{name}.{attr.name}", attr.name):
        if key in MEANINGS:
            return key
    return None


def meaning(name: str, attr) -> str:
    """What the setting means: its ``Attr.doc``, else its ``MEANINGS`` entry."""
    key = meaning_key(name, attr)
    return _literals(attr.doc) if attr.doc else MEANINGS[key] if key else ""


def unused_meanings() -> list[str]:
    """``MEANINGS`` entries no setting reads (the setting is gone or has its own doc now)."""
    used = {meaning_key(name, a) for name, cls in LAYERS.items() for a in cls.attrs}
    return sorted(set(MEANINGS) - used)


def missing_meanings() -> list[str]:
    """Settings with neither an ``Attr.doc`` nor a ``MEANINGS`` entry, as ``type.setting``."""
    return [f"{name}.{a.name}" for name, cls in LAYERS.items() for a in cls.attrs
            if not meaning(name, a)]


def _sample_value(attr):
    return attr.kind.parse(1, lambda text: text)


def _instance(cls, fill_required: bool):
    """An instance with default settings (required ones set to a sample value when asked),
    and whether it passes ``validate``. A setting ``validate`` names is given a sample value
    when filling in (``upsample`` needs ``scale`` or ``size``)."""
    values = {a.name: a.default for a in cls.attrs}
    if fill_required:
        values.update({a.name: _sample_value(a) for a in cls.attrs if a.required})
    for _ in range(len(cls.attrs) + 1):
        layer = cls(**values)
        try:
            layer.validate()
            return layer, True
        except AttrValueError as error:
            attr = next((a for a in cls.attrs if a.name == error.attr), None)
            if not fill_required or attr is None or values[attr.name] is not None:
                return layer, False
            values[attr.name] = _sample_value(attr)
    return layer, False


def bare_form_works(cls) -> bool:
    """``- type`` alone is accepted: no required setting, and the defaults pass ``validate``."""
    return not any(a.required for a in cls.attrs) and _instance(cls, False)[1]


def torch_module(cls) -> str:
    """The module the builder makes for the layer, from its ``torch_call`` on a sample: a
    ``torch.nn`` class, or the layer type's own module (``Layer.torch_module``)."""
    layer, _ = _instance(cls, True)
    low = cls.arity if isinstance(cls.arity, int) else cls.arity[0]
    try:
        call = layer.torch_call([(4, 8, 8)] * low)
    except Exception:  # a rule the sample breaks: the classes ``cnnspec import`` reads
        return _code(cls.imported_from) or "—"
    own = cls.torch_module
    if own is not None and own.name == call.cls:
        return f"cnnspec's own `{call.cls}`"
    return f"`torch.nn.{call.cls}`"


def inputs_text(cls) -> str | None:
    """How many inputs a layer reads, when it is not one."""
    if cls.arity == 1:
        return None
    low, high = cls.arity if isinstance(cls.arity, tuple) else (cls.arity, cls.arity)
    least = {2: "two", 3: "three"}.get(low, str(low))
    count = f"{least} or more" if high is None else least if high == low else f"{least} to {high}"
    return f"Inputs: {count}, named with `from`."


# --------------------------------------------------------------------------- rendering


def _code(names) -> str:
    return ", ".join(f"`{n}`" for n in names)


def _listing(items: list[str], last: str = "or") -> str:
    """``a``, ``a or b``, ``a, b or c``."""
    return f"{', '.join(items[:-1])} {last} {items[-1]}" if len(items) > 1 else items[0]


def _literals(text: str) -> str:
    """A docstring's or ``Attr.doc``'s literals as Markdown code: reST ``x`` and quoted 'x'."""
    text = re.sub(r"``(.+?)``", r"`\1`", text)
    return re.sub(r"(?<![\w`])'([^'\s]+)'(?![\w`])", r"`\1`", text)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _description(cls) -> str:
    """The class docstring as one paragraph, its reST literals as Markdown code."""
    text = " ".join(inspect.cleandoc(cls.__dict__.get("__doc__") or "").split())
    return _literals(text)


def kind_text(kind) -> str:
    """A setting's type: the kind's name, with its bounds for numbers and code for literals."""
    schema = kind.schema
    if "enum" in schema:
        return "one of " + _code(schema["enum"])
    plain = next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "number"), None)
    if kind.name == "number" and plain is not None:
        low, high = plain.get("minimum"), plain.get("maximum")
        if low is not None and high is not None:
            return f"number in [{low:g}, {high:g}]"
        if low is not None or high is not None:
            return f"number ≥ {low:g}" if low is not None else f"number ≤ {high:g}"
    text = _literals(kind.name.replace(">=", "≥").replace("<=", "≤"))
    text = text.replace("[height, width]", "`[height, width]`")
    return "`true` or `false`" if text == "true or false" else text


def default_text(attr) -> str:
    if attr.required:
        return "required"
    value = attr.default
    if value is None:
        return "not set"
    if isinstance(value, tuple):
        value = value[0] if len(set(value)) == 1 else list(value)
    if isinstance(value, bool):
        value = str(value).lower()
    return f"`{value}`"


def forms_text(name: str, cls) -> str:
    """How an item of the type is written: bare, with the shorthand, with a mapping."""
    if not cls.attrs:
        keys = _code(NODE_KEYS)
        return f"Written as `- {name}`; it has no settings besides the node keys ({keys})."
    required = [a.name for a in cls.attrs if a.required]
    shown = required or [cls.attrs[0].name]
    more = ", …" if len(shown) < len(cls.attrs) else ""
    forms = []
    if bare_form_works(cls):
        forms.append(f"`- {name}` (all defaults)")
    if cls.shorthand:
        forms.append(f"`- {name}: <{cls.shorthand}>` (the shorthand sets `{cls.shorthand}`)")
    forms.append(f"`- {name}: {{{', '.join(f'{n}: …' for n in shown)}{more}}}`")
    text = "Written as " + _listing(forms)
    if required:
        verb = "is" if len(required) == 1 else "are"
        text += f"; {_listing([f'`{n}`' for n in required], 'and')} {verb} required"
    return text + "."


def _overview() -> list[str]:
    lines = ["Layer types at a glance:", "",
             "| type | aliases | shorthand | torch |", "|---|---|---|---|"]
    for name, cls in ordered():
        shorthand = f"`{cls.shorthand}`" if cls.shorthand else "—"
        lines.append(f"| [`{name}`](#{name}) | {_code(cls.aliases) or '—'} | {shorthand} | "
                     f"{torch_module(cls)} |")
    return lines


def _settings(name: str, cls) -> list[str]:
    lines = ["| setting | aliases | type | default | meaning |", "|---|---|---|---|---|"]
    for attr in cls.attrs:
        lines.append(f"| `{attr.name}` | {_code(attr.aliases)} | {_cell(kind_text(attr.kind))} | "
                     f"{default_text(attr)} | {_cell(meaning(name, attr))} |")
    return lines


def entry(name: str, cls) -> list[str]:
    """One layer type's section."""
    lines = ["", f"## {name}", ""]
    description = _description(cls)
    if description:
        lines += [description, ""]
    facts = [f"Aliases: {_code(cls.aliases)}." if cls.aliases else "No aliases.",
             f"Torch: {torch_module(cls)}.", inputs_text(cls), forms_text(name, cls)]
    lines.append(" ".join(f for f in facts if f))
    if cls.attrs:
        lines += ["", *_settings(name, cls)]
    return lines


def ordered() -> list[tuple[str, type]]:
    """The registered types, related ones together: grouped by family, the families and the
    types within each in registration order."""
    families: list[str] = []
    for cls in LAYERS.values():
        if cls.family not in families:
            families.append(cls.family)
    return sorted(LAYERS.items(), key=lambda item: families.index(item[1].family))


def layer_reference() -> str:
    """The generated Markdown, from the begin marker to the end marker (no final newline)."""
    lines = [BEGIN, "", *_overview()]
    for name, cls in ordered():
        lines += entry(name, cls)
    lines += ["", END]
    return "\n".join(lines)


REGION = Region("layer reference", _BEGIN_PREFIX, END, layer_reference, "docs/spec.md")
page_section = REGION.section
replace_section = REGION.replace


def diff(page: str, path: str = "docs/spec.md") -> str:
    """A unified diff from the page's region to the generated one ('' when they agree)."""
    return REGION.diff(page, path)


def main(argv: list[str] | None = None) -> int:
    return REGION.main(argv, "python -m cnnspec.reports.layer_reference", "the layer registry")


if __name__ == "__main__":
    sys.exit(main())
