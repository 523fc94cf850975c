"""Renderings: an analysis as table, Markdown, CSV or JSON; sizes; diffs; the spec format's
JSON Schema and layer reference."""

from cnnspec.reports.csv_report import render_csv
from cnnspec.reports.json_report import analysis_to_dict, render_json
from cnnspec.reports.table_report import render_markdown, render_table

FORMATS = {
    "table": render_table,
    "json": render_json,
    "markdown": render_markdown,
    "csv": render_csv,
}

__all__ = ["FORMATS", "analysis_to_dict", "render_csv", "render_json", "render_markdown",
           "render_table"]
