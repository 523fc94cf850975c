"""Lint configuration: ``[tool.cnnspec]`` in pyproject.toml, a spec's own ``lint:`` section and
the command line, merged in that order.

=================  ===========================================================================
key                meaning
=================  ===========================================================================
select             rules to run: codes, code prefixes, names or ALL (default ALL)
ignore             rules not to run (added to the project's by a spec)
severity           {rule: info | warning | error}
thresholds         {setting: value}, e.g. fc_share: 0.6, object_size: 96
fail_on            the least severity that makes ``check`` exit 1 (default warning)
max_params         budgets, with units: 25M, 4G, 2GiB, 1.5e9
max_macs
max_memory         parameter bytes + peak activation bytes, at the batch and dtype
batch, dtype       the batch and element type the budgets are checked at
paths              (pyproject only) where ``cnnspec check`` and ``pytest --cnnspec`` look
=================  ===========================================================================

Keys may be written with ``-`` or ``_`` (``fail-on``, ``max_params``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from cnnspec.errors import (
    Position,
    SpecError,
    SpecStructureError,
    UnknownNameError,
    UsageError,
    did_you_mean,
)
from cnnspec.frontend.source import LDict, read_source
from cnnspec.lint.diagnostic import SEVERITIES
from cnnspec.lint.quantity import MAX_QUANTITY_LENGTH, parse_quantity
from cnnspec.lint.registry import RULES, canonical_selector, default_settings
from cnnspec.util.dtypes import DTYPES

__all__ = ["BUDGETS", "DTYPES", "KEYS", "MAX_QUANTITY_LENGTH", "PROJECT_KEYS", "SETTINGS", "ConfigError",
           "LintSettings", "Setting", "find_pyproject", "parse_quantity", "project_settings",
           "settings_from_mapping", "spec_settings"]

BUDGETS = ("max_params", "max_macs", "max_memory")

@dataclass
class LintSettings:
    """A merged configuration. ``None`` means "not set here" while merging."""

    select: list | None = None
    ignore: list = field(default_factory=list)
    severity: dict = field(default_factory=dict)
    thresholds: dict = field(default_factory=dict)
    fail_on: str | None = None
    max_params: int | None = None
    max_macs: int | None = None
    max_memory: int | None = None
    batch: int | None = None
    dtype: str | None = None
    paths: list = field(default_factory=list)

    def merged(self, other: LintSettings | None) -> LintSettings:
        """These settings overridden by ``other``'s: a later select replaces, ignores add up,
        severities and thresholds are updated key by key, the rest replaced when set."""
        if other is None:
            return self
        out = replace(self)
        out.select = other.select if other.select is not None else self.select
        out.ignore = [*self.ignore, *other.ignore]
        out.severity = {**self.severity, **other.severity}
        out.thresholds = {**self.thresholds, **other.thresholds}
        for key in ("fail_on", *BUDGETS, "batch", "dtype"):
            if getattr(other, key) is not None:
                setattr(out, key, getattr(other, key))
        out.paths = other.paths or self.paths
        return out


class ConfigError(Exception):
    """A bad setting: the key path and what is wrong (the caller adds the position)."""

    def __init__(self, key: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.key, self.message, self.hint = key, message, hint


def _short(value, limit: int = 60) -> str:
    """A value as a message quotes it: at most ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _threshold(key: str, name: str, value, default):
    """A threshold's value, of the same kind as its default (a number; object_size: a size
    or [height, width])."""
    if name == "object_size":
        sizes = value if isinstance(value, list) else [value, value]
        if (len(sizes) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0
                                       for v in sizes)):
            raise ConfigError(key, "object_size must be a positive integer or [height, width], "
                              f"got {value!r}")
        return tuple(sizes)
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or value != value
            or value in (float("inf"), float("-inf")) or value < 0):
        raise ConfigError(key, f"{name} must be a non-negative number, got {value!r}")
    if isinstance(default, int) and not isinstance(default, bool):
        if not float(value).is_integer():
            raise ConfigError(key, f"{name} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def _is_text_list(value) -> bool:
    """Text, or a list of text (one text is a list of one)."""
    items = [value] if isinstance(value, str) else value
    return isinstance(items, list) and all(isinstance(i, str) for i in items)


def _as_list(key: str, value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _selectors(key: str, value) -> list:
    """select / ignore: every entry must name rules; each rule selector is kept once, as it
    is first spelt."""
    seen: dict = {}
    for item in _as_list(key, value):
        canonical = canonical_selector(item)
        if canonical is None:
            names = [r.name for r in RULES.values()] + list(RULES)
            raise ConfigError(key, f"{key}: no rule matches '{_short(item)}'",
                              did_you_mean(item[:100], names) or "see docs/rules.md for the codes")
        seen.setdefault(canonical, item)
    return list(seen.values())


def _severities(key: str, value: dict) -> dict:
    """{rule selector: severity}; the same rules spelt again: the later entry wins."""
    levels: dict = {}
    spelled: dict = {}
    for selector, level in value.items():
        canonical = canonical_selector(str(selector))
        if canonical is None:
            raise ConfigError(f"{key}.{selector}", f"severity: no rule matches '{_short(selector)}'")
        if level not in SEVERITIES:
            raise ConfigError(f"{key}.{selector}", f"severity must be one of "
                              f"{', '.join(SEVERITIES)}, got {_short(repr(level))}")
        if canonical in spelled:
            del levels[spelled[canonical]]
        spelled[canonical] = str(selector)
        levels[str(selector)] = level
    return levels


def _thresholds(key: str, value: dict) -> dict:
    """{setting: value}, each setting one a rule has, its value of the kind of its default."""
    known = default_settings()
    out: dict = {}
    for setting, setting_value in value.items():
        name = str(setting).replace("-", "_")
        if name not in known:
            raise ConfigError(f"{key}.{setting}", f"no rule has a threshold '{setting}'",
                              did_you_mean(name, known) or "thresholds: " + ", ".join(known))
        out[name] = _threshold(f"{key}.{setting}", name, setting_value, known[name])
    return out


def _budget(name: str) -> Callable[[str, object], int]:
    def read(key: str, value) -> int:
        try:
            return parse_quantity(value, name)
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None

    return read


def _is_positive_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and value >= 1


def _same(key: str, value):
    return value


@dataclass(frozen=True)
class Setting:
    """One row of the settings table: the setting's name, what kind of value it takes
    (``accepts``; None: any, ``read`` checks it), the message when the value is not of that
    kind (formatted with ``key``, as written, and ``value``), and how the value is read from
    the key and the value: its entries checked (raising ConfigError), as it is stored."""

    name: str
    accepts: Callable[[object], bool] | None = None
    message: str = ""
    read: Callable[[str, object], object] = _same


_TEXT_LIST = "{key} must be a list of text"

#: the settings, in the order messages list them; ``paths`` (the last) only in pyproject.toml
SETTINGS = (
    Setting("select", _is_text_list, _TEXT_LIST, _selectors),
    Setting("ignore", _is_text_list, _TEXT_LIST, _selectors),
    Setting("severity", lambda v: isinstance(v, dict), "severity must map rules to info, warning or error",
            _severities),
    Setting("thresholds", lambda v: isinstance(v, dict),
            "thresholds must be a mapping of setting names to values", _thresholds),
    Setting("fail_on", lambda v: v in SEVERITIES,
            f"fail_on must be one of {', '.join(SEVERITIES)}, got {{value!r}}"),
    *(Setting(name, read=_budget(name)) for name in BUDGETS),
    Setting("batch", _is_positive_int, "batch must be a positive integer, got {value!r}"),
    Setting("dtype", lambda v: v in DTYPES, f"dtype must be one of {', '.join(DTYPES)}, got {{value!r}}"),
    Setting("paths", _is_text_list, _TEXT_LIST, _as_list),
)
_BY_NAME = {row.name: row for row in SETTINGS}
PROJECT_KEYS = tuple(_BY_NAME)
KEYS = PROJECT_KEYS[:-1]


def settings_from_mapping(raw: dict, allowed=KEYS) -> LintSettings:
    """Read and validate a mapping of settings, each by its row of ``SETTINGS``; raises
    ConfigError naming the key."""
    out = LintSettings()
    for key, value in raw.items():
        row = _row(str(key), allowed)
        if row.accepts is not None and not row.accepts(value):
            raise ConfigError(str(key), row.message.format(key=key, value=value))
        setattr(out, row.name, row.read(str(key), value))
    return out


def _row(key: str, allowed) -> Setting:
    """The table row of a key as written (``-`` or ``_``), if the key is allowed here."""
    name = key.replace("-", "_")
    if name == "paths" and name not in allowed:
        raise ConfigError(key, "paths is a project setting",
                          "set it in [tool.cnnspec] of pyproject.toml, not in a spec")
    if name not in allowed:
        raise ConfigError(key, f"unknown lint setting '{key}'",
                          did_you_mean(name, allowed) or "settings: " + ", ".join(allowed))
    return _BY_NAME[name]  # (KEYS and PROJECT_KEYS are names of rows)


def spec_settings(raw, pos: Position) -> LintSettings:
    """A spec's ``lint:`` section, with errors at the offending key."""
    if not isinstance(raw, LDict):
        raise SpecStructureError("lint must be a mapping of settings", pos.at("lint"),
                                 hint="e.g. lint: {ignore: [CNN101], thresholds: {fc_share: 0.6}}")
    try:
        return settings_from_mapping(raw)
    except ConfigError as exc:
        head = exc.key.split(".", 1)[0]
        at = raw.value_position(head) if head in raw else raw.pos
        if "." in exc.key and isinstance(raw.get(head), LDict):
            inner = exc.key.split(".", 1)[1]
            at = raw[head].position(inner) if inner in raw[head] else at
        cls = UnknownNameError if exc.message.startswith("unknown") else SpecStructureError
        raise cls(exc.message, at.at(f"lint.{exc.key}"), hint=exc.hint) from None


# ------------------------------------------------------------------------------ pyproject.toml


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.cnnspec] table, from ``start`` upwards."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "cnnspec" in (_read_toml(candidate).get("tool") or {}):
            return candidate
    return None


_TOML_CACHE: dict = {}


def _read_toml(path: Path) -> dict:
    """A TOML file's content (cached while the file is unchanged)."""
    try:
        key = (str(path.resolve()), path.stat().st_mtime_ns)
    except OSError:
        key = None
    if key is not None and key in _TOML_CACHE:
        return _TOML_CACHE[key]
    _TOML_CACHE[key] = data = _load_toml(path)
    return data


def _load_toml(path: Path) -> dict:
    try:
        text = read_source(path, "it").decode("utf-8")
        data = tomllib.loads(text)
    except SpecError as exc:
        raise UsageError(f"{path}: {exc.message}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: cannot read it as TOML: it is not UTF-8 text (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path}: cannot read it as TOML: {exc}") from None
    tool = data.get("tool")
    if tool is not None and not isinstance(tool, dict):
        raise UsageError(f"{path}: 'tool' must be a table, got {type(tool).__name__}",
                         hint="write [tool.cnnspec] as a table header")
    return data


def project_settings(path: Path) -> LintSettings:
    """The [tool.cnnspec] table of a pyproject.toml."""
    key = (str(path.resolve()), path.stat().st_mtime_ns) if path.is_file() else None
    if key in _SETTINGS_CACHE:
        return _SETTINGS_CACHE[key]
    _SETTINGS_CACHE[key] = settings = _project_settings(path)
    return settings


_SETTINGS_CACHE: dict = {}


def _project_settings(path: Path) -> LintSettings:
    table = (_read_toml(path).get("tool") or {}).get("cnnspec")
    if table is None:
        raise UsageError(f"{path} has no [tool.cnnspec] table")
    if not isinstance(table, dict):
        raise UsageError(f"{path}: [tool.cnnspec] must be a table of settings, got "
                         f"{type(table).__name__} {table!r:.40}",
                         hint="write it as a table: [tool.cnnspec] followed by lines such as "
                              "fail-on = \"error\"")
    try:
        settings = settings_from_mapping(table, PROJECT_KEYS)
    except ConfigError as exc:
        raise UsageError(f"{path}: [tool.cnnspec] {exc.key}: {exc.message}", hint=exc.hint) from None
    settings.paths = [str(path.parent / p) for p in settings.paths]
    return settings
