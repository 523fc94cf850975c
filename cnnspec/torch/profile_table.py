"""``cnnspec profile``'s table: one row per layer, or per block with ``--depth``.

A block's row adds up its layers: time, FLOPs, bytes moved and roofline bounds (the layers run
one after the other, so the block's bound is the sum of theirs); achieved, FLOP/byte and "of
roofline" are the block's totals divided, and "bound by" is the ceiling that sets most of the
block's bound."""

from __future__ import annotations

from cnnspec.util import units
from cnnspec.util.names import prefix_groups

HEADERS = ["name", "type", "ms", "achieved", "bytes moved", "FLOP/byte", "bound by", "of roofline"]


def block_row(name: str, rows: list[dict]) -> dict:
    """The row of a block of layers (``rows``, as ``profile.render`` makes them)."""
    if len(rows) == 1:
        return {**rows[0], "name": name}
    seconds = sum(r["seconds"] for r in rows)
    flops = sum(r["flops"] for r in rows)
    moved = sum(r["bytes"] for r in rows)
    bound = sum(r["bound_seconds"] for r in rows)
    by_limit: dict[str, float] = {}
    for r in rows:
        if r["bound_by"] is not None:
            by_limit[r["bound_by"]] = by_limit.get(r["bound_by"], 0.0) + r["bound_seconds"]
    work = flops or moved
    return {
        "name": name, "type": f"{len(rows)} layers", "seconds": seconds, "flops": flops, "bytes": moved,
        "flops_per_s": flops / seconds if seconds else 0.0,
        "intensity": flops / moved if moved else 0.0,
        "bound_seconds": bound,
        "bound_by": max(by_limit, key=by_limit.get) if by_limit and work else None,
        "efficiency": bound / seconds if seconds and work else None,
    }


def table(rows: list[dict], depth: int = 0) -> str:
    from tabulate import tabulate

    shown = [block_row(key, members) for key, members in prefix_groups(rows, depth, lambda r: r["name"])]
    cells = [[r["name"], r["type"], f"{r['seconds'] * 1e3:.3f}",
              units.ops(int(r["flops_per_s"]), "FLOP/s"), units.nbytes(r["bytes"]),
              f"{r['intensity']:.1f}", r["bound_by"] or "-",
              "-" if r["efficiency"] is None else f"{100 * r['efficiency']:.0f}%"] for r in shown]
    return tabulate(cells, headers=HEADERS, tablefmt="simple", disable_numparse=True)
