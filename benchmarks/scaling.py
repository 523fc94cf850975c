"""How the cost of resolving variables and block arguments grows with their number.

Resolution must be linear: doubling the number of vars (each referring to the one before) or
of a block's arguments must about double the time, not quadruple it. The script times
``cnnspec.parse_spec`` (parsing, resolution, expansion) in process, CPU time, best of
``--repeat`` runs, at n and 2n, and prints the ratio t(2n) / t(n):

    python benchmarks/scaling.py
    python benchmarks/scaling.py --repeat 5

A ratio near 2 is linear; quadratic resolution gives 4 (cnnspec before issue 10 took 9.9 s for
10,000 vars and 51.9 s for 20,000). One step is not: parsed expressions are cached (4,096 of
them), so past 4,096 distinct argument expressions the block's second instance parses them
again, and 3,000 -> 6,000 block arguments costs about 4x; each doubling after that is about 2x
again.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import cnnspec  # noqa: E402


def vars_chain(n: int, backward: bool = False) -> str:
    """n vars, each the one before plus one (``backward``: each the one after, so resolving
    the first walks a dependency chain n deep)."""
    if backward:
        body = "".join(f"  v{i}: v{i + 1} + 1\n" for i in range(n - 1)) + f"  v{n - 1}: 1\n"
    else:
        body = "  v0: 1\n" + "".join(f"  v{i}: v{i - 1} + 1\n" for i in range(1, n))
    return "input: [3, 8, 8]\nvars:\n" + body + "layers: [relu]\n"


def block_args(n: int) -> str:
    """A block with n arguments, each the one before plus one, used twice (once with a third of
    them given)."""
    args = "      a0: 1\n" + "".join(f"      a{i}: a{i - 1} + 1\n" for i in range(1, n))
    given = ", ".join(f"a{i}: 2" for i in range(0, n, 3))
    return ("input: [3, 8, 8]\nblocks:\n  b:\n    args:\n" + args + "    layers: [relu]\n"
            "layers:\n  - b\n  - b: {" + given + "}\n")


def layers_chain(n: int) -> str:
    pair = "  - conv2d: {out: 8, kernel: 3, padding: 1}\n  - relu\n"
    return "input: [8, 16, 16]\nlayers:\n" + pair * (n // 2)


CASES = [
    ("vars", vars_chain, (5_000, 10_000, 20_000, 40_000)),
    ("vars, dependency chain", lambda n: vars_chain(n, backward=True), (5_000, 10_000, 20_000, 40_000)),
    ("block arguments", block_args, (1_500, 3_000, 6_000, 12_000)),
    ("layers", layers_chain, (2_500, 5_000, 10_000)),
]


def best_time(text: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        cnnspec.parse_spec(text)
        best = min(best, time.process_time() - start)
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    worst = 0.0
    for name, make, sizes in CASES:
        times = [best_time(make(n), args.repeat) for n in sizes]
        cells = []
        for (n, t), (_, previous) in zip(zip(sizes, times), [(None, None), *zip(sizes, times)]):
            ratio = "" if previous is None else f" (x{t / previous:.2f})"
            if previous is not None:
                worst = max(worst, t / previous)
            cells.append(f"{n:,}: {t * 1000:.0f} ms{ratio}")
        print(f"{name:24s} " + ", ".join(cells))
    print(f"largest ratio t(2n)/t(n): {worst:.2f} (2 is linear, 4 quadratic)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
