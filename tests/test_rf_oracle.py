"""Receptive fields against an independent oracle: random specs, built in PyTorch by this
test's own translator (tests/rf_oracle.py, not cnnspec's builder), every unit's field measured
by gradients. Every field cnnspec marks exact must be the measured one, under the definition
of docs/conventions.md; an inexact one must say why.

The specs mix convolutions (padding up to wider than the kernel, strides, dilation), max and
average pooling (ceil_mode), global and adaptive pooling (uneven bins, more bins than
pixels), upsampling, transposed convolutions, flatten (whole and partial), linear, softmax
over every dim, concat along channels, height, width and flattened features, add and mul with
broadcasting (squeeze-and-excitation gates), branches and residual sums. The run is
deterministic (derandomized, no example database) and prints its size: examples, nodes and
units checked.
"""

from __future__ import annotations

import time
from fractions import Fraction

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cnnspec

from .rf_oracle import CLASH, Op, Predictor, measure, render, run_op

EXAMPLES = int(__import__("os").environ.get("RF_EXAMPLES", 1000))
MAX_SIDE = 40  # spatial sizes the generator keeps (the measurement is per unit)

STATS: dict = {}


def _bump(key: str, n: int = 1) -> None:
    STATS[key] = STATS.get(key, 0) + n


class Builder:
    """Draws a random program op by op, keeping only ops PyTorch accepts (checked on a
    batch of 2, so nothing may mix samples)."""

    def __init__(self, data, input_shape):
        self.data = data
        self.program: list[Op] = []
        self.values = {"input": torch.ones(2, *input_shape, dtype=torch.float64)}
        self.order = ["input"]
        self.features: set[str] = set()
        self.after_global: set[str] = set()

    def int(self, low, high):
        return self.data.draw(st.integers(low, high))

    def pick(self, options):
        return self.data.draw(st.sampled_from(options))

    def shape(self, name):
        return tuple(self.values[name].shape[1:])

    def source(self, rank=None):
        names = [n for n in self.order if rank is None or len(self.shape(n)) == rank]
        if not names:
            return None
        if self.order[-1] in names and self.data.draw(st.booleans()):
            return self.order[-1]
        return self.pick(names)

    def add(self, kind, inputs, **args) -> str | None:
        op = Op(f"n{len(self.program)}", kind, tuple(inputs), args)
        try:
            out = run_op(op, [self.values[s] for s in inputs])
        except (RuntimeError, ValueError):
            return None
        if out.numel() == 0 or out.dim() < 2 or any(d > MAX_SIDE for d in out.shape[2:]) \
                or out[0].numel() > 4000:
            return None
        self.program.append(op)
        self.values[op.name] = out
        self.order.append(op.name)
        if kind in ("global_avgpool", "global_maxpool") or any(s in self.after_global for s in inputs):
            self.after_global.add(op.name)
        return op.name

    # -- op proposals ------------------------------------------------------------------
    def conv(self, src, out=None, **fixed):
        k = self.pick([1, 2, 3, [1, 3], [3, 2], 4])
        args = {"out": out or self.pick([1, 2]), "kernel": k}
        stride = self.pick([1, 1, 2, 3, [1, 2]])
        if stride != 1:
            args["stride"] = stride
        kmax = max(k) if isinstance(k, list) else k
        if self.data.draw(st.booleans()):
            args["dilation"] = self.pick([2, [1, 2]])
        padding = self.pick([0, 1, kmax // 2, kmax, kmax + 1, [0, 1], "same"])
        if padding == "same" and stride != 1:
            padding = 1
        if padding != 0:
            args["padding"] = padding
        args.update(fixed)
        name = self.add("conv2d", [src], **args)
        if name and src in self.after_global and args.get("padding", 0) not in (0, [0, 0]):
            self.features.add("padded conv after a global layer")
        if name and args.get("dilation"):
            self.features.add("dilation")
        return name

    def pool(self, src):
        kind = self.pick(["maxpool2d", "avgpool2d"])
        k = self.pick([1, 2, 3, [2, 3]])
        kmin = min(k) if isinstance(k, list) else k
        args = {"kernel": k, "stride": self.pick([1, 2, 3])}
        if self.data.draw(st.booleans()):
            args["padding"] = self.int(0, kmin // 2)
        if self.data.draw(st.booleans()):
            args["ceil_mode"] = True
        if kind == "maxpool2d" and not args.get("ceil_mode") and self.int(0, 3) == 0:
            args["dilation"] = 2
        name = self.add(kind, [src], **args)
        if name and args.get("ceil_mode"):
            self.features.add("ceil_mode")
        return name

    def adaptive(self, src):
        h, w = self.shape(src)[1:]
        size = self.pick([1, 2, 3, 4, 5, 7, [3, None], [None, 2], [2, 5]])
        kind = self.pick(["adaptive_avgpool2d", "adaptive_maxpool2d"])
        name = self.add(kind, [src], output_size=size)
        if name:
            targets = size if isinstance(size, list) else [size, size]
            for n, o in zip((h, w), targets):
                if o is not None and n % o:
                    self.features.add("uneven adaptive bins")
                if o is not None and o > n:
                    self.features.add("more adaptive bins than pixels")
        return name

    def upsample(self, src):
        h, w = self.shape(src)[1:]
        mode = self.pick(["nearest", "bilinear"])
        if self.data.draw(st.booleans()):
            name = self.add("upsample", [src], scale=self.pick([2, 1.5, 0.5, 3]), mode=mode)
        else:
            name = self.add("upsample", [src], size=[self.int(1, 2 * h + 1), self.int(1, 2 * w + 1)],
                            mode=mode)
        if name:
            self.features.add("upsample")
        return name

    def transposed(self, src):
        k, s, d = self.pick([1, 2, 3]), self.pick([1, 2, 3]), self.pick([1, 1, 2])
        args = {"out": self.pick([1, 2]), "kernel": k, "stride": s}
        if d > 1:
            args["dilation"] = d
        p = self.int(0, max(0, d * (k - 1)))
        if p:
            args["padding"] = p
        op = self.int(0, max(s, d) - 1)
        if op:
            args["output_padding"] = op
        name = self.add("conv_transpose2d", [src], **args)
        if name:
            self.features.add("transposed conv")
        return name

    def head(self, src):
        rank = len(self.shape(src))
        start = self.int(1, rank)
        end = self.int(start, rank)
        end_arg = -1 if end == rank else end
        name = self.add("flatten", [src], start_dim=start, end_dim=end_arg)
        if name is None:
            return None
        partial = not (start == 1 and end == rank) and rank == 3
        kind = self.pick(["linear", "softmax", "linear", "relu"])
        if kind == "linear":
            out = self.add("linear", [name], out=self.int(1, 4))
            if out and partial:
                self.features.add("linear after a partial flatten")
            return out
        if kind == "softmax":
            return self.softmax(name)
        return self.add("relu", [name])

    def softmax(self, src):
        rank = len(self.shape(src))
        dim = self.int(1, rank)
        name = self.add("softmax", [src], dim=dim)
        if name:
            self.features.add("softmax over flattened features" if rank < 3 and dim == rank
                              else f"softmax over a {'spatial' if rank == 3 and dim >= 2 else 'other'} dim")
        return name

    def se_gate(self, src):
        c = self.shape(src)[0]
        kind, args = self.pick([("global_avgpool", {}), ("adaptive_avgpool2d", {"output_size": [1, None]}),
                                ("adaptive_avgpool2d", {"output_size": [None, 1]})])
        gated = src
        if self.int(0, 2) == 0:  # a gate from a path that skips pixels the gated map reads
            gated = self.add("conv2d", [src], out=c, kernel=1, stride=2)
            gated = gated and self.add("conv2d", [gated], out=c, kernel=3, padding=1)
            if gated is None:
                return None
        g = self.add(kind, [gated], **args)
        if g is None:
            return None
        g = self.add("conv2d", [g], out=c, kernel=1)
        g = g and self.add("sigmoid", [g])
        merged = g and self.add(self.pick(["mul", "add"]), [src, g])
        if merged:
            self.features.add("broadcast merge")
        return merged

    def residual(self, src):
        c = self.shape(src)[0]
        k = self.pick([1, 3])
        d = self.pick([1, 2])
        y = self.add("conv2d", [src], out=c, kernel=k, padding=d * (k // 2), dilation=d)
        y = y and self.add("relu", [y])
        merged = y and self.add(self.pick(["add", "mul"]), [src, y])
        if merged:
            self.features.add("residual")
        return merged

    def branches(self, src):
        shape = self.shape(src)
        c = shape[0]
        a = self.pick([("conv", 3, 1), ("conv", 1, 0), ("conv", 3, 2), ("pool", 3, 1), ("conv", 2, 1)])
        b = self.pick([("conv", 3, 1), ("conv", 1, 0), ("conv", 5, 2), ("pool", 2, 0), ("conv", 1, 1)])
        names = []
        for kind, k, p in (a, b):
            if kind == "conv":
                names.append(self.add("conv2d", [src], out=c, kernel=k, padding=p))
            else:
                names.append(self.add("maxpool2d", [src], kernel=k, stride=1, padding=p))
        if None in names:
            return None
        return self.merge(names)

    def flat_concat(self, src):
        """Two branches flattened and concatenated (features of one grid, or of two)."""
        c = self.shape(src)[0]
        a = self.add("conv2d", [src], out=c, kernel=3, padding=1)
        b = self.add("maxpool2d", [src], kernel=self.pick([1, 2]), stride=self.pick([1, 2]))
        if a is None or b is None:
            return None
        start = self.pick([1, 2])
        fa = self.add("flatten", [a], start_dim=start)
        fb = self.add("flatten", [b], start_dim=start)
        name = fa and fb and self.add("concat", [fa, fb], dim=len(self.shape(fa)))
        if name:
            self.features.add("concat along flattened")
            return self.add("linear", [name], out=2) if self.data.draw(st.booleans()) else name
        return None

    def merge(self, names=None):
        kind = self.pick(["concat", "concat", "add", "mul"])
        dim = None
        if names is None:  # an earlier tensor with one that fits it (or with itself)
            first = self.source()
            rank = len(self.shape(first))
            dim = self.int(1, rank)
            fits = [n for n in self.order if self._fits(kind, dim, self.shape(first), self.shape(n))]
            names = [first, self.pick(fits)]
        rank = len(self.shape(names[0]))
        if kind == "concat":
            dim = dim or self.int(1, rank)
            name = self.add("concat", names, dim=dim)
            if name:
                what = "HW"[dim - 2] if rank == 3 and dim >= 2 else ("C" if rank == 3 else "flattened")
                self.features.add(f"concat along {what}")
        else:
            name = self.add(kind, names)
            if name and self.shape(names[0]) != self.shape(names[1]):
                self.features.add("broadcast merge")
        if name and all(self.shape(n)[1:] == (1, 1) for n in names if len(self.shape(n)) == 3) \
                and rank == 3:
            self.features.add("merge of 1x1 maps")
        return name

    @staticmethod
    def _fits(kind, dim, a, b) -> bool:
        if len(a) != len(b):
            return False
        if kind == "concat":
            return all(x == y for i, (x, y) in enumerate(zip(a, b)) if i != dim - 1)
        return all(x == y or 1 in (x, y) for x, y in zip(a, b))

    def step(self):
        spatial = self.source(3)
        options = ["conv", "conv", "pool", "adaptive", "global", "upsample", "transposed",
                   "se", "residual", "branches", "merge", "head", "softmax", "pointwise", "flat"]
        choice = self.pick(options) if spatial else self.pick(["head", "softmax", "merge", "pointwise"])
        src = spatial if spatial else self.source()
        if choice == "conv":
            return self.conv(src)
        if choice == "pool":
            return self.pool(src)
        if choice == "adaptive":
            return self.adaptive(src)
        if choice == "global":
            name = self.add(self.pick(["global_avgpool", "global_maxpool"]), [src])
            return name and self.conv(name)  # what comes after a global layer is the point
        if choice == "upsample":
            return self.upsample(src)
        if choice == "transposed":
            return self.transposed(src)
        if choice == "se":
            return self.se_gate(src)
        if choice == "residual":
            return self.residual(src)
        if choice == "branches":
            return self.branches(src)
        if choice == "merge":
            return self.merge()
        if choice == "flat":
            return self.flat_concat(src)
        if choice == "head":
            return self.head(self.source())
        if choice == "softmax":
            return self.softmax(self.source())
        src = self.source()
        kind = "batchnorm2d" if len(self.shape(src)) == 3 and self.data.draw(st.booleans()) else "relu"
        return self.add(kind, [src])


def _judge(graph_text: str, program: list, input_shape: tuple) -> list:
    """Compare every node's field with the measured one; return the failures."""
    graph = cnnspec.parse_spec(graph_text)
    result = cnnspec.analyze(graph)
    names = [op.name for op in program]
    measured = measure(program, input_shape, names)
    failures = []
    for name in names:
        facts = result.facts[name]
        got = measured[name]
        assert tuple(facts.output) == got["shape"], (name, facts.output, got["shape"])
        rf = facts.rf
        exact = all(r.exact for r in rf)
        _bump("nodes")
        clash = any(CLASH in key for key, _ in got["units"])
        if not exact:
            _bump("inexact nodes")
            reasons = {r.reason for r in rf if not r.exact}
            for r in reasons:
                _bump("why: " + r.split(": ", 1)[-1][:60])
            assert all(isinstance(r, str) and r for r in reasons), (name, rf)
            continue
        if clash:
            failures.append((name, "exact, but its elements combine positions of different grids"))
            continue
        _bump("exact nodes")
        predicted = Predictor(rf, got["reach"])
        for key, box in got["units"]:
            _bump("units checked")
            expected = predicted(key)
            if expected != box or predicted(key, pixels=True) != box:
                failures.append((name, key, "predicted", expected, "measured", box,
                                 [(r.size, r.jump, r.start) for r in rf]))
                break
    return failures


@settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
          suppress_health_check=list(HealthCheck))
@given(st.data())
def _random_specs(data):
    channels = data.draw(st.sampled_from([1, 2]))
    input_shape = (channels, data.draw(st.integers(3, 12)), data.draw(st.integers(3, 12)))
    builder = Builder(data, input_shape)
    for _ in range(data.draw(st.integers(2, 7))):
        builder.step()
    if not builder.program:
        return
    _bump("examples")
    for feature in builder.features:
        _bump("feature: " + feature)
    text = render(builder.program, input_shape)
    failures = _judge(text, builder.program, input_shape)
    assert not failures, text + "\n" + "\n".join(map(str, failures[:5]))


FEATURES = ("padded conv after a global layer", "softmax over flattened features",
            "softmax over a spatial dim", "concat along H", "concat along W", "concat along C",
            "concat along flattened", "linear after a partial flatten", "uneven adaptive bins",
            "more adaptive bins than pixels", "broadcast merge", "merge of 1x1 maps", "residual",
            "upsample", "transposed conv", "ceil_mode", "dilation")


def test_exact_fields_match_gradients_on_random_specs(capsys):
    STATS.clear()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: threads cost more than they bring
    began = time.perf_counter()
    try:
        _random_specs()
    finally:
        torch.set_num_threads(threads)
    seconds = time.perf_counter() - began
    with capsys.disabled():
        print(f"\nrf oracle: {STATS.get('examples', 0)} specs, {STATS.get('nodes', 0)} nodes "
              f"({STATS.get('exact nodes', 0)} exact, {STATS.get('inexact nodes', 0)} inexact), "
              f"{STATS.get('units checked', 0)} units checked, {seconds:.1f} s")
        print("  " + ", ".join(f"{f}: {STATS.get('feature: ' + f, 0)}" for f in FEATURES))
        if __import__("os").environ.get("RF_WHY"):
            for k, v in sorted(STATS.items()):
                if k.startswith("why"):
                    print("  ", v, k)
    for feature in FEATURES:  # every case the review found is exercised, several times
        assert STATS.get("feature: " + feature, 0) >= 3, feature
    assert STATS["units checked"] > 10_000 and STATS["exact nodes"] > STATS["inexact nodes"]


@pytest.mark.parametrize("text", [
    # a padded conv after global pooling: its border units read only padding
    "input: [1, 8, 8]\nlayers:\n  - conv2d: {out: 2, kernel: 3, padding: 1}\n  - global_avgpool\n"
    "  - conv2d: {out: 2, kernel: 1, padding: 1}\n  - conv2d: {out: 2, kernel: 3, padding: 1}\n",
])
def test_a_unit_that_reads_only_padding_is_not_claimed_exact(text):
    result = cnnspec.analyze(cnnspec.parse_spec(text))
    fields = result.facts["3"].rf
    assert not any(r.exact for r in fields) and "only padding" in fields[0].reason


# --------------------------------------------------------------------------- the review's cases


def _fields(text: str, batch: int = 1):
    result = cnnspec.analyze(cnnspec.parse_spec(text), batch=batch)
    return result, {name: facts.rf for name, facts in result.facts.items()}


def _measured(text: str, program: list, input_shape: tuple, name: str) -> dict:
    """The oracle's measurement of one node, checked against cnnspec's exact field."""
    failures = _judge(text, program, input_shape)
    assert not failures, failures
    return measure(program, input_shape, [name])[name]


def test_softmax_over_flattened_features_sees_the_whole_map():
    program = [Op("conv", "conv2d", ("input",), {"out": 2, "kernel": 3, "padding": 1}),
               Op("flat", "flatten", ("conv",), {}),
               Op("prob", "softmax", ("flat",), {"dim": 1})]
    text = render(program, (1, 8, 8))
    _, fields = _fields(text)
    assert [(r.size, r.jump, r.exact) for r in fields["prob"]] == [(10, 0, True)] * 2
    got = _measured(text, program, (1, 8, 8), "prob")
    assert {box for _, box in got["units"]} == {((0, 7), (0, 7))}


def test_linear_after_a_partial_flatten_mixes_only_the_axis_it_reads():
    program = [Op("conv", "conv2d", ("input",), {"out": 2, "kernel": 3, "padding": 1}),
               Op("rows", "flatten", ("conv",), {"start_dim": 1, "end_dim": 2}),
               Op("fc", "linear", ("rows",), {"out": 3})]
    text = render(program, (2, 6, 6))
    _, fields = _fields(text)
    height, width = fields["fc"]
    assert (height.size, height.jump, height.exact) == (3, 1, True)  # rows kept
    assert (width.size, width.jump, width.exact) == (8, 0, True)  # columns mixed
    got = _measured(text, program, (2, 6, 6), "fc")
    assert ((2, -1), ((1, 3), (0, 5))) in got["units"]  # row 2 sees rows 1-3, every column


def test_concat_along_height_is_exact_only_when_it_continues_one_grid():
    _, fields = _fields("input: [1, 8, 8]\nlayers:\n  - conv2d: {out: 2, kernel: 3, padding: 1}\n"
                        "  - concat: {from: [-1, -1], dim: 2}\n")
    height, width = fields["1"]
    assert not height.exact and "do not continue one grid" in height.reason and width.exact
    _, fields = _fields("input: [1, 8, 8]\nlayers:\n  - global_avgpool\n"
                        "  - concat: {from: [-1, -1], dim: 2}\n")  # two copies of one field
    assert all(r.exact and r.jump == 0 for r in fields["1"])


def test_uneven_adaptive_bins_keep_the_last_bin_and_the_union():
    # 5 units to 3 bins: [0, 2), [1, 4), [3, 5); the last bin is centred at 3.5
    result, fields = _fields("input: [1, 5, 5]\nlayers:\n  - adaptive_avgpool2d: 3\n"
                             "  - flatten\n  - linear: 2\n")
    height = fields["0"][0]
    assert not height.exact and "differ in width or spacing" in height.reason
    assert height.start == Fraction(1, 2) and height.start + 2 * height.jump == Fraction(7, 2)
    assert [(r.size, r.jump, r.start, r.exact) for r in fields["2"]] == [(5, 0, 2, True)] * 2
    # more bins than pixels: 2 units to 3 bins [0, 1), [0, 2), [1, 2) - not jump 0
    _, fields = _fields("input: [1, 2, 2]\nlayers:\n  - adaptive_avgpool2d: 3\n")
    assert fields["0"][0].jump == Fraction(1, 2) and not fields["0"][0].exact


def test_a_merge_of_one_unit_maps_is_not_a_misalignment():
    result, fields = _fields("""
input: [1, 8, 8]
layers:
  - conv2d: {out: 2, kernel: 8, name: whole}
  - conv2d: {out: 2, kernel: 4, stride: 4, from: input, name: quarter}
  - conv2d: {out: 2, kernel: 2, name: joined}
  - conv2d: {out: 2, kernel: 5, from: input, name: corner}
  - conv2d: {out: 2, kernel: 4, name: corner1}
  - add: {from: [whole, joined, corner1]}
""")
    assert result.merge_alignment == []  # jumps 1, 4 and 1 and starts 3.5 and 3: one unit each
    assert [(r.size, r.exact) for r in fields["5"]] == [(8, True)] * 2


@pytest.mark.parametrize("kind", ["add", "mul"])
@pytest.mark.parametrize("batch", [1, 4])
def test_a_mixed_rank_merge_is_refused_as_pytorch_refuses_it(kind, batch):
    text = (f"input: [4, 4, 4]\nlayers:\n  - conv2d: {{out: 4, kernel: 1, name: map}}\n"
            f"  - flatten: {{name: flat}}\n  - linear: {{out: 4, name: vec}}\n"
            f"  - {kind}: {{from: [map, vec]}}\n")
    with pytest.raises(cnnspec.SpecError) as error:
        cnnspec.analyze(cnnspec.parse_spec(text, "mixed.yaml"), batch=batch)
    message = error.value.render()
    assert message.startswith("mixed.yaml:6:") and "input 1 is 4x4x4, input 2 is 4 per sample" in message
    assert "same number of dims" in message and "batch > 1" in message
    # what PyTorch does with those shapes: refuses at a batch of 2, and at a batch of 4 (equal
    # to the height the batch dim meets) it combines sample n with row n of every sample
    a, b = torch.ones(2, 4, 4, 4), torch.ones(2, 4)
    with pytest.raises(RuntimeError):
        a + b if kind == "add" else a * b
    mixed = torch.ones(4, 4, 4, 4) + torch.arange(4.0).repeat(4, 1).T
    assert mixed.shape == (4, 4, 4, 4) and mixed[0, 0, 1, 0] == 2  # sample 1's value in sample 0


def test_verify_judges_softmax_over_a_spatial_axis_and_shows_inexact_fields_as_info():
    from cnnspec.torch.verify import verify

    def fields(text):
        report = verify(cnnspec.parse_spec(text))
        assert report.mismatches == 0
        return {n.name: c for n in report.nodes for c in n.checks if c.what == "receptive_field"}

    checks = fields("""
input: [1, 12, 12]
layers:
  - conv2d: {out: 2, kernel: 3, padding: 1}
  - softmax: 2
  - conv2d: {out: 2, kernel: 3, padding: 1}
  - flatten
  - softmax
""")
    assert checks["1"].ok and checks["1"].measured == ((0, 11), (5, 7))  # the whole column
    assert checks["2"].ok and checks["4"].ok and checks["4"].measured == ((0, 11), (0, 11))
    checks = fields("""
input: [1, 12, 12]
layers:
  - conv2d: {out: 2, kernel: 3, padding: 1}
  - global_avgpool
  - conv2d: {out: 2, kernel: 1, padding: 1}
""")
    assert checks["1"].ok and checks["2"].ok is None  # inexact (border units see nothing): info


def test_reports_mark_inexact_fields():
    text = ("input: [1, 8, 8]\nlayers:\n  - conv2d: {out: 2, kernel: 3, padding: 1}\n"
            "  - upsample: 2\n  - conv2d: {out: 2, kernel: 3, padding: 1}\n")
    result = cnnspec.analyze(cnnspec.parse_spec(text))
    from cnnspec.reports.csv_report import render_csv
    from cnnspec.reports.json_report import analysis_to_dict
    from cnnspec.reports.table_report import render_markdown, render_table

    data = analysis_to_dict(result)
    assert data["schema_version"] == "1.1"
    up = data["layers"][1]["receptive_field"]
    assert up["exact"] is False and up["reason"].startswith("1: nearest upsampling from 8 to 16")
    assert data["layers"][0]["receptive_field"]["reason"] is None
    table = render_table(result)
    assert " ~3 " in table and " ~4 " in table and "note: ~ marks an approximate receptive field" in table
    assert "~4" in render_markdown(result)
    assert render_csv(result).splitlines()[2].endswith(",false")


def test_the_coverage_rule_quotes_an_inexact_field_as_an_approximation():
    from cnnspec.lint import check_file

    from .conftest import SPECS

    found = [d for d in check_file(SPECS / "unet.yaml").diagnostics if d.code == "CNN108"]
    assert len(found) == 1 and "is ~96x96 (an approximation)" in found[0].message
    assert found[0].data["exact"] is False
    found = [d for d in check_file(SPECS / "vgg16.yaml").diagnostics if d.code == "CNN108"]
    assert "is 212x212: no unit" in found[0].message and found[0].data["exact"] is True
