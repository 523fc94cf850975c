"""One model of the zoo benchmark through cnnspec, step by step (benchmarks/zoo.py runs this in a
subprocess per model; tests/test_zoo.py calls :func:`check_model` directly).

The steps, each timed: make the real model (random weights); measure it (parameters counted,
``FlopCounterMode`` FLOPs / 2 and the output on a seeded random input, one forward in eval
mode); ``cnnspec.torch.importer.import_model``; ``cnnspec.parse_spec``; ``cnnspec.analyze``;
``cnnspec.to_torch`` and a strict ``load_state_dict`` of the real model's weights, then its
output; ``cnnspec.emit.emitter.emit``, the source exec'd, the class built, the same strict load
and output. A step that fails ends the row with its error; later steps are not run.
"""

from __future__ import annotations

import os
import tempfile
import time
import types

# relative tolerance of the output comparison, against the largest output magnitude
RTOL = 1e-4


def offline() -> None:
    """Nothing can be downloaded: an empty TORCH_HOME and HF_HOME, the hub offline."""
    home = os.environ.get("CNNSPEC_ZOO_HOME")
    if not home:
        home = tempfile.mkdtemp(prefix="cnnspec-zoo-")
        os.environ["CNNSPEC_ZOO_HOME"] = home
    os.environ["TORCH_HOME"] = os.path.join(home, "torch")
    os.environ["HF_HOME"] = os.path.join(home, "hf")
    os.environ["HF_HUB_OFFLINE"] = "1"


def short(exc: BaseException, limit: int = 200) -> str:
    """The error in one line: its type and its first line, cut to ``limit`` characters."""
    text = str(exc).strip().splitlines()
    line = f"{type(exc).__name__}: {text[0] if text else ''}"
    return line if len(line) <= limit else line[:limit - 1] + "…"


def unsupported(exc: BaseException) -> list | None:
    """The importer's list of unsupported operations, when its error carries one
    (``.unsupported``: (name, module path, count) items), as [name, path, count] lists."""
    items = getattr(exc, "unsupported", None)
    if items is None:
        return None
    rows = []
    for item in items:
        if hasattr(item, "what"):  # cnnspec.torch.trace's Unsupported record
            parts = [item.what, item.where, item.count]
        else:
            parts = list(item) if isinstance(item, (tuple, list)) else [str(item)]
        rows.append([str(p) if not isinstance(p, int) else p for p in parts])
    return rows


class _Clock:
    def __init__(self, row: dict):
        self.row = row
        self.current = "create"  # the step running (or the last one run)

    def __call__(self, step: str, fn, *args, **kwargs):
        self.current = step
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.row["times"][step] = round(time.perf_counter() - start, 4)


def _outputs(value) -> dict:
    """Every output tensor by name: a dict's keys (segmentation models return {"out": ...,
    "aux": ...}), a tuple's positions, or "output" for one tensor."""
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, (tuple, list)):
        return {str(i): v for i, v in enumerate(value)}
    return {"output": value}


def _compare(ours, ref) -> dict:
    """Each output of ours against the reference's of the same name (all must be there)."""
    ours, ref = _outputs(ours), _outputs(ref)
    if list(ours) != list(ref):
        return {"ok": False, "why": f"outputs {list(ours)} != {list(ref)}"}
    results = [_compare_one(ours[key], ref[key]) for key in ref]
    failed = next((r for r in results if "why" in r), None)
    if failed is not None:
        return failed
    return {"ok": all(r["ok"] for r in results), "equal": all(r["equal"] for r in results),
            "max_diff": max(r["max_diff"] for r in results), "scale": max(r["scale"] for r in results)}


def _compare_one(ours, ref) -> dict:
    import torch

    if ours.shape != ref.shape:
        return {"ok": False, "why": f"shape {list(ours.shape)} != {list(ref.shape)}"}
    diff = (ours - ref).abs().max().item()
    scale = max(ref.abs().max().item(), 1.0)
    return {"ok": bool(torch.isfinite(ref).all() and diff <= RTOL * scale),
            "equal": bool(torch.equal(ours, ref)), "max_diff": diff, "scale": scale}


