"""cnnspec's version, and the version of the layout of its JSON outputs (analyze, sizes, diff,
check, verify, profile); a leaf, so reports and emitted files can name them without importing
the package's entry points."""

__version__ = "0.1.0"

#: bumped when a JSON output's layout changes (docs/output.md)
SCHEMA_VERSION = "1.1"
