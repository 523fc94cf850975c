"""Renderings: an analysis as table, Markdown, CSV or JSON; sizes; diffs; the graph drawn as
DOT, Mermaid or SVG; the spec format's JSON Schema and layer reference.

A renderer's module is imported when its format is first used, so the table of
``cnnspec analyze`` does not load the JSON and CSV writers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module

#: format -> (module of this package, its renderer)
_RENDERERS = {
    "table": ("table_report", "render_table"),
    "json": ("json_report", "render_json"),
    "markdown": ("md_graph", "render_markdown"),
    "csv": ("csv_report", "render_csv"),
}
_NAMES = {attr: module for module, attr in _RENDERERS.values()} | {"analysis_to_dict": "json_report"}


class _Formats(Mapping):
    """format name -> renderer function, each imported when asked for."""

    def __getitem__(self, name: str):
        module, attr = _RENDERERS[name]
        return getattr(import_module(f"{__name__}.{module}"), attr)

    def __iter__(self) -> Iterator[str]:
        return iter(_RENDERERS)

    def __len__(self) -> int:
        return len(_RENDERERS)


FORMATS = _Formats()


def __getattr__(name: str):
    if name in _NAMES:
        return getattr(import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "analysis_to_dict", "render_csv", "render_json", "render_markdown",
           "render_table"]
