"""Benchmark cnnspec's static analysis against torchinfo.summary.

Run from anywhere (the repository root is found from this file's location)::

    python benchmarks/bench_analyze.py            # full run, 1 to 1.5 minutes on 2 cores
    python benchmarks/bench_analyze.py --quick    # fewer repeats, about 25 seconds
    python benchmarks/bench_analyze.py --json out.json --profile

Measured, each as the median of several runs (time.perf_counter for wall time; CPU time is
shown beside it because it is far less disturbed by other load on the machine):

a. whole process: ``python -m cnnspec analyze SPEC`` versus a process that imports torch and
   torchinfo, builds the same network with ``cnnspec.to_torch`` and calls ``torchinfo.summary``
   at 1x3x224x224; for VGG-16, torchvision's AlexNet and ResNet-152. With an interpreter that
   has torchvision (this one, or --torchvision-python), also torchinfo on torchvision's own
   ResNet-152 (torchvision imported, as its users run it): the ResNet-152 target.
b. in process: ``analyze(load_spec(SPEC))`` versus ``torchinfo.summary(model, ...)`` on a model
   built beforehand.
c. a generated chain of 10,000 layers (conv2d 3x3 + relu) on an 8x32x32 input: parse and analyze.
d. VGG-16 analysed at 224x224 and at 8192x8192: the time should not depend on the resolution.
e. whether ``cnnspec analyze`` imports torch (it must not), and its slowest imports.
f. EfficientNet-B0 and B7 (by --set width=2.0 depth=3.1 resolution=600): whole process (the
   target) and load + analyze in process.
g. ``cnnspec check specs/*.yaml``: every shipped spec linted in one process, against the
   interpreter floor and against one ``cnnspec analyze`` process per spec.

torch and torchinfo (``pip install -e .[bench]``) are needed for the torchinfo side of a and b
only; without them, or with --no-torch, those columns are skipped. No network access is used.
The exit status is 0 whatever the verdicts (use --strict to exit 1 when a target fails).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

try:
    import resource
except ImportError:  # not on Windows: CPU time of children is then not reported
    resource = None

REPO = Path(__file__).resolve().parents[1]
SPECS = {"vgg16": REPO / "specs" / "vgg16.yaml",
         "alexnet_torchvision": REPO / "specs" / "alexnet_torchvision.yaml",
         "resnet152": REPO / "specs" / "resnet152.yaml"}
EFFICIENTNET = REPO / "specs" / "efficientnet_b0.yaml"
B7 = {"width": "2.0", "depth": "3.1", "resolution": "600"}
INPUT_SIZE = (1, 3, 224, 224)

# Targets.
CLI_TARGET_S = 0.3            # cnnspec analyze vgg16, whole process
SPEEDUP_TARGET = 10.0         # torchinfo / cnnspec, whole process, vgg16
CHAIN_LAYERS = 10_000
CHAIN_TARGET_S = 1.0          # parse + analyze of the 10,000-layer chain
RESOLUTION_TOLERANCE = 1.5    # time(8192x8192) / time(224x224) must stay below this
RESOLUTION_BATCH = 10         # analyze() calls per timed sample in (d)
RESNET152_TARGET_S = 0.5      # cnnspec analyze resnet152, whole process
RESNET152_SPEEDUP = 20.0      # torchinfo / cnnspec, whole process, resnet152
CHECK_TARGET_S = 1.0          # cnnspec check specs/*.yaml, whole process
SCALING_TOLERANCE = 2.0       # time(EfficientNet-B7 by --set) / time(B0) must stay below this
FLOOR_TOLERANCE = 2.0         # cnnspec analyze resnet152 / python -c "import yaml, click, tabulate"

# The torchinfo side of (a): one fresh process; prints its phases as JSON on the last line.
TORCHINFO_SNIPPET = """
import json, sys, time
t0 = time.perf_counter()
import torch, torchinfo, cnnspec
t1 = time.perf_counter()
model = cnnspec.to_torch(cnnspec.load_spec(sys.argv[1]))
t2 = time.perf_counter()
stats = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "summary_s": t3 - t2,
                  "params": stats.total_params, "macs": stats.total_mult_adds}))
"""

# (e): run the CLI's main in a fresh process, then look at sys.modules.
MODULES_SNIPPET = """
import sys
from cnnspec.cli.main import main
main(["analyze", sys.argv[1]], standalone_mode=False)
heavy = sorted(m for m in ("torch", "torchinfo", "numpy", "sympy") if m in sys.modules)
print("\\nMODULES=" + ",".join(heavy))
"""

# (e): where the CLI's time goes, phase by phase, in a fresh process (what `analyze` does).
PHASES_SNIPPET = """
import json, sys, time
t = [time.perf_counter()]
import cnnspec                                    # the library: spec, graph, layers, passes, yaml
t.append(time.perf_counter())
import cnnspec.cli                                # click
t.append(time.perf_counter())
from cnnspec.reports import FORMATS  # report renderers: tabulate
t.append(time.perf_counter())
graph = cnnspec.load_spec(sys.argv[1])
t.append(time.perf_counter())
result = cnnspec.analyze(graph)
t.append(time.perf_counter())
text = FORMATS["table"](result)
t.append(time.perf_counter())
names = ["import cnnspec", "import cnnspec.cli (click)", "import cnnspec.reports (tabulate)",
         "load_spec", "analyze", "render table"]
