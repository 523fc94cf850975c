"""The base of every layer type: attribute declarations, their parsing, and the layer protocol.

A layer class declares its spec attributes as :class:`Attr` objects and implements the rules
that describe it: output shape, parameter and buffer counts, MACs and element-wise work,
its receptive-field transform and the ``torch.nn`` constructor it maps to. Passes, the
builder, the JSON Schema and the tests all work from these declarations.
"""

from __future__ import annotations

import keyword
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

from cnnspec.util import dims

Shape = tuple  # per-sample shape: (C, H, W) or (F,); entries are dims


class LayerInputError(Exception):
    """The layer cannot take the input it is given (raised by a layer's rules)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotImportable(Exception):
    """A torch module whose configuration the layer type cannot express (cnnspec import)."""


class AttrValueError(Exception):
    """An attribute value of the wrong type or out of range (the caller adds the position).
    ``attr`` names the attribute when a cross-attribute check in ``validate`` fails."""

    def __init__(self, message: str, attr: str | None = None):
        super().__init__(message)
        self.message = message
        self.attr = attr


# --------------------------------------------------------------------------- attribute kinds


@dataclass(frozen=True)
class Kind:
    """How one attribute's value is read from the spec and described in the JSON Schema."""

    name: str
    parse: Callable[[Any, Callable], Any]
    schema: dict


def _number(value, resolve, what: str):
    if isinstance(value, bool):
        raise AttrValueError(f"expected {what}, got {str(value).lower()}")
    if isinstance(value, str):
        value = resolve(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise AttrValueError(f"expected {what}, got {type(value).__name__} {value!r}")
    return value


def _integer(value, resolve, minimum: int | None):
    number = _number(value, resolve, "an integer")
    if isinstance(number, float):
        if not number.is_integer():
            raise AttrValueError(
                f"expected an integer, got {number:g}"
                + (" (use // for whole-number division)" if isinstance(value, str) else "")
            )
        number = int(number)
    if minimum is not None and number < minimum:
        raise AttrValueError(f"must be at least {minimum}, got {number}")
    return number


_EXPR = {"type": "string", "description": "an arithmetic expression over vars"}


def int_kind(minimum: int | None = 1) -> Kind:
    schema: dict = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    return Kind(
        f"integer >= {minimum}" if minimum is not None else "integer",
        lambda v, r: _integer(v, r, minimum),
        {"anyOf": [schema, _EXPR]},
    )


def pair_kind(minimum: int = 1) -> Kind:
    """An int used for both spatial axes, or a [height, width] pair."""

    def parse(value, resolve):
        if isinstance(value, list):
            if len(value) != 2:
                raise AttrValueError(f"expected [height, width], got {len(value)} values")
            return tuple(_integer(v, resolve, minimum) for v in value)
        number = _integer(value, resolve, minimum)
        return (number, number)

    item = {"anyOf": [{"type": "integer", "minimum": minimum}, _EXPR]}
    return Kind(
        f"integer >= {minimum} or [height, width]",
        parse,
        {"anyOf": [item, {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]},
    )


def float_kind(minimum: float | None = None, maximum: float | None = None) -> Kind:
    def parse(value, resolve):
        number = float(_number(value, resolve, "a number"))
        if minimum is not None and number < minimum:
            raise AttrValueError(f"must be at least {minimum:g}, got {number:g}")
        if maximum is not None and number > maximum:
            raise AttrValueError(f"must be at most {maximum:g}, got {number:g}")
        return number

    schema: dict = {"type": "number"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return Kind("number", parse, {"anyOf": [schema, _EXPR]})


def _parse_bool(value, resolve):
    if isinstance(value, str):
        value = resolve(value)
    if not isinstance(value, bool):
        raise AttrValueError(f"expected true or false, got {value!r}")
    return value


BOOL = Kind("true or false", _parse_bool, {"type": "boolean"})


def choice_kind(*choices: str) -> Kind:
    def parse(value, resolve):
        if value not in choices:
            from cnnspec.errors import did_you_mean

            hint = did_you_mean(str(value), choices)
            raise AttrValueError(
                f"expected one of {', '.join(choices)}; got {value!r}" + (f" ({hint})" if hint else "")
            )
        return value

    return Kind("one of " + ", ".join(choices), parse, {"enum": list(choices)})


def padding_kind() -> Kind:
    pair = pair_kind(0)

    def parse(value, resolve):
        if value in ("same", "valid"):
            return value
        return pair.parse(value, resolve)

    return Kind(
        "integer >= 0, [height, width], 'same' or 'valid'",
        parse,
        {"anyOf": [{"enum": ["same", "valid"]}, pair.schema]},
    )


def output_size_kind() -> Kind:
    """Adaptive pooling's output size: an int, or [height, width] where null keeps that axis."""

    def parse(value, resolve):
        if isinstance(value, list):
            if len(value) != 2:
                raise AttrValueError(f"expected [height, width], got {len(value)} values")
            return tuple(None if v is None else _integer(v, resolve, 1) for v in value)
        number = _integer(value, resolve, 1)
        return (number, number)

    item = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}, _EXPR]}
    return Kind(
        "integer >= 1 or [height, width]",
        parse,
        {"anyOf": [{"type": "integer", "minimum": 1}, _EXPR,
                   {"type": "array", "items": item, "minItems": 2, "maxItems": 2}]},
    )


