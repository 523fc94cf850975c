"""Fuzz cnnspec with mutations of every shipped spec, in process.

Each case takes a spec from ``specs/``, mutates it (numbers to extremes and odd types, keys
deleted, duplicated or renamed, lists turned into mappings and back, strings with unicode and
control characters, deep nesting, YAML anchors, aliases and merge keys, expressions that are
costly or malicious, …), writes it to a temporary file and runs one command on it through
click's CliRunner: ``analyze`` (table or JSON), ``check`` (text, JSON or SARIF, alone or with the
original spec beside it), ``build`` (to source text; no torch), ``sizes`` or ``diff`` (against
the original). The commands rotate, so N cases are N command runs.

A run is a **traceback** when it ends with an exception other than a SystemExit 0, 1 or 2 (the
project's own errors become exit code 2), or when ``Traceback`` appears in its output. A run is
**slow** when it takes more than ``--slow`` seconds (default 2) of CPU time (``process_time``:
unlike wall time, barely disturbed by other work on a shared machine); runs over ``--slow``
seconds of wall time are counted too, and printed apart. A run that takes more than
``--timeout`` seconds (default 30) of wall time is interrupted (SIGALRM) and counted as slow.
The process runs under an address-space cap (``--memory``, default 4096 MB), so a case that
blows up memory ends in a MemoryError, counted as a traceback, rather than in the kernel's
out-of-memory killer ending the whole run.

    python benchmarks/fuzz.py --cases 10000 --seed 1
    python benchmarks/fuzz.py --cases 200 --seed 7 --save /tmp/fuzz-failures

At the end the script prints the counts, the slowest case, and that case's wall time and peak
memory re-measured in a fresh process (``python -m cnnspec …`` under getrusage). Exit status 1
when there was a traceback or a slow run. torch is never imported (checked at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SPECS = REPO / "specs"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from click.testing import CliRunner  # noqa: E402

from cnnspec.cli.main import main as cli  # noqa: E402

# ------------------------------------------------------------------------------ mutations

EXTREME_NUMBERS = [0, -1, 1, 2, 3, 7, 64, 1000, 65536, 10**6, 10**9, 2**31, 2**62, 2**62 + 1, 2**64,
                   -(10**9), 0.5, -0.5, 1.5, 1e-300, 1e300, 1e308, 3.0]
ODD_VALUES = [True, False, None, "", "x", [], {}, [1, 2, 3], {"a": 1}, "in_channels", "H",
              [None, None], [0, 0], [-1, 5], [10**9, 1]]
#: raw YAML tokens put in place of a number in the text (what YAML 1.1 reads oddly)
RAW_TOKENS = ["0x1F", "0o17", "017", "0b101", "1:30", "1_000", ".nan", ".inf", "-.inf", "1e400",
              "1.0e+400", "²", "٣", "1" * 25, "9" * 400, "9" * 5000, "-0", "+5", "0.", "1e5", "~",
              "!!str 3", "!!int '12'", "!!float '1e999'", "!!python/name:os.system", "&a 3", "*nope",
              "!!binary aGk=", "!!set {a}", "yes", "off", '"3"', "'3'", "[]", "{}", "null"]
EXPRESSIONS = ["round(8, -10**9)", "round(1.5, 10**9)", "(-8) ** 0.5", "9**9**9", "2**64", "10**18*10**18",
               "1/0", "1//0", "1%0", "__import__('os').system('true')", "().__class__", "x.y", "a[0]",
               "lambda: 1", "max()", "min(1)", "int(1e300)", "make_divisible(1, 0)",
               "make_divisible(1e18, 3)",
               "ceil(1e308)", "floor(-1e308)", "abs(-2**62)", "round(2**62 + 0.5)", "in_channels * 10**12",
               "-" * 300 + "1", "(" * 150 + "1" + ")" * 150, "1 +" * 200 + "1", "i" * 600, "width * 2",
               "make_divisible(32 * 1.25, 8)", "1e-320 * 1e-10", "2 ** -2000", "0.1 + 0.2", "H * W",
               "n", "i + 1", "{i}", "1,2", "1 if 1 else 2", "[1]", "'a'", "1 < 2", "not 1", "~1", "1 << 70"]
UNICODE = ["é", "ß", "²", "٣", "\u200b", "\u202e", "\ufeff", "𝟘", "🙂", "\x07", "\x1b[31m", "\t", "\r",
           "\n", "\u0000", "\\", '"', "'", "#", ":", "{", "}", "[", "]", "&", "*", "!", "|", ">", "%",
           "@", "`", ",", "- ", "? "]
KEY_NAMES = ["conv2d", "relu", "repeat", "residual", "branches", "sequential", "layers", "blocks", "vars",
             "input", "name", "from", "trainable", "times", "block", "args", "first", "names", "kernel",
             "stride", "padding", "dilation", "groups", "out", "in", "bias", "output_size", "scale", "size",
             "mode", "eps", "momentum", "p", "shortcut", "merge", "after", "paths", "lint", "select",
             "ignore",
             "thresholds", "severity", "max_macs", "max_params", "max_memory", "fail_on", "batch", "dtype",
             "normalize", "mean", "std", "x-anchor", "<<", "upsample", "adaptive_avgpool2d",
             "conv_transpose2d", "maxpool2d", "avgpool2d", "linear", "flatten", "dropout", "batchnorm2d",
             "squeeze_excitation", "concat", "add", "mul", "softmax", "global_avgpool", "identity"]
LAYER_ITEMS = [
    {"conv2d": {"out": 8, "kernel": 3}}, {"conv2d": {"out": 8, "kernel": 10**9, "padding": 5 * 10**8}},
    {"maxpool2d": {"kernel": 10**9, "padding": 5 * 10**8, "stride": 3}}, {"upsample": 2}, {"upsample": 1.5},
    {"upsample": {"size": [10**6, 10**6]}}, {"adaptive_avgpool2d": {"output_size": 10**8}},
    {"adaptive_avgpool2d": {"output_size": [None, 7]}},
    {"conv_transpose2d": {"out": 4, "kernel": 3, "stride": 10**9}},
    {"conv_transpose2d": {"out": 4, "kernel": 2, "stride": 2}},
    {"maxpool2d": {"kernel": 3, "stride": 2, "ceil_mode": True}},
    {"avgpool2d": 2}, "relu", "flatten", {"linear": {"out": 10}}, {"dropout": 0.5}, "batchnorm2d",
    {"repeat": {"times": 3, "layers": ["relu"]}}, {"repeat": {"times": 10**6, "layers": ["relu"]}},
    {"repeat": {"times": 3, "block": ["relu"]}}, {"repeat": {"times": 2, "block": {"x": 1}}},
    {"residual": {"layers": [{"conv2d": {"out": 16, "kernel": 3, "stride": 2, "padding": 1}}]}},
    {"branches": {"paths": [["relu"], [{"maxpool2d": 2}]]}}, {"concat": {"from": [-1, -2]}},
    {"add": {"from": [-1, "input"]}}, {"squeeze_excitation": {}}, {"softmax": 1}, "global_avgpool",
    {"sequential": {"layers": [{"sequential": {"layers": [{"sequential": {"layers": ["relu"]}}]}}]}},
]


def _paths(value, prefix=()):
    """Every (path, value) in a parsed document, containers included (iteratively: a mutation
    may have nested it thousands of levels deep)."""
    todo = [(prefix, value)]
    while todo:
        path, value = todo.pop()
        yield path, value
        if isinstance(value, dict):
            todo.extend(((*path, key), child) for key, child in value.items())
        elif isinstance(value, list):
            todo.extend(((*path, index), child) for index, child in enumerate(value))


def _get(doc, path):
    for step in path:
        doc = doc[step]
    return doc


def _set(doc, path, value):
    if not path:
        return value
    _get(doc, path[:-1])[path[-1]] = value
    return doc


def _random_string(rng: random.Random) -> str:
    parts = [rng.choice(UNICODE + KEY_NAMES + EXPRESSIONS) for _ in range(rng.randint(1, 4))]
    text = "".join(parts)
    if rng.random() < 0.05:
        text = text * rng.choice([100, 10_000])
    return text


def _random_value(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(EXTREME_NUMBERS)
    if roll < 0.5:
        return rng.choice(ODD_VALUES)
    if roll < 0.7:
        return rng.choice(EXPRESSIONS)
    if roll < 0.8:
        return _random_string(rng)
    if roll < 0.9 and depth < 3:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    if depth < 3:
        return {rng.choice(KEY_NAMES): _random_value(rng, depth + 1) for _ in range(rng.randint(1, 3))}
    return rng.choice(LAYER_ITEMS)


def mutate_tree(doc, rng: random.Random):
    """One structural mutation of a parsed spec (returns the new document)."""
    nodes = list(_paths(doc))
    numbers = [(p, v) for p, v in nodes if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and rng.random() < 0.4:  # a number changed, often to one that still works
        path, value = rng.choice(numbers)
        new = rng.choice([value * rng.choice([2, 3, 10, 100, 1000]), value + rng.choice([-1, 1, 2]),
                          value // 2 if isinstance(value, int) else value / 2,
                          rng.choice(EXTREME_NUMBERS), rng.choice(EXTREME_NUMBERS)])
        return _set(doc, path, new)
    path, value = rng.choice(nodes)
    op = rng.randrange(12)
    if op == 0 and isinstance(value, (int, float)) and not isinstance(value, bool):
        return _set(doc, path, rng.choice(EXTREME_NUMBERS + ODD_VALUES[:4]))
    if op == 1 and path:  # delete this key or item
        parent = _get(doc, path[:-1])
        del parent[path[-1]]
        return doc
    if op == 2 and path and isinstance(path[-1], str):  # rename the key
        parent = _get(doc, path[:-1])
        new = rng.choice([rng.choice(KEY_NAMES), path[-1] + "x", path[-1][:-1], path[-1].upper(),
                          path[-1] + rng.choice(UNICODE), rng.choice([1, True, None, 1.5])])
        items = [(new if k == path[-1] else k, v) for k, v in parent.items()]
        parent.clear()
        parent.update(items)
        return doc
    if op == 3 and isinstance(value, list):  # list -> mapping
        return _set(doc, path, {str(i) if rng.random() < 0.5 else rng.choice(KEY_NAMES): v
                                for i, v in enumerate(value)})
    if op == 4 and isinstance(value, dict):  # mapping -> list
        return _set(doc, path, list(value.values()) if rng.random() < 0.5 else list(value.items()))
    if op == 5 and isinstance(value, str):
        return _set(doc, path, rng.choice([value + rng.choice(UNICODE), rng.choice(EXPRESSIONS),
                                           _random_string(rng), value * rng.choice([2, 50, 3000])]))
    if op == 6:  # deep nesting
        wrapped = value
        for _ in range(rng.choice([5, 70, 300, 2000])):
            wrapped = [wrapped] if rng.random() < 0.5 else {"sequential": {"layers": [wrapped]}}
        return _set(doc, path, wrapped)
    if op == 7 and isinstance(value, list):  # insert a random layer or value
        value.insert(rng.randint(0, len(value)), rng.choice(LAYER_ITEMS) if rng.random() < 0.7
                     else _random_value(rng))
        return doc
    if op == 8 and isinstance(value, dict):  # add a random setting
        value[rng.choice(KEY_NAMES)] = _random_value(rng)
        return doc
    if op == 9 and isinstance(doc, dict):  # input / vars / lint
        key = rng.choice(["input", "vars", "lint", "normalize", "blocks"])
        doc[key] = rng.choice([
            [3, "H", "W"], [1], [3, 0, 0], [3, 10**9, 10**9], [3, 1, 1], [3, 2**62, 1], "3x224x224",
            {f"v{i}": f"v{i + 1} + 1" for i in range(rng.choice([10, 3000]))} | {"v3000": 1, "v10": 1},
            {"max_macs": "1" + " " * rng.choice([10, 5000]) + "x", "select": ["ALL"] * rng.choice([1, 5000])},
            {"thresholds": {"fc_share": rng.choice([float("nan"), -1, 10**400 // 10**399, "x"])}},
            {"mean": [float("nan")], "std": [0]}, _random_value(rng)])
        return doc
    if op == 10 and isinstance(value, list) and value:  # duplicate items
        value.extend(value[: rng.choice([1, 5, 50])] * rng.choice([1, 10, 200]))
        return doc
    return _set(doc, path, _random_value(rng)) if path else doc


def mutate_text(text: str, rng: random.Random) -> str:
    """One textual mutation: what a parsed document cannot say (duplicate keys, anchors and
    merges, raw YAML tokens, broken syntax, control characters)."""
    lines = text.splitlines()
    op = rng.randrange(9)
    if op == 0 and lines:  # duplicate a line (a duplicate key or list item)
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == 1:  # a raw token in place of a number
        numbers = list(re.finditer(r"(?<=[\s\[,{:])-?\d+(?:\.\d+)?(?=[\s,\]}]|$)", text))
        if numbers:
            m = rng.choice(numbers)
            return text[:m.start()] + rng.choice(RAW_TOKENS) + text[m.end():]
    elif op == 2:  # a merge bomb or an alias bomb at the top
        depth = rng.choice([5, 20, 30])
        chunk = "&a0 {k0: 1}"
        for i in range(1, depth):
            chunk = f"&a{i} {{<<: [{chunk}, *a{i - 1}], z{i}: {i}}}"
        bomb = "[" + ", ".join(["*l"] * 9) + "]"
        extra = rng.choice([f"x-m: {chunk}", "x-l: &l [relu, relu, relu]\nx-l2: &l2 " + bomb,
                            "x-d: &d {out: 8, kernel: 3}\nx-e: {<<: [*d, *d, {out: 9}], kernel: 5}"])
        lines.insert(0, extra)
    elif op == 3 and lines:  # merge a mapping into a layer's settings
        i = rng.randrange(len(lines))
        lines.insert(0, "x-defaults: &defaults {kernel: 3, padding: 1, out: 8}")
        lines[i + 1] = re.sub(r"\{", "{<<: *defaults, ", lines[i + 1], count=1)
    elif op == 4 and lines:  # control / unicode characters
        i = rng.randrange(len(lines))
        j = rng.randint(0, len(lines[i]))
        lines[i] = lines[i][:j] + rng.choice(UNICODE) + lines[i][j:]
    elif op == 5:  # truncate
        return text[: rng.randint(0, len(text))]
    elif op == 6 and lines:  # re-indent a line
        i = rng.randrange(len(lines))
        lines[i] = " " * rng.choice([0, 1, 3, 8]) + lines[i].lstrip()
    elif op == 7:  # an anchor and alias reused many times under layers
        lines.insert(0, "x-b: &b [conv2d: {out: 4, kernel: 1}, relu]")
        text = "\n".join(lines)
        return text.replace("layers:\n", "layers:\n  - sequential: {layers: *b}\n" * rng.choice([1, 3]), 1)
    elif op == 8:  # a long line of flow items
        lines.append("x-long: [" + ",".join(["1"] * rng.choice([10, 100_000])) + "]")
    return "\n".join(lines) + "\n"


def make_case(rng: random.Random, originals: dict) -> tuple[str, str]:
    """(spec name, mutated text)."""
    name = rng.choice(sorted(originals))
    text = originals[name]
    if rng.random() < 0.75:
        doc = yaml.safe_load(text)
        for _ in range(rng.choice([1, 1, 2, 3])):
            doc = mutate_tree(doc, rng)
        try:
            text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=rng.random() < 0.5, width=100)
        except (yaml.YAMLError, RecursionError, ValueError):
            text = originals[name]
    if rng.random() < 0.5:
        for _ in range(rng.choice([1, 1, 2])):
            text = mutate_text(text, rng)
    return name, text


# ------------------------------------------------------------------------------ running

COMMANDS = [
    ("analyze", lambda f, o: ["analyze", f]),
    ("analyze-json", lambda f, o: ["analyze", f, "--format", "json"]),
    ("check", lambda f, o: ["check", "--isolated", f]),
    ("check-sarif", lambda f, o: ["check", "--isolated", "--format", "sarif", f, o]),
    ("check-json-budget", lambda f, o: ["check", "--isolated", "--format", "json", "--max-macs", "4G", f]),
    ("build", lambda f, o: ["build", f]),
    ("sizes", lambda f, o: ["sizes", f, "--near", "100"]),
    ("diff", lambda f, o: ["diff", o, f]),
    ("diff-markdown", lambda f, o: ["diff", f, o, "--format", "markdown"]),
]


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout


@dataclass
class Report:
    cases: int = 0
    tracebacks: list = field(default_factory=list)
    slow: list = field(default_factory=list)
    slow_wall: list = field(default_factory=list)
    exit_codes: dict = field(default_factory=dict)
    by_command: dict = field(default_factory=dict)
    slowest: tuple = (0.0, None, None, None)   # seconds, command, args, text

    def summary(self) -> dict:
        return {"cases": self.cases, "tracebacks": len(self.tracebacks), "slow_cpu": len(self.slow),
                "slow_wall": len(self.slow_wall),
                "exit_codes": dict(sorted(self.exit_codes.items(), key=str)),
                "by_command": self.by_command,
                "slowest": {"cpu_seconds": round(self.slowest[0], 3), "command": self.slowest[1]}}


def run_case(runner: CliRunner, args: list[str], timeout: float):
    """(exit code or 'timeout', CPU seconds, wall seconds, the exception if it is a traceback,
    output)."""
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    start, cpu = time.perf_counter(), time.process_time()
    try:
        result = runner.invoke(cli, args, catch_exceptions=True)
    except _Timeout:
        return "timeout", time.process_time() - cpu, time.perf_counter() - start, None, ""
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    seconds, wall = time.process_time() - cpu, time.perf_counter() - start
    output = (result.stdout or "") + (result.stderr or "")
    exc = result.exception
    if isinstance(exc, _Timeout):
        return "timeout", seconds, wall, None, output
    bad = None
    if exc is not None and not (isinstance(exc, SystemExit) and result.exit_code in (0, 1, 2)):
        bad = exc
    elif "Traceback (most recent call last)" in output:
        bad = RuntimeError("a traceback was printed")
    return result.exit_code, seconds, wall, bad, output


def fuzz(cases: int, seed: int, slow: float = 2.0, timeout: float = 30.0, save: Path | None = None,
         progress: bool = False) -> Report:
    rng = random.Random(seed)
    originals = {p.stem: p.read_text(encoding="utf-8") for p in sorted(SPECS.glob("*.yaml"))}
    report = Report()
    runner = CliRunner()
    with tempfile.TemporaryDirectory(prefix="cnnspec-fuzz-") as tmp:
        folder = Path(tmp)
        for case in range(cases):
            name, text = make_case(rng, originals)
            command, build_args = COMMANDS[case % len(COMMANDS)]
            spec = folder / f"{name}.yaml"
            original = folder / "original" / f"{name}.yaml"
            original.parent.mkdir(exist_ok=True)
            original.write_text(originals[name], encoding="utf-8")
            spec.write_text(text, encoding="utf-8", errors="surrogatepass")
            args = build_args(str(spec), str(original))
            code, seconds, wall, bad, output = run_case(runner, args, timeout)
            report.cases += 1
            report.exit_codes[code] = report.exit_codes.get(code, 0) + 1
            stats = report.by_command.setdefault(command, {"runs": 0, "seconds": 0.0})
            stats["runs"] += 1
            stats["seconds"] = round(stats["seconds"] + seconds, 3)
            if seconds > report.slowest[0]:
                report.slowest = (seconds, command, args, text)
            problem = None
            if bad is not None:
                report.tracebacks.append((case, command, repr(bad)[:300]))
                problem = "traceback"
            if code == "timeout" or seconds > slow:
                report.slow.append((case, command, round(seconds, 2)))
                problem = problem or "slow"
            if wall > slow:
                report.slow_wall.append((case, command, round(wall, 2), round(seconds, 2)))
            if problem and save is not None:
                save.mkdir(parents=True, exist_ok=True)
                (save / f"case{case:06d}-{problem}-{command}.yaml").write_text(
                    f"# cnnspec {' '.join(a if a != str(spec) else 'SPEC' for a in args)}\n"
                    f"# {seconds:.2f} s, exit {code}, {repr(bad)[:200] if bad else ''}\n" + text,
                    encoding="utf-8", errors="surrogatepass")
            if progress and (case + 1) % 500 == 0:
                print(f"  {case + 1:,} cases, {len(report.tracebacks)} tracebacks, {len(report.slow)} slow",
                      file=sys.stderr, flush=True)
    return report


def remeasure(command: str, args: list[str], text: str) -> dict:
    """The slowest case again, in a fresh process: wall time and peak RSS (getrusage)."""
    with tempfile.TemporaryDirectory(prefix="cnnspec-fuzz-") as tmp:
        folder = Path(tmp)
        spec = folder / "spec.yaml"
        spec.write_text(text, encoding="utf-8", errors="surrogatepass")
        new_args = [str(spec) if a.endswith(".yaml") and "original" not in a else a for a in args]
        for i, a in enumerate(args):
            if "original" in a:
                target = folder / "original.yaml"
                target.write_text(Path(a).read_text(encoding="utf-8") if Path(a).exists()
                                  else (SPECS / Path(a).name).read_text(encoding="utf-8"), encoding="utf-8")
                new_args[i] = str(target)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        # a small wrapper process runs the command and reads its child's peak RSS: a child
        # forked from this (large) process would count this process's pages as its own
        wrapper = ("import json, resource, subprocess, sys, time\n"
                   "start = time.perf_counter()\n"
                   "code = subprocess.run([sys.executable, '-m', 'cnnspec', *sys.argv[1:]],"
                   " capture_output=True).returncode\n"
                   "seconds = time.perf_counter() - start\n"
                   "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024\n"
                   "print(json.dumps({'seconds': round(seconds, 3), 'peak_rss_mb': round(peak, 1),"
                   " 'exit': code}))\n")
        proc = subprocess.run([sys.executable, "-c", wrapper, *new_args], capture_output=True,
                              text=True, env=env, timeout=300)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000, help="command runs (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--slow", type=float, default=2.0, help="a run over this many seconds is slow")
    parser.add_argument("--timeout", type=float, default=30.0, help="interrupt a run after this many seconds")
    parser.add_argument("--save", type=Path, help="write every failing case's spec to this folder")
    parser.add_argument("--json", type=Path, help="also write the summary as JSON here")
    parser.add_argument("--memory", type=int, default=4096,
                        help="address-space cap in MB: a case that blows up memory raises MemoryError "
                             "(a traceback) instead of the kernel killing the run (default 4096)")
    args = parser.parse_args(argv)
    if args.memory:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (args.memory << 20, args.memory << 20))
    start = time.perf_counter()
    report = fuzz(args.cases, args.seed, args.slow, args.timeout, args.save, progress=True)
    elapsed = time.perf_counter() - start
    summary = report.summary()
    summary["seconds"] = round(elapsed, 1)
    summary["seed"] = args.seed
    if report.slowest[1] is not None:
        summary["slowest"]["fresh_process"] = remeasure(*report.slowest[1:])
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / "slowest.yaml").write_text(report.slowest[3], encoding="utf-8",
                                                    errors="surrogatepass")
        summary["slowest"]["args"] = ["SPEC" if a.endswith(".yaml") and "original" not in a else
                                      ("ORIGINAL" if "original" in a else a) for a in report.slowest[2]]
    summary["torch_imported"] = "torch" in sys.modules
    print(f"cases            {report.cases:,} (seed {args.seed}, {elapsed:.0f} s)")
    print(f"tracebacks       {len(report.tracebacks)}")
    print(f"runs over {args.slow:g} s   {len(report.slow)} of CPU time, {len(report.slow_wall)} of wall time")
    print(f"exit codes       {summary['exit_codes']}")
    print(f"slowest          {summary['slowest']}")
    for case, command, what in report.tracebacks[:20]:
        print(f"  traceback: case {case} {command}: {what}")
    for case, command, seconds in report.slow[:20]:
        print(f"  slow: case {case} {command}: {seconds} s of CPU time")
    for case, command, wall, seconds in report.slow_wall[:20]:
        print(f"  slow wall: case {case} {command}: {wall} s ({seconds} s of CPU time)")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 1 if report.tracebacks or report.slow or summary["torch_imported"] else 0


if __name__ == "__main__":
    sys.exit(main())