print(json.dumps(dict(zip(names, (b - a for a, b in zip(t, t[1:]))))))
"""


# ----------------------------------------------------------------------------------------------
# Timing helpers


@dataclass
class Timing:
    """Wall and CPU times of repeated runs; ``wall``/``cpu`` are the medians."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    output: str = ""

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def cpu(self) -> float | None:
        return statistics.median(self.cpus) if self.cpus else None

    def to_json(self) -> dict:
        return {"wall_s": self.wall, "cpu_s": self.cpu, "runs_wall_s": self.walls,
                "runs_cpu_s": self.cpus}


def time_calls(func, repeat: int, warmup: int = 1) -> Timing:
    """``func()`` ``repeat`` times after ``warmup`` untimed calls."""
    for _ in range(warmup):
        func()
    timing = Timing()
    for _ in range(repeat):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        func()
        timing.walls.append(time.perf_counter() - wall0)
        timing.cpus.append(time.process_time() - cpu0)
    return timing


def _children_cpu() -> float:
    if resource is None:
        return 0.0
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_process(argv: list[str], repeat: int, warmup: int = 1, env: dict | None = None) -> Timing:
    """A child process (spawn to exit), ``repeat`` times after ``warmup`` untimed runs."""
    return time_processes({"": (argv, env)}, repeat, warmup)[""]


def time_processes(commands: dict[str, tuple[list[str], dict | None]], repeat: int,
                   warmup: int = 1, ok_codes: tuple = (0,)) -> dict[str, Timing]:
    """Several commands (name: (argv, env)), their runs interleaved so that changing load on the
    machine affects them alike."""
    timings = {name: Timing() for name in commands}
    for i in range(warmup + repeat):
        for name, (argv, env) in commands.items():
            cpu0, wall0 = _children_cpu(), time.perf_counter()
            proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False,
                                  env=env)
            wall, cpu = time.perf_counter() - wall0, _children_cpu() - cpu0
            if proc.returncode not in ok_codes:
                raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr}")
            if i >= warmup:
                timings[name].walls.append(wall)
                if resource is not None:
                    timings[name].cpus.append(cpu)
                timings[name].output = proc.stdout
    return timings


def have_torchinfo() -> bool:
    try:
        import torch  # noqa: F401
        import torchinfo  # noqa: F401
    except ImportError:
        return False
    return True


def loadavg() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


# ----------------------------------------------------------------------------------------------
# The measurements


def bench_cli(args, results: dict) -> None:
    """(a) whole-process time of the CLI (and of the bare interpreter), runs interleaved."""
    vgg16 = str(SPECS["vgg16"])
    commands = {"python_startup": ([sys.executable, "-c", "pass"], None),
                "libraries_floor": ([sys.executable, "-c", "import yaml, click, tabulate"], None)}
    for name, spec in SPECS.items():
        commands[name] = ([sys.executable, "-m", "cnnspec", "analyze", str(spec)], None)
    script = Path(sys.executable).with_name("cnnspec")
    if script.exists():
        commands["console_script"] = ([str(script), "analyze", vgg16], None)
    with tempfile.TemporaryDirectory(prefix="cnnspec-bench-pyc-") as prefix:
        if os.environ.get("PYTHONDONTWRITEBYTECODE"):
            # This environment never writes .pyc files, so every run compiles cnnspec's sources
            # (site-packages were compiled at install). Also time it as a normal install runs:
            # with a bytecode cache, kept outside the source tree.
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env["PYTHONPYCACHEPREFIX"] = prefix
            commands["cnnspec_bytecode_cached"] = (commands["vgg16"][0], env)
        timings = time_processes(commands, args.repeat)
    results["python_startup"] = timings["python_startup"].to_json()
    results["libraries_floor"] = timings["libraries_floor"].to_json()
    rows = [{"network": name, "cnnspec": timings[name].to_json()} for name in SPECS]
    for extra in ("console_script", "cnnspec_bytecode_cached"):
        if extra in timings:
            rows[0][extra] = timings[extra].to_json()
    results["whole_process"] = rows


