"""The zoo benchmark: every torchvision classification and segmentation model and a list of timm
CNNs through ``cnnspec import``, each checked against the real module.

Per model: whether the import works (or its error: the unsupported operations when the
importer lists them), parameters and MACs exactly equal to the real module's (parameters
counted; MACs = ``FlopCounterMode`` FLOPs / 2 at the model's default input size, batch 1),
whether the real model's state_dict loads strictly into the model cnnspec builds
(``cnnspec.to_torch``) and into the one its emitted source defines, whether both compute the
real model's output on a seeded random input, and how long each step takes.

    /work/zoovenv/bin/python benchmarks/zoo.py                  # everything, 2 jobs
    /work/zoovenv/bin/python benchmarks/zoo.py --only resnet18 dla34 --profile
    /work/zoovenv/bin/python benchmarks/zoo.py --suite timm --json zoo.json --markdown

Each model runs in its own subprocess (``--timeout`` seconds at most), so a crash or a hang is
a row, not the end of the run. No weights are downloaded (torchvision ``weights=None``, timm
``pretrained=False``, an empty TORCH_HOME and HF_HOME, HF_HUB_OFFLINE=1). The cnnspec measured
is the one of this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for _path in (str(HERE), str(REPO)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from zoo_check import check_model, offline  # noqa: E402
from zoo_report import markdown, summary, table  # noqa: E402

MARK = "ZOO-ROW "


def _models(suites: list[str], only: list[str] | None) -> list[tuple[str, str, str]]:
    """(suite, group, name) of every model to run."""
    from zoo_models import timm_names, torchvision_names

    lists = {"torchvision": torchvision_names, "timm": timm_names}
    rows = [(suite, group, name) for suite in suites for group, name in lists[suite]()]
    if not only:
        return rows
    chosen = [r for r in rows if r[2] in only]
    missing = [n for n in only if n not in {r[2] for r in chosen}]
    if missing and len(suites) == 1:  # a name outside the lists, in the one suite asked for
        chosen += [(suites[0], "extra", n) for n in missing]
    elif missing:
        raise SystemExit(f"not in the zoo's lists: {', '.join(missing)} (name a --suite to run them)")
    return chosen


def _run_one(model: tuple[str, str, str], args) -> dict:
    suite, group, name = model
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", suite, group, name,
           "--threads", str(max(1, (os.cpu_count() or 1) // args.jobs))]
    if args.profile:
        cmd.append("--profile")
    start = time.perf_counter()
    base = {"suite": suite, "name": name, "group": group, "times": {}}
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        return {**base, "step": "timeout", "error": f"timed out after {args.timeout:g} s",
                "process_s": round(time.perf_counter() - start, 2)}
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARK)]
    if lines:
        row = json.loads(lines[-1][len(MARK):])
    else:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        row = {**base, "step": "crash", "error": f"worker exited with status {done.returncode}: {tail}"}
    row["process_s"] = round(time.perf_counter() - start, 2)
    return row


def _line(row: dict) -> str:
    from zoo_report import verdict

    total = sum(row.get("times", {}).values())
    return f"{row['suite']:11} {row['name']:32} {verdict(row):52.52} {total:7.1f} s"


def _worker(args) -> None:
    import warnings

    warnings.filterwarnings("ignore")
    import torch

    torch.set_num_threads(args.threads)
    suite, group, name = args.worker
    row = check_model(suite, name, group, profile=args.profile)
    print(MARK + json.dumps(row), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", metavar="NAME", help="only these models")
    parser.add_argument("--suite", choices=["torchvision", "timm", "all"], default="all")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write every row to PATH")
    parser.add_argument("--markdown", action="store_true", help="print the table for benchmarks/README.md")
    parser.add_argument("--timeout", type=float, default=900, metavar="S", help="seconds per model (900)")
    parser.add_argument("--jobs", type=int, default=2, metavar="N", help="models at a time (2)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the import step (printed for each model)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    offline()  # the workers inherit it
    if args.worker:
        _worker(args)
        return 0
    suites = ["torchvision", "timm"] if args.suite == "all" else [args.suite]
    models = _models(suites, args.only)
    print(f"{len(models)} models, {args.jobs} at a time, timeout {args.timeout:g} s", flush=True)
    start = time.perf_counter()
    found: dict[int, dict] = {}
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(_run_one, model, args): i for i, model in enumerate(models)}
        for future in as_completed(futures):
            row = found[futures[future]] = future.result()
            print(_line(row), flush=True)
            if args.profile and row.get("profile"):
                print(row["profile"])
    rows = [found[i] for i in range(len(models))]
    wall = time.perf_counter() - start
    print()
    print(table(rows))
    print()
    print(summary(rows, wall))
    if args.markdown:
        print()
        print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps({"wall_s": wall, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