def _load(module, state: dict) -> str | None:
    """None when the weights load strictly, else the error in short."""
    try:
        module.load_state_dict(state, strict=True)
    except Exception as exc:  # a mismatch is a result
        return short(exc, 300)
    return None


def _real(row: dict, clock: _Clock, suite: str, name: str):
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    from zoo_models import library, make

    library(suite)  # imported before the clock starts: its import time is no model's
    model, shape = clock("create", make, suite, name)
    model.eval()
    row["input"] = list(shape)
    row["params_ref"] = sum(p.numel() for p in model.parameters())
    torch.manual_seed(0)
    x = torch.randn(1, *shape)

    def measure():
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            out = model(x)
        return counter.get_total_flops(), out

    flops, ref = clock("reference", measure)
    row["macs_ref"] = flops // 2
    return model, x, ref


def _import(row: dict, clock: _Clock, model, name: str, profile: bool):
    from cnnspec.torch.importer import import_model

    shape = tuple(row["input"])
    if not profile:
        return clock("import", import_model, model, shape, name)
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    try:
        return clock("import", prof.runcall, import_model, model, shape, name)
    finally:
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(25)
        row["profile"] = out.getvalue()


def _spec(row: dict, clock: _Clock, imported):
    import cnnspec

    dropped = list(getattr(imported, "dropped", []) or [])
    row["dropped"] = [[d.name, d.params] for d in dropped]
    row["dropped_params"] = sum(d.params for d in dropped)
    row["spec_lines"] = imported.text.count("\n")
    graph = clock("parse", cnnspec.parse_spec, imported.text)
    totals = clock("analyze", lambda: cnnspec.analyze(graph).totals())
    row["params"], row["macs"] = totals["params"], totals["macs"]
    row["params_ok"] = totals["params"] == row["params_ref"] - row["dropped_params"]
    row["macs_ok"] = totals["macs"] == row["macs_ref"]
    row["layers"] = len(graph.nodes)
    return graph, {key for d in dropped for key in d.keys}


def _run_copy(row: dict, clock: _Clock, which: str, make_module, state: dict, x, ref) -> None:
    import torch

    module = clock(f"{which}_make", make_module).eval()
    row[f"{which}_load"] = clock(f"{which}_load", _load, module, state)
    if row[f"{which}_load"] is not None:
        return
    with torch.no_grad():
        out = clock(f"{which}_forward", module, x)
    row[f"{which}_output"] = _compare(out, ref)


def _emitted(graph, clock: _Clock):
    from cnnspec.emit.emitter import emit

    source = clock("emit", emit, graph, "ZooModel")
    module = types.ModuleType("zoo_emitted")
    clock("exec", exec, compile(source, "<zoo_emitted>", "exec"), module.__dict__)  # our own output
    return module.ZooModel


def check_model(suite: str, name: str, group: str = "", profile: bool = False) -> dict:
    """The zoo row of one model; every failure is recorded in it (``error``, with ``step``)."""
    row: dict = {"suite": suite, "name": name, "group": group, "times": {}}
    clock = _Clock(row)
    try:
        model, x, ref = _real(row, clock, suite, name)
        try:
            imported = _import(row, clock, model, name, profile)
        except Exception as exc:  # reported with the row
            row["unsupported"] = unsupported(exc)
            raise
        row["imported"] = True
        graph, dropped = _spec(row, clock, imported)
        state = {k: v for k, v in model.state_dict().items() if k not in dropped}
        import cnnspec

        _run_copy(row, clock, "built", lambda: cnnspec.to_torch(graph), state, x, ref)
        cls = _emitted(graph, clock)
        _run_copy(row, clock, "emitted", cls, state, x, ref)
    except Exception as exc:  # a model's failure is a row
        row["step"], row["error"] = clock.current, short(exc)
    return row


def passed(row: dict) -> bool:
    """Every check of the row holds."""
    return bool(row.get("params_ok") and row.get("macs_ok") and "error" not in row
                and row.get("built_load") is None and row.get("emitted_load") is None
                and row.get("built_output", {}).get("ok") and row.get("emitted_output", {}).get("ok"))