def bench_torchinfo_process(args, results: dict) -> None:
    """(a) whole-process time of torchinfo; run after all cnnspec measurements, since a torch
    process leaves the machine busy (freeing a large heap) for a while."""
    if not args.torchinfo:
        return
    for row in results["whole_process"]:
        timing = time_process([sys.executable, "-c", TORCHINFO_SNIPPET, str(SPECS[row["network"]])],
                              args.torch_repeat, warmup=0)
        row["torchinfo"] = timing.to_json()
        row["torchinfo_phases"] = json.loads(timing.output.strip().splitlines()[-1])
        row["ratio"] = row["torchinfo"]["wall_s"] / row["cnnspec"]["wall_s"]
        if row["cnnspec"]["cpu_s"]:
            row["ratio_cpu"] = row["torchinfo"]["cpu_s"] / row["cnnspec"]["cpu_s"]


# torchinfo on torchvision's own ResNet-152, as a torchinfo user runs it (torchvision imported).
TORCHVISION_SNIPPET = """
import json, time
t0 = time.perf_counter()
import torch, torchvision, torchinfo
t1 = time.perf_counter()
model = torchvision.models.resnet152()
t2 = time.perf_counter()
stats = torchinfo.summary(model, input_size=(1, 3, 224, 224), verbose=0)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "summary_s": t3 - t2,
                  "params": stats.total_params, "torch": torch.__version__,
                  "torchvision": torchvision.__version__}))
"""


def torchvision_python(args) -> str | None:
    """An interpreter that has torch, torchvision and torchinfo: --torchvision-python, else this
    one if it has them."""
    candidates = [args.torchvision_python] if args.torchvision_python else [sys.executable]
    for python in candidates:
        probe = subprocess.run([python, "-c", "import torch, torchvision, torchinfo"],
                               capture_output=True, check=False)
        if probe.returncode == 0:
            return python
    return None


def bench_torchvision_process(args, results: dict) -> None:
    """(a) torchinfo.summary on torchvision.models.resnet152 in a fresh process (the issue's
    comparison), beside cnnspec analyze specs/resnet152.yaml timed in the same stretch."""
    python = torchvision_python(args) if args.torchinfo or args.torchvision_python else None
    if python is None:
        return
    commands = {"torchvision": ([python, "-c", TORCHVISION_SNIPPET], None),
                "cnnspec": ([sys.executable, "-m", "cnnspec", "analyze", str(SPECS["resnet152"])], None)}
    timings = time_processes(commands, args.torch_repeat, warmup=0)
    phases = json.loads(timings["torchvision"].output.strip().splitlines()[-1])
    results["torchvision_resnet152"] = {
        "python": python, "torchinfo": timings["torchvision"].to_json(), "phases": phases,
        "cnnspec": timings["cnnspec"].to_json(),
        "ratio": timings["torchvision"].wall / timings["cnnspec"].wall}


def bench_imports(args, results: dict) -> None:
    """(e) does ``cnnspec analyze`` import torch? and which imports cost the most?"""
    spec = str(SPECS["vgg16"])
    out = time_process([sys.executable, "-c", MODULES_SNIPPET, spec], 1, warmup=0).output
    line = [ln for ln in out.splitlines() if ln.startswith("MODULES=")][-1]
    heavy = [m for m in line[len("MODULES="):].split(",") if m]
    results["heavy_modules_imported"] = heavy
    results["torch_imported"] = "torch" in heavy

    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "cnnspec", "analyze", spec],
                          cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          check=True)
    entries = []  # (cumulative us, self us, depth, module)
    for ln in proc.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", ln)
        if match:
            own, cum, indent, module = match.groups()
            entries.append((int(cum), int(own), len(indent) - 1, module))
    results["torch_in_importtime"] = any(m == "torch" or m.startswith("torch.")
                                         for _, _, _, m in entries)
    results["modules_imported"] = len(entries)
    top = sorted((e for e in entries if e[2] == 0), reverse=True)
    results["top_level_imports_ms"] = [(m, cum / 1000) for cum, _, _, m in top[:8]]
    results["all_imports_ms"] = sum(cum for cum, _, depth, _ in entries if depth == 0) / 1000
    by_self = sorted(entries, key=lambda e: e[1], reverse=True)
    results["top_self_imports_ms"] = [(m, own / 1000) for _, own, _, m in by_self[:8]]

    runs = []
    for _ in range(args.repeat):
        out = time_process([sys.executable, "-c", PHASES_SNIPPET, spec], 1, warmup=0).output
        runs.append(json.loads(out.strip().splitlines()[-1]))
    results["cli_phases_s"] = {name: statistics.median(run[name] for run in runs) for name in runs[0]}