@dataclass(frozen=True)
class Attr:
    """One attribute of a layer type as written in a spec."""

    name: str
    kind: Kind
    default: Any = None
    required: bool = False
    aliases: tuple[str, ...] = ()
    doc: str = ""
    #: the torch constructor argument that takes the value as it is, where its name differs
    #: (``out`` is Conv2d's ``out_channels``): the emitter finds the spec's text for it
    torch_arg: str = ""
    #: the value changes no shape anywhere (a probability, eps, a slope), so the emitted model
    #: may take the spec variable it is written with as an argument of its top-level class
    shapeless: bool = False

    @property
    def field(self) -> str:
        """The Python attribute the value is stored under (``in`` becomes ``in_``)."""
        return self.name + "_" if keyword.iskeyword(self.name) else self.name


# --------------------------------------------------------------------------- receptive field


class Window(NamedTuple):
    """A sliding window along one axis: effective kernel, stride and padding before it.
    ``outputs`` is the number of output units when the layer fixes it (adaptive pooling)."""

    kernel: object
    stride: object = 1
    padding: object = 0
    outputs: object = None
    ceil: bool = False  # ceil_mode: the last window may overhang instead of dropping pixels
    #: the spacing of the taps inside the window: ``kernel`` spans (taps - 1)·dilation + 1
    dilation: int = 1
    #: why the window only approximates the layer (units not on one evenly spaced grid of
    #: equal windows: upsampling, a strided transposed convolution, uneven adaptive bins);
    #: None when it describes every output unit exactly
    approximate: str | None = None
    #: an approximate window whose output units may read no input unit at all (a transposed
    #: convolution's outputs between the strided taps); for exact windows the pass finds them
    gaps: bool = False
    #: the first output unit reads the first input unit and the last the last, so the union
    #: of all the units' fields is the input's (adaptive pooling, enlarging upsampling)
    keeps_union: bool = False

    @property
    def taps(self) -> int:
        """How many input positions the window reads along the axis."""
        return (self.kernel - 1) // self.dilation + 1


#: The layer mixes every position of its input (global pooling).
GLOBAL = "global"


class Mixes(NamedTuple):
    """The layer mixes every position along these dims of its (per-sample) input: 0 is the
    channels of a (C, H, W) input or the features of a flattened one (``linear`` mixes its
    last dim, ``softmax`` its ``dim``). The receptive-field pass maps the dims to the spatial
    axes they hold (after a flatten, one dim can hold both)."""

    dims: tuple


class Weights(NamedTuple):
    """The weight tensor of a convolution or fully-connected layer, for the rules that reason
    about its shape (the linter): channels in and out, groups, kernel and dilation per axis,
    whether it has a bias, and whether it is a transposed convolution."""

    in_channels: object
    out_channels: object
    groups: int = 1
    kernel: tuple = (1, 1)
    dilation: tuple = (1, 1)
    bias: bool = True
    transposed: bool = False


# --------------------------------------------------------------------------- the layer protocol


@dataclass(frozen=True)
class TorchCall:
    """The module constructor a layer maps to: class name and positional and keyword args.
    The class is the layer's own module when ``cls`` is its name (``Layer.torch_module``),
    else the ``torch.nn`` class of that name.

    The builder calls it; the emitter writes it out as source, so the two cannot drift."""

    cls: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    #: the constructor's names for ``args`` (the emitter names the ones that vary)
    arg_names: tuple = ()
    #: keyword arguments the emitted class templates always spell out, with the constructor's
    #: defaults (so instances that differ only there share one class)
    defaults: dict = field(default_factory=dict)


@dataclass(frozen=True)
class OwnModule:
    """A torch module a layer type brings itself: its class name and its class source as text
    (so the layer module stays torch-free). The builder compiles ``source`` once with ``torch``
    and ``nn`` (``from torch import nn``) in scope; the emitter pastes it into the generated
    file, which imports both; ``cnnspec import`` reads a module of class ``name`` as the layer.
    Own-module names are unique among the registered layer types."""

    name: str
    source: str


