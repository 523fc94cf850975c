"""The base of every layer type: the layer protocol, and what a layer maps to in torch.

A layer class declares its spec attributes as :class:`Attr` objects (``cnnspec.layers.attrs``)
and implements the rules that describe it: output shape, parameter and buffer counts, MACs
and element-wise work, its receptive-field transform (``cnnspec.layers.receptive``), the
torch module it maps to (``cnnspec.layers.mapping``) and
how torch modules, functions and chains of them are read back as it. Passes, the builder, the
emitter, verify, the importer, the JSON Schema and the tests all work from these
declarations. The names of those modules can be imported from here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from cnnspec.layers.attrs import (
    BOOL,
    Attr,
    AttrValueError,
    Kind,
    choice_kind,
    float_kind,
    int_kind,
    output_size_kind,
    padding_kind,
    pair_kind,
)
from cnnspec.layers.mapping import BareParameter, OwnModule, TorchCall
from cnnspec.layers.receptive import GLOBAL, Mixes, Weights, Window
from cnnspec.util import dims

__all__ = [  # the layer protocol, with the attribute kinds and field descriptions it uses
    "BOOL", "GLOBAL", "Attr", "AttrValueError", "BareParameter", "Kind", "Layer",
    "LayerInputError", "Mixes", "NotImportable", "OwnModule", "TorchCall", "Weights", "Window", "choice_kind",
    "float_kind", "fmt_shape", "int_kind", "output_size_kind", "padding_kind", "pair_kind",
    "declared_channels", "spatial", "spatial_rank", "torch_pair",
]


class LayerInputError(Exception):
    """The layer cannot take the input it is given (raised by a layer's rules)."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint


class NotImportable(Exception):
    """A torch module whose configuration the layer type cannot express (cnnspec import)."""


class Layer:
    """Everything cnnspec knows about one layer type, torch side included. Subclasses fill in
    the class attributes and override the rules; the default rules describe a parameter-free,
    shape-preserving layer whose outputs each read one input position."""

    type_name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    #: the kind of layer it is (activation, norm, conv, pool, merge, dropout, structural, …):
    #: the layer reference lists the types of one family together
    family: ClassVar[str] = ""
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
    #: the functions that compute this layer type over tensors a module holds (``F.conv2d(x,
    #: self.weight, self.bias, …)``), by dotted name: ``cnnspec import`` reads such a call as
    #: a layer named by that module's path; see ``from_torch_state_call``
    imported_state_functions: ClassVar[tuple[str, ...]] = ()
    #: the functions and the tensor methods that compute this layer type with a parameter the
    #: module whose forward calls them holds itself (``self.layer_scale * x``; or a module
    #: inside it that is no leaf): ``cnnspec import`` reads such a call as a bare layer
    #: (``bare_parameter``) named by that parameter's key; see ``from_torch_bare_call``
    imported_bare_functions: ClassVar[tuple[str, ...]] = ()
    imported_bare_methods: ClassVar[tuple[str, ...]] = ()
    #: layer types that ``cnnspec import`` reads as this one when they run one after another,
    #: each reading only the one before (a channel shuffle: reshape, permute, reshape); see
    #: ``from_torch_chain``
    imported_chain: ClassVar[tuple[str, ...]] = ()
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
    def output_shape(self, inputs: list[tuple]) -> tuple:
        (shape,) = inputs
        return shape

    def assumptions(self, inputs: list[tuple]) -> list[str]:
        """Equalities between formulas (symbolic input) that the layer needs and that hold
        only for some input sizes."""
        return []

    def declared_mismatch(self, inputs: list[tuple]) -> tuple[object, object] | None:
        """(declared, received) when a size declared in the spec disagrees with the input."""
        return None

    def params(self, inputs: list[tuple]):
        return 0

    def buffers(self, inputs: list[tuple]):
        return 0

    def macs(self, inputs: list[tuple], output: tuple):
        """Multiply-accumulates per sample (conv and linear; bias excluded)."""
        return 0

    def elementwise_ops(self, inputs: list[tuple], output: tuple):
        """Element-wise and reduction operations per sample, outside the MACs."""
        return self.ops_per_element * dims.prod(output)

    def receptive_field(self, inputs: list[tuple]):
        """Per spatial axis a :class:`Window` (or GLOBAL, or None for an axis it keeps); None
        when the layer is point-wise; GLOBAL when it mixes all positions; :class:`Mixes` when
        it mixes whole dims of its input."""
        return None

    def regroup(self, inputs: list[tuple]) -> tuple | None:
        """For a layer that reshapes (flatten): per output dim, the input dims merged into it
        (per-sample numbering). None when the output has the input's dims."""
        return None

    def stack_dim(self, inputs: list[tuple]) -> int | None:
        """For a merge that places its inputs one after another (concat): the per-sample dim
        along which it does. None when a merge combines inputs at the same position."""
        return None

    def weights(self, inputs: list[tuple]) -> Weights | None:
        """The layer's weight tensor, if it is a convolution or a fully-connected layer."""
        return None

    def linear_twin(self, inputs: list[tuple]) -> Layer | None:
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

    @classmethod
    def from_torch_call(cls, name: str, args: list, kwargs: dict, result, is_tensor: Callable) -> list:
        """``from_torch_function`` for a call that may return several tensors (``torch.split``)
        or whose settings read what it returned (only its shapes): one (layer type name,
        settings, inputs) per tensor returned, in order; ``name`` is the function's or
        method's own. By default the one of ``from_torch_function``."""
        return [cls.from_torch_function(args, kwargs, is_tensor)]

    @classmethod
    def from_torch_chain(cls, layers: list, shapes: list) -> dict:
        """For an ``imported_chain`` found in a trace, its layers' settings in order and the
        per-sample shapes of its input and of each layer's output: this layer's settings.
        Raises NotImportable when the chain does not compute this layer."""
        raise NotImportable(f"{cls.type_name} is read from no chain of layers")

    @classmethod
    def from_torch_state_call(cls, args: list, kwargs: dict) -> tuple:
        """For a call of one of ``imported_state_functions``: (spec settings, the arguments that
        are the layer's inputs, {each state_dict key the layer has: the tensor argument the
        call passes for it, or None when it passes none}). The tensors are only read
        (``.shape``). Raises NotImportable for what the spec cannot express."""
        raise NotImportable(f"{cls.type_name} computes over no module's tensors")

    @classmethod
    def from_torch_bare_call(cls, args: list, kwargs: dict, is_tensor: Callable,
                             parameter: Callable) -> tuple:
        """For a call of one of ``imported_bare_functions`` or ``imported_bare_methods`` (a
        method's tensor is the first argument) that reads a parameter the calling module holds
        itself: (spec settings, the arguments that are the layer's inputs, the argument that
        is that parameter or a view of it). ``parameter(value)`` is the held parameter
        ``value`` is or views, else None. Raises NotImportable for what the spec cannot
        express."""
        raise NotImportable(f"{cls.type_name} holds no parameter of its parent's")

    def bare_parameter(self, inputs: list[tuple]) -> BareParameter | None:
        """The parameter, when the layer is no module and its parent module holds the
        parameter directly at the node's key (:class:`BareParameter`); None (the default)
        when the layer is a module (``torch_call``)."""
        return None

    def own_module_for(self, call: TorchCall) -> OwnModule | None:
        """The layer type's own module when ``call`` (from :meth:`torch_call`) constructs it,
        else None (a ``torch.nn`` class)."""
        own = type(self).torch_module
        return own if own is not None and own.name == call.cls else None

    def torch_call(self, inputs: list[tuple]) -> TorchCall:
        raise NotImplementedError(f"{self.type_name} has no torch mapping")

    def inline_source(self, args: list[str]) -> str:
        """For an ``emitted_inline`` layer: the Python expression the emitted ``forward``
        computes it with, over the variable names holding its inputs (``torch`` and ``nn``
        are imported in the generated file)."""
        raise NotImplementedError(f"{self.type_name} is not written inline")


def declared_channels(declared, inputs: list[tuple]):
    """(declared, received) when a declared ``in`` disagrees with the input's channels (the
    ``declared_mismatch`` of layers that read channels), else None."""
    received = inputs[0][0]
    return (declared, received) if declared is not None and declared != received else None


def torch_pair(value):
    """A torch (h, w) setting as a spec writes it: one number when both are equal."""
    if isinstance(value, (tuple, list)):
        return value[0] if value[0] == value[1] else list(value)
    return value


def spatial(shape: tuple, what: str, rank: int = 2) -> tuple:
    """The ``rank`` spatial sizes of an input: (H, W) of a (C, H, W) one by default, (L,) of
    (C, L) for rank 1, (D, H, W) of (C, D, H, W) for rank 3; a clear error for any other."""
    if len(shape) != rank + 1:
        if rank == 2:
            raise LayerInputError(
                f"{what} needs a (channels, height, width) input, got shape {fmt_shape(shape)}",
                hint="2-D layers cannot follow flatten or linear",
            )
        axes = ("length",) if rank == 1 else ("depth", "height", "width")
        raise LayerInputError(
            f"{what} needs a ({', '.join(('channels', *axes))}) input, got shape {fmt_shape(shape)}",
            hint=f"{rank}-D layers take {rank + 1}-dim inputs (batch not counted)",
        )
    return tuple(shape[1:])


def spatial_rank(shape: tuple, what: str) -> int:
    """How many spatial axes a (C, L), (C, H, W) or (C, D, H, W) input has, or a clear error
    (for layers that take any of them: global pooling, interpolation)."""
    if not 2 <= len(shape) <= 4:
        raise LayerInputError(
            f"{what} needs a (channels, length), (channels, height, width) or (channels, depth, "
            f"height, width) input, got shape {fmt_shape(shape)}",
            hint="it cannot follow flatten or linear",
        )
    return len(shape) - 1


def fmt_shape(shape: tuple) -> str:
    """``256x6x6``; a formula is bracketed: ``96x(floor((H - 11)/4) + 1)x…``."""
    if not shape:
        return "scalar"
    parts = [dims.fmt(d) for d in shape]
    return "x".join(p if p.isdigit() or p.isidentifier() else f"({p})" for p in parts)
