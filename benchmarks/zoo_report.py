"""The zoo benchmark's output: the per-model table (text and markdown), the summary per target,
the blocking errors by frequency and where the time goes."""

from __future__ import annotations

import re
from collections import Counter

from zoo_check import passed

TARGETS = (  # (suite, group, title) of each summary line
    ("torchvision", "cnn", "torchvision CNN classification"),
    ("torchvision", "segmentation", "torchvision segmentation"),
    ("torchvision", "transformer", "torchvision transformers (vit_*, swin_*, maxvit_t; apart)"),
    ("timm", "cnn", "timm CNNs"),
    ("torchvision", "extra", "torchvision, outside the lists"),
    ("timm", "extra", "timm, outside the list"),
)
STEPS = ("create", "reference", "import", "parse", "analyze", "built_make", "built_load",
         "built_forward", "emit", "exec", "emitted_make", "emitted_load", "emitted_forward")


def _ops(row: dict) -> str:
    """The unsupported operations by name: calls in all and the first module running one."""
    calls: dict[str, list] = {}
    for item in row.get("unsupported") or []:
        count = item[-1] if len(item) > 2 and isinstance(item[-1], int) else 1
        where = item[1] if len(item) > 2 else ""
        seen = calls.setdefault(str(item[0]), [0, where])
        seen[0] += count
    return ", ".join(f"{what} ×{n}" + (f" (first in `{where}`)" if where else "")
                     for what, (n, where) in calls.items())


def reason(row: dict) -> str:
    """The row's first failure in short ('' when every check holds)."""
    if row.get("unsupported"):
        return f"unsupported: {_ops(row)}"
    if "error" in row:
        return f"{row['step']}: {row['error']}"
    failed = [what for what, ok in (("params", row.get("params_ok")), ("MACs", row.get("macs_ok")))
              if not ok]
    for which in ("built", "emitted"):
        if row.get(f"{which}_load"):
            failed.append(f"{which} load: {row[f'{which}_load']}")
        elif not row.get(f"{which}_output", {}).get("ok"):
            failed.append(f"{which} output {_diff(row, which)}")
    return "; ".join(failed)


def verdict(row: dict) -> str:
    return "ok" if passed(row) else reason(row)


def _diff(row: dict, which: str) -> str:
    out = row.get(f"{which}_output") or {}
    if "why" in out:
        return out["why"]
    return f"max |diff| {out.get('max_diff', float('nan')):.3g} (scale {out.get('scale', 0):.3g})"


def _count_cell(row: dict, key: str, ok_key: str) -> str:
    if ok_key not in row:
        return "–"
    if row[ok_key]:
        return f"{row[key]:,}"
    ref = row[f"{key}_ref"] - (row.get("dropped_params", 0) if key == "params" else 0)
    return f"✗ {row[key]:,} (real {ref:,})"


def _check(row: dict, which: str) -> tuple[str, str]:
    if f"{which}_load" not in row:
        return "–", "–"
    if row[f"{which}_load"]:
        return "✗", "–"
    out = row.get(f"{which}_output") or {}
    return "✓", ("✓" if out.get("ok") else f"✗ {_diff(row, which)}") if out else "–"


def _cells(row: dict) -> list[str]:
    built_load, built_out = _check(row, "built")
    emitted_load, emitted_out = _check(row, "emitted")
    size = "×".join(str(d) for d in row["input"][1:]) if row.get("input") else "–"
    times = row.get("times", {})
    note = reason(row)
    if row.get("dropped"):
        names = ", ".join(d[0] for d in row["dropped"])
        note = f"{note}; " if note else ""
        note += f"dropped (never called): {names}"
    return [row["name"], size, "✓" if row.get("imported") else "✗",
            _count_cell(row, "params", "params_ok"), _count_cell(row, "macs", "macs_ok"),
            f"{built_load} / {emitted_load}", f"{built_out} / {emitted_out}",
            f"{times['import']:.2f}" if "import" in times else "–",
            f"{sum(times.values()):.1f}", note.replace("|", "\\|")]


HEADER = ["model", "input", "import", "params", "MACs", "strict load (built / emitted)",
          "output (built / emitted)", "import s", "all steps s", "first failure / note"]