def chain_yaml(layers: int) -> str:
    """A spec of ``layers`` layers: conv2d 3x3 padding 1 (8 -> 8 channels) and relu, alternating."""
    lines = [f"name: chain{layers}", "input: [8, 32, 32]", "layers:"]
    for _ in range(layers // 2):
        lines.append("  - conv2d: {out: 8, kernel: 3, padding: 1}")
        lines.append("  - relu")
    return "\n".join(lines) + "\n"


def bench_chain(args, results: dict) -> None:
    """(c) parse and analyze a 10,000-layer chain."""
    import cnnspec

    text = chain_yaml(CHAIN_LAYERS)
    graph = cnnspec.parse_spec(text)
    if len(graph.nodes) != CHAIN_LAYERS:
        raise RuntimeError(f"the chain has {len(graph.nodes)} layers, expected {CHAIN_LAYERS}")
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    parse = time_calls(lambda: cnnspec.parse_spec(text), args.chain_repeat, warmup=0)
    analyze = time_calls(lambda: cnnspec.analyze(graph), args.chain_repeat)
    # For information: PyYAML alone (plain dicts and lists, no positions, no cnnspec), the floor
    # under parse_spec.
    plain = time_calls(lambda: yaml.load(text, Loader=loader), args.chain_repeat, warmup=0)
    totals = cnnspec.analyze(graph).totals()
    # For information: the same with the cyclic garbage collector off (the target uses gc on).
    gc.disable()
    try:
        parse_nogc = time_calls(lambda: cnnspec.parse_spec(text), args.chain_repeat, warmup=0)
        plain_nogc = time_calls(lambda: yaml.load(text, Loader=loader), args.chain_repeat, warmup=0)
        analyze_nogc = time_calls(lambda: cnnspec.analyze(graph), args.chain_repeat, warmup=0)
    finally:
        gc.enable()
    results["chain"] = {"layers": CHAIN_LAYERS, "yaml_bytes": len(text),
                        "parse": parse.to_json(), "analyze": analyze.to_json(),
                        "total_s": parse.wall + analyze.wall,
                        "total_cpu_s": parse.cpu + analyze.cpu,
                        "parse_nogc": parse_nogc.to_json(), "analyze_nogc": analyze_nogc.to_json(),
                        "yaml_loader": loader.__name__, "yaml_only": plain.to_json(),
                        "yaml_only_nogc": plain_nogc.to_json(),
                        "params": totals["params"], "macs": totals["macs"]}
    if args.profile:
        profiles = []
        for label, func in (("parse_spec", lambda: cnnspec.parse_spec(text)),
                            ("analyze", lambda: cnnspec.analyze(graph))):
            profiler = cProfile.Profile()
            profiler.runcall(func)
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(15)
            profiles.append(f"--- cProfile of the chain's {label} (top 15 by own time) ---\n"
                            + stream.getvalue().strip())
        results["chain_profiles"] = profiles


def bench_resolution(args, results: dict) -> None:
    """(d) VGG-16 at 224x224 and 8192x8192, graph loaded once, analyze timed."""
    import cnnspec

    graph = cnnspec.load_spec(SPECS["vgg16"])
    small, big = (3, 224, 224), (3, 8192, 8192)
    # Interleave the two sizes so that drifting load hits both alike; each sample is the mean of
    # RESOLUTION_BATCH calls, since one call takes only about a millisecond.
    at_small, at_big = Timing(), Timing()
    for shape in (small, big):
        cnnspec.analyze(graph, shape)
    for _ in range(args.inproc_repeat):
        for shape, timing in ((small, at_small), (big, at_big)):
            cpu0, wall0 = time.process_time(), time.perf_counter()
            for _ in range(RESOLUTION_BATCH):
                cnnspec.analyze(graph, shape)
            timing.walls.append((time.perf_counter() - wall0) / RESOLUTION_BATCH)
            timing.cpus.append((time.process_time() - cpu0) / RESOLUTION_BATCH)
    results["resolution"] = {
        "224": at_small.to_json(), "8192": at_big.to_json(), "ratio": at_big.wall / at_small.wall,
        "ratio_fastest": min(at_big.walls) / min(at_small.walls),
        "ratio_cpu": at_big.cpu / at_small.cpu,
        "macs_224": cnnspec.analyze(graph, small).totals()["macs"],
        "macs_8192": cnnspec.analyze(graph, big).totals()["macs"],
    }


def bench_scaling(args, results: dict) -> None:
    """(f) EfficientNet-B0 and B7 (by --set width, depth, resolution): load + analyze."""
    import cnnspec

    b0 = time_calls(lambda: cnnspec.analyze(cnnspec.load_spec(EFFICIENTNET)), args.inproc_repeat)
    b7 = time_calls(lambda: cnnspec.analyze(cnnspec.load_spec(EFFICIENTNET, dict(B7))), args.inproc_repeat)
    layers = [len(cnnspec.load_spec(EFFICIENTNET, o).nodes) for o in ({}, dict(B7))]
    # What a user waits for: the command, B0 and B7 runs interleaved.
    command = [sys.executable, "-m", "cnnspec", "analyze", str(EFFICIENTNET)]
    sets = [arg for name, value in B7.items() for arg in ("--set", f"{name}={value}")]
    procs = time_processes({"b0": (command, None), "b7": (command + sets, None)}, args.repeat)
    results["scaling"] = {"b0": b0.to_json(), "b7": b7.to_json(), "layers": layers,
                          "ratio_in_process": b7.wall / b0.wall,
                          "per_layer_in_process": [b0.wall / layers[0], b7.wall / layers[1]],
                          "b0_process": procs["b0"].to_json(), "b7_process": procs["b7"].to_json(),
                          "ratio": procs["b7"].wall / procs["b0"].wall}


def bench_check(args, results: dict) -> None:
    """(g) ``cnnspec check`` over every shipped spec in one process (exit 1: they have findings)."""
    specs = sorted(str(p) for p in (REPO / "specs").glob("*.yaml"))
    command = [sys.executable, "-m", "cnnspec", "check", *specs]
    probe = subprocess.run(command + ["--format", "json"], cwd=REPO, capture_output=True, text=True,
                           check=False)
    summary = json.loads(probe.stdout)["summary"]
    floor = [sys.executable, "-c", "pass"]
    timings = time_processes({"check": (command, None), "floor": (floor, None)}, args.repeat,
                             ok_codes=(0, 1))
    each = Timing()
    for _ in range(max(1, args.repeat // 3)):
        cpu0, wall0 = _children_cpu(), time.perf_counter()
        for spec in specs:
            subprocess.run([sys.executable, "-m", "cnnspec", "analyze", spec], cwd=REPO,
                           capture_output=True, check=True)
        each.walls.append(time.perf_counter() - wall0)
        if resource is not None:
            each.cpus.append(_children_cpu() - cpu0)
    results["check"] = {"specs": len(specs), "findings": summary["findings"],
                        "by_severity": summary["by_severity"], "check": timings["check"].to_json(),
                        "floor": timings["floor"].to_json(), "analyze_each": each.to_json(),
                        "ratio_analyze_each": each.wall / timings["check"].wall}


def bench_in_process(args, results: dict) -> None:
    """(b) analyze(load_spec()) versus torchinfo.summary on a prebuilt model."""
    import cnnspec

    rows = []
    for name, spec in SPECS.items():
        timing = time_calls(lambda spec=spec: cnnspec.analyze(cnnspec.load_spec(spec)),
                            args.inproc_repeat)
        totals = cnnspec.analyze(cnnspec.load_spec(spec)).totals()
        rows.append({"network": name, "cnnspec": timing.to_json(), "cnnspec_params": totals["params"],
                     "cnnspec_macs": totals["macs"]})
    if args.torchinfo:
        import torch
        import torchinfo

        for row in rows:
            model = cnnspec.to_torch(cnnspec.load_spec(SPECS[row["network"]]))
            with torch.no_grad():
                timing = time_calls(
                    lambda model=model: torchinfo.summary(model, input_size=INPUT_SIZE, verbose=0),
                    args.torch_repeat)
                stats = torchinfo.summary(model, input_size=INPUT_SIZE, verbose=0)
            row["torchinfo"] = timing.to_json()
            row["torchinfo_params"] = stats.total_params
            row["torchinfo_macs"] = stats.total_mult_adds
            row["ratio"] = timing.wall / row["cnnspec"]["wall_s"]
            del model
    results["in_process"] = rows


# ----------------------------------------------------------------------------------------------
# Report


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def times(entry: dict | None) -> str:
    """'wall (cpu)' of a Timing's JSON."""
    if entry is None:
        return "-"
    return ms(entry["wall_s"]) + ("" if entry["cpu_s"] is None else f" ({ms(entry['cpu_s'])})")


def ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}x"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]
    fmt = "  ".join(("{:<%d}" if i == 0 else "{:>%d}") % w for i, w in enumerate(widths))
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join("    " + ln.rstrip() for ln in lines)


def verdict(ok: bool | None) -> str:
    return "SKIP" if ok is None else ("PASS" if ok else "FAIL")


def checks(results: dict) -> list[list[str]]:
    vgg = results["whole_process"][0]
    resnet = next(r for r in results["whole_process"] if r["network"] == "resnet152")
    tv = results.get("torchvision_resnet152")
    chain, res, scaling = results["chain"], results["resolution"], results["scaling"]
    lint = results["check"]
    speedup = vgg.get("ratio")
    floor_ratio = resnet["cnnspec"]["wall_s"] / results["libraries_floor"]["wall_s"]
    return [
        ["cnnspec analyze resnet152, whole process", f"< {RESNET152_TARGET_S} s",
         ms(resnet["cnnspec"]["wall_s"]), verdict(resnet["cnnspec"]["wall_s"] < RESNET152_TARGET_S)],
        ["torchinfo on torchvision's resnet152 / cnnspec, whole process", f">= {RESNET152_SPEEDUP:.0f}x",
         ratio(tv["ratio"]) if tv else "-",
         verdict(None if tv is None else tv["ratio"] >= RESNET152_SPEEDUP)],
        ["torchinfo on the cnnspec-built resnet152 / cnnspec, whole process", "(information)",
         ratio(resnet.get("ratio")), "-"],
        ["cnnspec analyze resnet152 / the libraries' floor (import yaml, click, tabulate), "
         "whole process", f"<= {FLOOR_TOLERANCE:.0f}x", f"{floor_ratio:.2f}x",
         verdict(floor_ratio <= FLOOR_TOLERANCE)],
        ["EfficientNet-B7 (--set) / B0, whole process", f"<= {SCALING_TOLERANCE:.0f}x",
         f"{scaling['ratio']:.2f}x", verdict(scaling["ratio"] <= SCALING_TOLERANCE)],
        ["EfficientNet-B7 (--set) / B0, load + analyze in process", f"<= {SCALING_TOLERANCE:.0f}x",
         f"{scaling['ratio_in_process']:.2f}x",
         verdict(scaling["ratio_in_process"] <= SCALING_TOLERANCE)],
        ["cnnspec analyze vgg16, whole process", f"< {CLI_TARGET_S} s", ms(vgg["cnnspec"]["wall_s"]),
         verdict(vgg["cnnspec"]["wall_s"] < CLI_TARGET_S)],
        ["torchinfo / cnnspec, whole process, vgg16", f">= {SPEEDUP_TARGET:.0f}x", ratio(speedup),
         verdict(None if speedup is None else speedup >= SPEEDUP_TARGET)],
        [f"{chain['layers']:,}-layer chain, parse + analyze", f"< {CHAIN_TARGET_S} s",
         ms(chain["total_s"]), verdict(chain["total_s"] < CHAIN_TARGET_S)],
        ["VGG-16 analyze time, 8192x8192 / 224x224", f"< {RESOLUTION_TOLERANCE}", f"{res['ratio']:.2f}",
         verdict(res["ratio"] < RESOLUTION_TOLERANCE)],
        [f"cnnspec check specs/*.yaml ({lint['specs']} specs), whole process", f"< {CHECK_TARGET_S} s",
         ms(lint["check"]["wall_s"]), verdict(lint["check"]["wall_s"] < CHECK_TARGET_S)],
        ["cnnspec analyze imports torch", "no", "yes" if results["torch_imported"] else "no",
         verdict(not results["torch_imported"])],
    ]


def report(results: dict) -> None:
    env = results["environment"]
    print(f"cnnspec {env['cnnspec']} ({env['git']}), Python {env['python']}, torch {env['torch']}, torchinfo "
          f"{env['torchinfo']}, libyaml {env['libyaml']}, {env['cpus']} CPUs, {env['platform']}")
    print(f"load average at start {env['loadavg']}, at end {results['loadavg_end']}; "
          f"repeats: processes {results['args']['repeat']}, in-process "
          f"{results['args']['inproc_repeat']}, torchinfo {results['args']['torch_repeat']}, chain "
          f"{results['args']['chain_repeat']}")
    if env["loadavg"] and env["cpus"] and env["loadavg"][0] > env["cpus"] / 2:
        print("WARNING: the machine was busy when the run started; wall times are inflated, "
              "CPU times less so")
    print("Times are medians, as 'wall (CPU)'; CPU time counts all threads, so can exceed wall.")

    print("\n(a) whole process: `python -m cnnspec analyze SPEC` versus a process that imports "
          "torch + torchinfo, builds the network and runs summary at 1x3x224x224")
    print(f"    interpreter floor, `python -c pass`: {times(results['python_startup'])}")
    print("    libraries' floor, `python -c \"import yaml, click, tabulate\"`: "
          f"{times(results['libraries_floor'])}")
    rows = []
    for r in results["whole_process"]:
        phases = r.get("torchinfo_phases")
        split = "-" if not phases else (f"{phases['import_s']:.2f} / {phases['build_s']:.2f} / "
                                        f"{phases['summary_s']:.2f} s")
        rows.append([r["network"], times(r["cnnspec"]), times(r.get("torchinfo")), split,
                     ratio(r.get("ratio")), ratio(r.get("ratio_cpu"))])
    print(table(["network", "cnnspec", "torchinfo", "torchinfo: import/build/summary",
                 "ratio", "ratio (CPU)"], rows))
    tv = results.get("torchvision_resnet152")
    if tv:
        ph = tv["phases"]
        print(f"    torchinfo.summary on torchvision.models.resnet152 (torch {ph['torch']}, torchvision "
              f"{ph['torchvision']}, {tv['python']}): {times(tv['torchinfo'])}, import/build/summary "
              f"{ph['import_s']:.2f} / {ph['build_s']:.2f} / {ph['summary_s']:.2f} s; cnnspec analyze "
              f"resnet152 in the same stretch {times(tv['cnnspec'])}: ratio {ratio(tv['ratio'])}")
    else:
        print("    torchinfo on torchvision's resnet152: skipped (no interpreter with torch, torchvision "
              "and torchinfo; give --torchvision-python)")
    vgg = results["whole_process"][0]
    if "console_script" in vgg:
        print(f"    vgg16 through the `cnnspec` console script: {times(vgg['console_script'])}")
    if "cnnspec_bytecode_cached" in vgg:
        print("    vgg16 with a bytecode cache (PYTHONDONTWRITEBYTECODE is set in this environment, "
              f"so the rows above compile cnnspec each run): {times(vgg['cnnspec_bytecode_cached'])}")

    print("\n(b) in process: analyze(load_spec(SPEC)) versus torchinfo.summary(model, "
          "input_size=(1, 3, 224, 224), verbose=0), model built beforehand")
    rows = []
    for r in results["in_process"]:
        same = "-" if "torchinfo_params" not in r else (
            "yes" if r["torchinfo_params"] == r["cnnspec_params"] else "NO")
        rows.append([r["network"], times(r["cnnspec"]), times(r.get("torchinfo")),
                     ratio(r.get("ratio")), f"{r['cnnspec_params']:,}", same])
    print(table(["network", "cnnspec", "torchinfo", "ratio", "params", "torchinfo agrees"], rows))
    for r in results["in_process"]:
        if "torchinfo_macs" in r:
            print(f"    {r['network']} MACs: cnnspec {r['cnnspec_macs']:,} (bias excluded, torchvision's "
                  f"convention), torchinfo {r['torchinfo_macs']:,} (bias adds included: "
                  f"{r['torchinfo_macs'] - r['cnnspec_macs']:+,})")

    c = results["chain"]
    print(f"\n(c) generated chain of {c['layers']:,} layers (conv2d 3x3 padding 1 + relu) on 8x32x32, "
          f"{c['yaml_bytes']:,} bytes of YAML")
    print(table(["step", "gc on (target)", "gc off (information)"], [
        ["parse_spec", times(c["parse"]), times(c["parse_nogc"])],
        ["analyze", times(c["analyze"]), times(c["analyze_nogc"])],
        ["total", f"{ms(c['total_s'])} ({ms(c['total_cpu_s'])})",
         ms(c["parse_nogc"]["wall_s"] + c["analyze_nogc"]["wall_s"])],
        [f"(yaml.load, {c['yaml_loader']}, alone)", times(c["yaml_only"]), times(c["yaml_only_nogc"])]]))

    d = results["resolution"]
    print(f"\n(d) VGG-16 analyze() at two input sizes (graph loaded once, interleaved samples of "
          f"{RESOLUTION_BATCH} calls each)")
    print(table(["input", "median", "fastest", "MACs"], [
        ["3x224x224", times(d["224"]), ms(min(d["224"]["runs_wall_s"])), f"{d['macs_224']:,}"],
        ["3x8192x8192", times(d["8192"]), ms(min(d["8192"]["runs_wall_s"])), f"{d['macs_8192']:,}"]]))
    print(f"    time ratio 8192 / 224: {d['ratio']:.2f} (medians; fastest samples "
          f"{d['ratio_fastest']:.2f}, CPU medians {d['ratio_cpu']:.2f})")

    f = results["scaling"]
    print(f"\n(f) EfficientNet by compound scaling: load_spec + analyze, B0 ({f['layers'][0]} layers) "
          f"versus B7 by --set width=2.0 depth=3.1 resolution=600 ({f['layers'][1]} layers)")
    print(table(["variant", "layers", "whole process (`cnnspec analyze`)", "in process",
                 "in process per layer"],
                [[name, f"{n:,}", times(f[f"{key}_process"]), times(f[key]), f"{per * 1e6:.0f} us"]
                 for name, key, n, per in zip(("B0", "B7"), ("b0", "b7"), f["layers"],
                                              f["per_layer_in_process"])]))
    print(f"    ratio B7 / B0: whole process {f['ratio']:.2f} (the target); in process "
          f"{f['ratio_in_process']:.2f}, for {f['layers'][1] / f['layers'][0]:.2f}x the layers "
          "(analysis time is linear in the layer count and independent of width and resolution)")

    g = results["check"]
    print(f"\n(g) `cnnspec check` over all {g['specs']} shipped specs in one process ({g['findings']} "
          f"findings: {g['by_severity']})")
    print(table(["run", "time"], [
        ["cnnspec check specs/*.yaml", times(g["check"])],
        ["interpreter floor, python -c pass", times(g["floor"])],
        [f"{g['specs']} x cnnspec analyze, one process each", times(g["analyze_each"])]]))
    print(f"    one check process is {g['ratio_analyze_each']:.1f}x faster than a process per spec")

    heavy = ", ".join(results["heavy_modules_imported"]) or "none"
    print("\n(e) `cnnspec analyze specs/vgg16.yaml` in a fresh process")
    agree = "agrees" if results["torch_in_importtime"] == results["torch_imported"] else "DISAGREES"
    print(f"    torch imported: {'yes' if results['torch_imported'] else 'no'} (sys.modules after "
          f"main(); -X importtime {agree}); of torch/torchinfo/numpy/sympy loaded: {heavy}")
    print("    phases in a fresh process (medians, wall):")
    for name, seconds in results["cli_phases_s"].items():
        print(f"      {seconds * 1000:7.1f} ms  {name}")
    print(f"    {results['modules_imported']} modules imported; under -X importtime (which inflates "
          f"them) the top-level imports add up to {results['all_imports_ms']:.0f} ms:")
    for module, cum in results["top_level_imports_ms"]:
        print(f"      {cum:7.1f} ms  {module}")
    print("    largest own import times (-X importtime, self):")
    for module, own in results["top_self_imports_ms"]:
        print(f"      {own:7.1f} ms  {module}")

    for profile in results.get("chain_profiles", []):
        print("\n" + profile)

    print("\nSummary")
    print(table(["target", "goal", "measured", "result"], results["checks"]))


def environment() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    import yaml

    import cnnspec

    def installed(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "not installed"

    return {"cnnspec": cnnspec.__version__, "python": platform.python_version(),
            "torch": installed("torch"), "torchinfo": installed("torchinfo"),
            "libyaml": "yes" if getattr(yaml, "__with_libyaml__", False) else "no",
            "cpus": os.cpu_count(), "platform": platform.platform(terse=True),
            "loadavg": loadavg(), "git": git_revision()}


def git_revision() -> str:
    """The commit measured, with '+changes' if cnnspec/ differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "cnnspec"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=None,
                        help="runs of each cnnspec whole-process measurement (default 10, quick 3)")
    parser.add_argument("--inproc-repeat", type=int, default=None,
                        help="runs of each in-process cnnspec measurement (default 30, quick 5)")
    parser.add_argument("--torch-repeat", type=int, default=None,
                        help="runs of each torchinfo measurement (default 3, quick 1)")
    parser.add_argument("--chain-repeat", type=int, default=None,
                        help="runs of the 10,000-layer chain (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (about 25 s)")
    parser.add_argument("--no-torch", action="store_true", help="skip the torchinfo comparisons")
    parser.add_argument("--torchvision-python", metavar="PYTHON",
                        help="an interpreter with torch, torchvision and torchinfo, for torchinfo on "
                             "torchvision's own resnet152 (default: this one, if it has them)")
    parser.add_argument("--profile", action="store_true",
                        help="also print a cProfile of the 10,000-layer chain's parse and analyze")
    parser.add_argument("--json", metavar="PATH", help="also write all figures as JSON to PATH")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    args = parser.parse_args(argv)
    defaults = {"repeat": (10, 3), "inproc_repeat": (30, 5), "torch_repeat": (3, 1),
                "chain_repeat": (3, 1)}
    for key, (full, quick) in defaults.items():
        if getattr(args, key) is None:
            setattr(args, key, quick if args.quick else full)
        elif getattr(args, key) < 1:
            parser.error(f"--{key.replace('_', '-')} must be at least 1")
    args.torchinfo = not args.no_torch and have_torchinfo()
    if not args.no_torch and not args.torchinfo:
        print("torch/torchinfo not installed: skipping the torchinfo comparisons "
              "(pip install -e .[bench])\n", file=sys.stderr)

    start = time.perf_counter()
    results: dict = {"environment": environment(), "args": {k: getattr(args, k) for k in defaults}}
    # cnnspec first (processes, then in process), torch last: a torch process leaves the machine
    # busy for a while, and (b) imports torch into this process.
    bench_cli(args, results)
    bench_imports(args, results)
    bench_chain(args, results)
    bench_resolution(args, results)
    bench_scaling(args, results)
    bench_check(args, results)
    bench_torchinfo_process(args, results)
    bench_torchvision_process(args, results)
    bench_in_process(args, results)
    results["loadavg_end"] = loadavg()
    results["checks"] = checks(results)

    report(results)
    results["wall_s"] = time.perf_counter() - start
    print(f"\nbenchmark wall time: {results['wall_s']:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    failed = any(check[-1] == "FAIL" for check in results["checks"])
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
