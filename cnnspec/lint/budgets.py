"""Budgets: parameters, MACs and memory that a spec must stay within."""

from __future__ import annotations

from cnnspec.lint.context import Context, pct
from cnnspec.lint.rule import Finding, rule
from cnnspec.util.dims import to_int
from cnnspec.util.units import count, nbytes, ops


def _both(unit, value: int) -> str:
    """``25.6 M (25,557,032)``; just ``808`` when the two would read the same."""
    human = unit(value)
    same = human.replace(" ", "") in (str(value), f"{value}B", f"{value}MACs")
    return human if same else f"{human} ({value:,})"


def _over(ctx: Context, key: str, value, unit, what: str, verb: str = "exceed"):
    limit = ctx.budgets.get(key)
    value = to_int(value)
    if limit is None or value is None or value <= limit:
        return
    at = {"max_params": "", "max_macs": f" at batch {ctx.analysis.batch}",
          "max_memory": f" at batch {ctx.analysis.batch}, {ctx.analysis.dtype}"}[key]
    yield Finding(
        None,
        f"{what} {_both(unit, value)}{at} {verb} the budget of {_both(unit, limit)} by "
        f"{unit(value - limit)} ({pct(value - limit, limit)})",
        f"shrink the network, or raise {key.replace('_', '-')} if the budget is out of date",
        {"value": value, "budget": limit, "excess": value - limit})


@rule("CNN901", "params-budget", "error", "More parameters than the budget (--max-params)")
def params_budget(ctx: Context):
    yield from _over(ctx, "max_params", ctx.totals["params"], count, "the parameters")


@rule("CNN902", "macs-budget", "error", "More MACs than the budget (--max-macs)")
def macs_budget(ctx: Context):
    yield from _over(ctx, "max_macs", ctx.totals["macs"], ops, "the MACs")


@rule("CNN903", "memory-budget", "error",
      "More inference memory (parameters + peak activations) than the budget (--max-memory)")
def memory_budget(ctx: Context):
    totals = ctx.totals
    memory = to_int(totals["param_bytes"] + totals["peak_activation_bytes"])
    yield from _over(ctx, "max_memory", memory, nbytes,
                     "the inference memory (parameters + peak activations)", "exceeds")