def markdown(rows: list[dict]) -> str:
    """One markdown table per target."""
    parts = []
    for suite, group, title in TARGETS:
        chosen = [r for r in rows if (r["suite"], r["group"]) == (suite, group)]
        if not chosen:
            continue
        parts += [f"**{title}** ({len(chosen)} models)", "",
                  "| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        parts += ["| " + " | ".join(_cells(r)) + " |" for r in chosen]
        parts.append("")
    return "\n".join(parts)


def table(rows: list[dict]) -> str:
    """The plain-text table, one line per model."""
    lines = []
    widths = [28, 8, 6, 26, 30, 9, 9, 8, 6]
    lines.append("  ".join(h[:w].ljust(w) for h, w in zip(HEADER, widths)) + "  note")
    for row in rows:
        cells = _cells(row)
        cells[5] = cells[5].replace(" / ", "/")
        cells[6] = "/".join(c.split(" ")[0] for c in cells[6].split(" / "))
        lines.append("  ".join(c[:w].ljust(w) for c, w in zip(cells, widths)) + "  " + cells[-1][:160])
    return "\n".join(lines)


def _counts(chosen: list[dict]) -> str:
    n = len(chosen)
    tally = {
        "import": sum(bool(r.get("imported")) for r in chosen),
        "params exact": sum(bool(r.get("params_ok")) for r in chosen),
        "MACs exact": sum(bool(r.get("macs_ok")) for r in chosen),
        "built loads strictly": sum("built_load" in r and r["built_load"] is None for r in chosen),
        "emitted loads strictly": sum("emitted_load" in r and r["emitted_load"] is None for r in chosen),
        "outputs equal (both)": sum(bool(r.get("built_output", {}).get("ok")
                                         and r.get("emitted_output", {}).get("ok")) for r in chosen),
        "all checks": sum(passed(r) for r in chosen),
    }
    return ", ".join(f"{k} {v}/{n}" for k, v in tally.items())


def _blocker(row: dict) -> list[str]:
    """What stops the row, normalised so that models failing alike count together."""
    if row.get("unsupported"):
        return [f"unsupported {i[0]}" for i in row["unsupported"]]
    if "error" not in row:
        return [] if passed(row) else [reason(row).split(":")[0]]
    text = re.sub(r"^(\w+: )[\w.\[\]]+: ", r"\1", row["error"])  # the node or module path
    text = re.sub(r"\d+", "N", text)
    return [f"{row['step']}: {text[:110]}"]


def summary(rows: list[dict], wall: float) -> str:
    lines = [f"{len(rows)} models in {wall:.0f} s"]
    for suite, group, title in TARGETS:
        chosen = [r for r in rows if (r["suite"], r["group"]) == (suite, group)]
        if chosen:
            lines.append(f"{title} ({len(chosen)}): {_counts(chosen)}")
    for row in rows:
        if row["group"] == "transformer":
            lines.append(f"  {row['name']}: {'ok' if passed(row) else reason(row)[:200]}")
    blockers = Counter(b for r in rows for b in dict.fromkeys(_blocker(r)))
    if blockers:
        lines.append("what stops the models (models each):")
        lines += [f"  {n:3}  {b}" for b, n in blockers.most_common(15)]
    lines.append(timings(rows))
    return "\n".join(lines)


def timings(rows: list[dict], slowest: int = 8) -> str:
    """The total of each step over all models, and the slowest imports step by step."""
    totals = Counter()
    for row in rows:
        totals.update(row.get("times", {}))
    lines = ["time per step, summed over the models: " + ", ".join(
        f"{s} {totals[s]:.1f} s" for s in STEPS if s in totals)]
    ranked = sorted((r for r in rows if "import" in r.get("times", {})),
                    key=lambda r: -r["times"]["import"])[:slowest]
    lines.append("slowest imports (import step; then the others):")
    for row in ranked:
        times = row["times"]
        rest = ", ".join(f"{s} {times[s]:.2f}" for s in STEPS if s in times and s != "import")
        lines.append(f"  {row['name']:28} import {times['import']:.2f} s, {row.get('layers', '?')} layers;"
                     f" {rest}")
    return "\n".join(lines)
