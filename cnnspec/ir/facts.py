"""The result of an analysis: facts per node, totals, and the conventions behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

from cnnspec.ir.graph import Graph
from cnnspec.util import dims
from cnnspec.util.dtypes import DTYPE_BYTES
from cnnspec.version import SCHEMA_VERSION as SCHEMA_VERSION  # re-exported

CONVENTIONS = {
    "params": "weights + biases + norm affine parameters; buffers (BatchNorm running mean, "
              "running variance, num_batches_tracked) counted separately",
    "macs": "multiply-accumulates of conv and linear layers, bias excluded (torchvision's "
            "published GFLOPS convention)",
    "flops": "2 x MACs (torch.utils.flop_counter.FlopCounterMode's convention)",
    "elementwise_ops": "work outside the MACs: 1 per element for bias adds and activations, "
                       "2 per element for batch norm, 3 for softmax, kernel area per output "
                       "for pooling, every input element read for adaptive pooling",
    "activation_bytes": "bytes of each node's output for the whole batch; views (flatten, "
                        "identity, dropout at inference) share their input's memory",
    "peak_activation_bytes": "largest sum of live tensors (the input included) over the "
                             "nodes executed in order, each freed after its last reader",
    "receptive_field": "per spatial axis: size, jump (effective stride; 0 when every unit sees "
                       "the same field) and start (centre of the first unit, input pixel "
                       "coordinates), after Araujo et al. 2019; not clipped to the input; exact: "
                       "for every unit i, the first and last input pixel it depends on are the "
                       "ends of its interval (centre start + i x jump, size wide) cut to the span "
                       "of pixels the node depends on at all (nothing left: it depends on none); "
                       "otherwise reason says why not",
    "batch": "MACs, FLOPs, element-wise work and memory are for the whole batch; params per model",
}


class RF(NamedTuple):
    """Receptive field along one axis: size, jump, start (centre of the first unit), the
    number of units along the axis (used when a later layer mixes them all), and whether it
    is exact (see docs/conventions.md for what that promises), with the reason when it is
    not (upsampling, a strided transposed convolution or uneven adaptive pooling made
    positions an approximation; border units that read only padding; a concat along the
    axis; …). A jump of 0 means every unit sees the same field (after global pooling or a
    linear). ``span`` is the exact (first, last) extent of the union of all units' fields when
    it is known although the units' own fields are not (after uneven adaptive pooling).
    ``reach`` is the (first, last) input pixel the node depends on at all, () for none, None
    where it is not worked out (a symbolic input size)."""

    size: object
    jump: object
    start: object
    count: object
    exact: bool = True
    reason: str | None = None
    span: tuple | None = None
    reach: tuple | None = None

    def to_json(self) -> dict:
        return {"size": to_number(self.size), "jump": to_number(self.jump),
                "start": to_number(self.start), "exact": self.exact, "reason": self.reason}


def to_number(value):
    """A dim, fraction or formula for JSON: int, float or text."""
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    if isinstance(value, (int, float)):
        return value
    as_int = dims.to_int(value)
    if as_int is not None:
        return as_int
    if getattr(value, "is_Rational", False):
        return float(value)
    return dims.fmt(value)


@dataclass(slots=True)
class NodeFacts:
    """What the passes know about one node."""

    name: str
    type: str
    inputs: list = field(default_factory=list)
    output: tuple = ()
    params: object = 0
    trainable: bool = True
    buffers: object = 0
    macs: object = 0
    flops: object = 0
    elementwise_ops: object = 0
    activation_bytes: object = 0
    rf: tuple | None = None

    @property
    def trainable_params(self):
        return self.params if self.trainable else 0

    @property
    def frozen_params(self):
        return 0 if self.trainable else self.params


@dataclass
class Mismatch:
    """A size declared in the spec that the inferred one contradicts."""

    node: str
    declared: object
    received: object


@dataclass
class Analysis:
    """Everything cnnspec computed for one graph at one input, batch and dtype."""

    graph: Graph
    input_shape: tuple
    batch: int = 1
    dtype: str = "float32"
    facts: dict[str, NodeFacts] = field(default_factory=dict)
    peak_activation_bytes: object = 0
    peak_node: str = ""
    merge_alignment: list = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    strict: bool = True

    @property
    def dtype_bytes(self) -> int:
        return DTYPE_BYTES[self.dtype]

    def __post_init__(self) -> None:
        self.symbolic = any(dims.is_symbolic(d) for d in self.input_shape)

    def layers(self) -> list[NodeFacts]:
        return [self.facts[node.name] for node in self.graph.nodes]

    def output_shapes(self) -> list[tuple[str, str, tuple]]:
        """(output name, node, shape per sample) for every output of the network."""
        return [(name, node, self.facts[node].output) for name, node in self.graph.named_outputs()]

    def totals(self) -> dict:
        rows = self.layers()
        params = dims.total(f.params for f in rows)
        trainable = dims.total(f.trainable_params for f in rows)
        macs = dims.total(f.macs for f in rows)
        views = {n.name for n in self.graph.nodes if n.layer.view_of_input}
        return {
            "params": dims.normalize(params),
            "trainable_params": dims.normalize(trainable),
            "frozen_params": dims.normalize(params - trainable),
            "buffers": dims.total(f.buffers for f in rows),
            "macs": dims.normalize(macs),
            "flops": dims.normalize(2 * macs),
            "elementwise_ops": dims.total(f.elementwise_ops for f in rows),
            "param_bytes": dims.normalize(params * self.dtype_bytes),
            "activation_bytes": dims.total(f.activation_bytes for f in rows if f.name not in views),
            "peak_activation_bytes": dims.normalize(self.peak_activation_bytes),
            "output_shape": self.facts[self.graph.output].output,
        }