class Layer:
    """Everything cnnspec knows about one layer type, torch side included. Subclasses fill in
    the class attributes and override the rules; the default rules describe a parameter-free,
    shape-preserving layer whose outputs each read one input position."""

    type_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    attrs: ClassVar[tuple[Attr, ...]] = ()
    #: the attribute set by the scalar shorthand ``- dropout: 0.5``
    shorthand: ClassVar[str | None] = None
    #: the output is the input tensor itself or a view of it (no new memory)
    view_of_input: ClassVar[bool] = False
    #: element-wise operations per output element (activations, dropout …)
    ops_per_element: ClassVar[int] = 0
    #: how many inputs the layer takes: 1, or (minimum, None) for merges of any number
    arity: ClassVar[object] = 1
    #: what a declared ``in`` counts, for messages
    declared_what: ClassVar[str] = "input channels"
    #: at inference each output value is a function of the input value at the same position
    #: (channel, row and column) alone: activations, batch norm, dropout. Such a layer keeps
    #: every value where it is and mixes none (the linter looks through it; verify measures
    #: receptive fields with the identity in its place). Softmax is not: it mixes along its dim
    elementwise: ClassVar[bool] = False
    #: a per-channel constant added to its input is cancelled (batch norm subtracts the mean)
    absorbs_bias: ClassVar[bool] = False
    #: it normalises its input (batch norm): what deep stacks need between their convs
    normalizes: ClassVar[bool] = False
    #: every output reads every input feature (a fully-connected layer)
    fully_connected: ClassVar[bool] = False
    #: it can be the inner activation of ``squeeze_excitation`` (its ``activation``); the
    #: number orders the choices in messages and the JSON Schema. None: it cannot
    se_activation: ClassVar[int | None] = None
    #: the class names of the torch modules ``cnnspec import`` reads as this layer type (the
    #: name of the layer's own module, ``torch_module``, is added to them)
    imported_from: ClassVar[tuple[str, ...]] = ()
    #: the functions ``cnnspec import`` reads as this layer type, by dotted name
    #: (``torch.nn.functional.relu``, ``operator.add`` for ``x + y``); see ``from_torch_function``
    imported_functions: ClassVar[tuple[str, ...]] = ()
    #: the tensor methods ``cnnspec import`` reads as this layer type (``x.relu()``)
    imported_methods: ClassVar[tuple[str, ...]] = ()
    #: the layer's own torch module, when ``torch.nn`` has none for it
    torch_module: ClassVar[OwnModule | None] = None
    #: the emitted ``forward`` writes the layer as the tensor expression ``inline_source``
    #: gives (merges: ``a + b``) instead of calling a module, so the generated file never
    #: defines the layer's own module
    emitted_inline: ClassVar[bool] = False

    #: the spec's own text for attributes written as expressions or names ({attr: text})
    spec_text: dict = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.torch_module
        if own is not None and own.name not in cls.imported_from:
            cls.imported_from = (*cls.imported_from, own.name)

    def __init__(self, **values):
        fields = type(self).__dict__.get("_fields")
        if fields is None:
            fields = type(self)._fields = tuple((a.field, a.name, a.default) for a in self.attrs)
        for field_name, name, default in fields:
            setattr(self, field_name, values.get(name, default))

    @classmethod
    def attr_of_torch_arg(cls, name: str) -> Attr | None:
        """The attribute whose value the torch constructor argument ``name`` takes, or None."""
        cached = cls.__dict__.get("_torch_args")
        if cached is None:
            cached = cls._torch_args = {attr.torch_arg or attr.name: attr for attr in cls.attrs}
        return cached.get(name)

    @classmethod
    def attr_spellings(cls) -> dict:
        """Every accepted spelling of each attribute (name and aliases) -> the Attr."""
        cached = cls.__dict__.get("_spellings")
        if cached is None:
            cached = {s: attr for attr in cls.attrs for s in (attr.name, *attr.aliases)}
            cls._spellings = cached
        return cached

    # -- configuration ------------------------------------------------------------------
    def validate(self) -> None:
        """Check attribute combinations; raise AttrValueError with the attribute's name."""

    def config(self) -> dict:
        """The attribute values, by spec name (for reports and equality)."""
        return {a.name: getattr(self, a.field) for a in self.attrs}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"

    # -- rules ---------------------------------------------------------------------------
    def output_shape(self, inputs: list[Shape]) -> Shape:
        (shape,) = inputs
        return shape

    def assumptions(self, inputs: list[Shape]) -> list[str]:
        """Equalities between formulas (symbolic input) that the layer needs and that hold
        only for some input sizes."""
        return []

    def declared_mismatch(self, inputs: list[Shape]) -> tuple[object, object] | None:
        """(declared, received) when a size declared in the spec disagrees with the input."""
        return None

    def params(self, inputs: list[Shape]):
        return 0

    def buffers(self, inputs: list[Shape]):
        return 0

    def macs(self, inputs: list[Shape], output: Shape):
        """Multiply-accumulates per sample (conv and linear; bias excluded)."""
        return 0

    def elementwise_ops(self, inputs: list[Shape], output: Shape):
        """Element-wise and reduction operations per sample, outside the MACs."""
        return self.ops_per_element * dims.prod(output)

    def receptive_field(self, inputs: list[Shape]):
        """Per spatial axis a :class:`Window` (or GLOBAL, or None for an axis it keeps); None
        when the layer is point-wise; GLOBAL when it mixes all positions; :class:`Mixes` when
        it mixes whole dims of its input."""
        return None

    def regroup(self, inputs: list[Shape]) -> tuple | None:
        """For a layer that reshapes (flatten): per output dim, the input dims merged into it
        (per-sample numbering). None when the output has the input's dims."""
        return None

    def stack_dim(self, inputs: list[Shape]) -> int | None:
        """For a merge that places its inputs one after another (concat): the per-sample dim
        along which it does. None when a merge combines inputs at the same position."""
        return None

    def weights(self, inputs: list[Shape]) -> Weights | None:
        """The layer's weight tensor, if it is a convolution or a fully-connected layer."""
        return None

    def linear_twin(self, inputs: list[Shape]) -> Layer | None:
        """A layer that reads the same input positions as this one through positive weights
        only (max pooling: average pooling), which ``cnnspec verify`` runs in its place to
        measure receptive fields from gradients. None: the layer serves itself (verify makes
        every weight positive), or, when it is element-wise, the identity does."""
        return None

    def padding_skew(self) -> tuple:
        """Per spatial axis, how many more padding pixels come after the input than before it
        (1 for PyTorch's ``padding='same'`` with an even kernel); () when symmetric."""
        return ()

    @classmethod
    def from_torch(cls, module) -> dict:
        """The spec settings of a torch module named in ``imported_from`` (``cnnspec import``;
        the module is only read, torch is not imported here). By default each attribute is
        read from the module's attribute of the same name and kept when it is required or
        differs from its default. Raises NotImportable for what the spec cannot express."""
        settings = {}
        for attr in cls.attrs:
            if hasattr(module, attr.name):
                value = getattr(module, attr.name)
                if attr.required or value != attr.default:
                    settings[attr.name] = value
        return settings

    @classmethod
    def from_torch_function(cls, args: list, kwargs: dict, is_tensor: Callable) -> tuple:
        """For a call of one of ``imported_functions`` or ``imported_methods`` (a method's
        tensor is the first argument): (layer type name, spec settings, the arguments that are
        the layer's inputs). ``is_tensor`` tells a traced tensor from a constant. By default
        the layer type itself, no settings and the first argument. Raises NotImportable for
        what the spec cannot express."""
        return cls.type_name, {}, list(args[:1])

    def torch_call(self, inputs: list[Shape]) -> TorchCall:
        raise NotImplementedError(f"{self.type_name} has no torch mapping")

    def inline_source(self, args: list[str]) -> str:
        """For an ``emitted_inline`` layer: the Python expression the emitted ``forward``
        computes it with, over the variable names holding its inputs (``torch`` and ``nn``
        are imported in the generated file)."""
        raise NotImplementedError(f"{self.type_name} is not written inline")


def torch_pair(value):
    """A torch (h, w) setting as a spec writes it: one number when both are equal."""
    if isinstance(value, (tuple, list)):
        return value[0] if value[0] == value[1] else list(value)
    return value


def spatial(shape: Shape, what: str) -> tuple:
    """The (H, W) of a (C, H, W) input, or a clear error for any other rank."""
    if len(shape) != 3:
        raise LayerInputError(
            f"{what} needs a (channels, height, width) input, got shape {fmt_shape(shape)}",
            hint="2-D layers cannot follow flatten or linear",
        )
    return shape[1], shape[2]


def fmt_shape(shape: Shape) -> str:
    """``256x6x6``; a formula is bracketed: ``96x(floor((H - 11)/4) + 1)x…``."""
    if not shape:
        return "scalar"
    parts = [dims.fmt(d) for d in shape]
    return "x".join(p if p.isdigit() or p.isidentifier() else f"({p})" for p in parts)
