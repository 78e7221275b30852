"""Settings: command-line flags > ``CUSTINV_*`` environment > ``./custinv.toml`` > defaults.

One pydantic model holds every knob that changes a number, so a run can state exactly how
it was computed (``Stocktake.settings``) and the cache can key on it.

``custinv.toml`` may hold the keys flat or grouped in tables (``[rfm]``, ``[clv]``, ...:
tables are only for readability and are flattened), plus a ``[map]`` table of
``field = "column"`` overrides, ``[status] used / excluded`` lists of status values,
``[cache] dir = "..."`` and ``[source] password = "..."`` (a database password: keep such a
file private)::

    currency = "CNY"
    [map]
    customer_id = "买家会员名"
    [classification]
    value_tiers = [0.7, 0.9]
"""

from __future__ import annotations

import codecs
import datetime as dt
import itertools
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from custinv.errors import ConfigError

#: Longest day windows and CLV horizon accepted: a century. Larger values are typos (and
#: overflow date arithmetic); they are refused when the settings are read, before any work.
MAX_DAYS = 36_500
MAX_HORIZON_MONTHS = 1_200
#: Dates custinv accepts for --as-of / --holdout: later ones overflow date arithmetic.
DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2999, 12, 31))
#: Dimensions --by can name (ingest.fields.DIMENSIONS; kept here so config stays import-light).
BY_DIMENSIONS = ("region", "country", "city", "industry", "channel", "segment", "owner")


def parse_setting_date(text: str, what: str) -> dt.date:
    """``YYYY-MM-DD`` (or ``today``) within :data:`DATE_RANGE`; ValueError with a plain message."""
    raw = text.strip()
    if raw.lower() == "today":
        return dt.date.today()
    try:
        day = dt.date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date (use YYYY-MM-DD or 'today')") from None
    if not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
        raise ValueError(f"{what} {text!r} is outside {DATE_RANGE[0]} … {DATE_RANGE[1]}")
    return day

CONFIG_FILE = "custinv.toml"
ENV_PREFIX = "CUSTINV_"

Period = Literal["month", "quarter", "week", "year"]


class Settings(BaseModel):
    """Every option of an audit. Field names are the config/env keys (``CUSTINV_AS_OF``...)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    # ---- reading
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    header_row: int | None = Field(default=None, ge=1)
    date_format: str | None = None
    mapping: dict[str, str] = Field(default_factory=dict)
    currency: str | None = None
    max_reject_rate: float = Field(default=0.10, ge=0, le=1)
    as_of: str | None = None  # None = latest used order date; "today"; or an ISO date
    customers_file: str | None = None
    tickets: str | None = None
    sla_hours: float = Field(default=48.0, gt=0, le=MAX_DAYS * 24)
    conversion_days: int = Field(default=90, ge=1, le=MAX_DAYS)
    cache_dir: str | None = None
    credit_note_ids: str | None = None  # regex of order ids that are credit notes (off by default)
    profile: str | None = None  # export profile name; None = recognised from the header; "none" = off
    status_used: list[str] = Field(default_factory=list)
    status_excluded: list[str] = Field(default_factory=list)
    strict: bool = False
    # database sources (custinv.ingest.sources): what to read, filters sent to the server, password
    query: str | None = None
    where: str | None = None
    since: str | None = None
    db_password: SecretStr | None = None  # CUSTINV_DB_PASSWORD or [source] password; never printed
    # the order-level engine (custinv.spark; [engine] name / spark_master / spark_remote / spark_conf)
    engine: Literal["polars", "spark"] = "polars"
    spark_master: str | None = None  # None: local[*]
    spark_remote: str | None = None  # Spark Connect, sc://host:15002 (else SPARK_REMOTE)
    spark_conf: dict[str, str] = Field(default_factory=dict)
    table: str | None = None  # a Spark catalog table as the input (--table db.orders)
    spark_rejects: str | None = None  # every rejected row as a Parquet dataset (a Spark path)

    # ---- classification
    high_frequency: float | None = Field(default=None, gt=0)
    value_method: Literal["abc", "quantile", "margin"] = "abc"
    value_tiers: tuple[float, float] | None = None  # None: the method's own (abc/margin 0.80,0.95; quantile 0.20,0.50)
    rfm_scheme: Literal["standard", "cn8"] = "standard"
    rfm_frequency: tuple[float, ...] | None = None
    new_days: int = Field(default=30, ge=1, le=MAX_DAYS)
    active_days: int = Field(default=90, ge=1, le=MAX_DAYS)
    churn_days: int | None = Field(default=None, ge=1, le=MAX_DAYS)
    loyal_min_orders: int = Field(default=3, ge=2)
    by: list[str] | None = None

    # ---- retention / trends
    period: Period = "month"
    periods: int = Field(default=12, ge=1, le=10_000)
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    top: int = Field(default=20, ge=1)

    # ---- CLV
    clv: bool = True
    model: Literal["auto", "nbd", "bgnbd", "mbgnbd", "paretonbd", "historical"] = "auto"
    time_unit: Literal["day", "week", "month"] = "week"
    horizon: int = Field(default=12, ge=1, le=MAX_HORIZON_MONTHS)
    discount_rate: float = Field(default=0.10, ge=0, lt=10)
    margin: float | None = Field(default=None, gt=0, le=1)  # None: from cost/margin column, else 0.30
    holdout: str | None = None
    penalizer: float = Field(default=0.0, ge=0, le=100)  # lifetimes' L2 penalizer_coef on the CLV fits

    # ---- scheduled runs
    alerts: list[str] = Field(default_factory=list)

    # ---- presentation
    lang: Literal["en", "zh"] = "en"
    pii: Literal["mask", "show", "hash"] = "mask"

    @field_validator("encoding")
    @classmethod
    def _known_text_encoding(cls, v: str | None) -> str | None:
        """A codec Python knows *and* that turns bytes into text (``rot13``, ``zip`` do not)."""
        if v is None:
            return None
        try:
            info = codecs.lookup(v.strip())
        except LookupError:
            raise ValueError(f"unknown encoding {v!r} (e.g. utf-8, gb18030, cp1252, utf-16)") from None
        if not getattr(info, "_is_text_encoding", True):
            raise ValueError(f"{v!r} is not a text encoding (e.g. utf-8, gb18030, cp1252, utf-16)")
        return v.strip()

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if v in ("tab", "\\t"):
            return "\t"
        if len(v) != 1 or v in ('"', "\n", "\r"):
            raise ValueError(f"delimiter {v!r} must be one character other than a quote or newline (or 'tab')")
        return v

    @field_validator("date_format")
    @classmethod
    def _a_date_format(cls, v: str | None) -> str | None:
        """A strptime format that can round-trip a date (``abc`` or ``%Q`` would reject every row)."""
        if v is None:
            return None
        sample = dt.datetime(2024, 3, 5)
        try:
            back = dt.datetime.strptime(sample.strftime(v), v)
        except ValueError:
            back = None
        if "%" not in v or back is None or back.date() != sample.date():
            raise ValueError(f"date format {v!r} cannot read a date; use strptime codes, e.g. '%d/%m/%Y'")
        return v

    @field_validator("credit_note_ids")
    @classmethod
    def _a_pattern(cls, v: str | None) -> str | None:
        if v is None or not v.strip():
            return None
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"credit-note pattern {v!r} is not a regular expression ({exc})") from None
        return v

    @field_validator("as_of", "holdout")
    @classmethod
    def _a_date(cls, v: str | None, info: Any) -> str | None:
        if v is not None:
            parse_setting_date(v, "--" + str(info.field_name).replace("_", "-"))
        return v

    @field_validator("rfm_frequency")
    @classmethod
    def _four_increasing(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if v is not None and (len(v) != 4 or any(b <= a for a, b in itertools.pairwise(v)) or v[0] < 0):
            raise ValueError("rfm frequency cuts must be four increasing order counts, e.g. 1,2,3,5")
        return v

    @field_validator("by")
    @classmethod
    def _known_dimensions(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        unknown = [d for d in v if d not in BY_DIMENSIONS]
        if unknown:
            raise ValueError(f"unknown dimension(s) {', '.join(map(repr, unknown))}; choose from {', '.join(BY_DIMENSIONS)}")
        return v

    @field_validator("value_tiers")
    @classmethod
    def _tiers_ordered(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is None:
            return None
        a, b = v
        if a > 1 or b > 1:  # allow percentages: 70,90
            a, b = a / 100, b / 100
        if not 0 < a < b < 1:
            raise ValueError("value tiers must be two increasing cut points in (0, 1), e.g. 0.8,0.95 or 80,95")
        return (a, b)

    def as_of_date(self) -> dt.date | None:
        """The explicit as-of date, or None to take the latest used order date."""
        if self.as_of is None:
            return None
        try:
            return parse_setting_date(self.as_of, "--as-of")
        except ValueError as exc:
            raise ConfigError(str(exc), hint="use YYYY-MM-DD or 'today'") from exc

    def number_settings(self) -> dict[str, Any]:
        """The knobs that decide numbers, as stated in the output (presentation excluded)."""
        stated = self.model_dump(mode="json", exclude={"lang", "pii", "cache_dir", "db_password", *_WHERE_IT_RUNS})
        if stated.get("table") is None:  # a catalog table is stated only when one was read
            stated.pop("table", None)
        return stated


_WHERE_IT_RUNS = ("engine", "spark_master", "spark_remote", "spark_conf", "spark_rejects")
"""Where the engine runs changes no number: not stated with the settings (the stocktake states
the engine that reduced the orders, ``settings.engine``, beside them)."""


def _flatten_toml(data: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key == "map":
            flat["mapping"] = value
        elif key == "status" and isinstance(value, dict):  # [status] used / excluded
            flat.update({f"status_{k}": v for k, v in value.items()})
        elif key == "source" and isinstance(value, dict):
            flat.update({("db_password" if k == "password" else k.replace("-", "_")): v for k, v in value.items()})
        elif key == "engine" and isinstance(value, dict):  # [engine] name = "spark", spark_conf = {...}
            flat.update({("engine" if k == "name" else k.replace("-", "_")): v for k, v in value.items()})
        elif key == "cache" and isinstance(value, dict):
            if "dir" in value:
                flat["cache_dir"] = value["dir"]
        elif isinstance(value, dict):
            flat.update(_flatten_toml(value))
        else:
            flat[key.replace("-", "_")] = value
    return flat


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's keys, flattened; any unreadable, non-UTF-8 or ill-typed file is exit 78."""
    try:
        with path.open("rb") as fh:
            flat = _flatten_toml(tomllib.load(fh))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}", hint="fix the TOML syntax") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})",
                          hint="save custinv.toml as UTF-8") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc
    mapping = flat.get("mapping")
    if mapping is not None and not (isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values())):
        raise ConfigError(f"{path}: [map] must be a table of field = \"column\" strings")
    if "cache_dir" in flat and not isinstance(flat["cache_dir"], str):
        raise ConfigError(f"{path}: [cache] dir must be a string")
    return flat


def read_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``CUSTINV_AS_OF=2024-06-30`` → ``{"as_of": "2024-06-30"}`` for every known key."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            continue
        if name in ("value_tiers", "rfm_frequency", "by", "status_used", "status_excluded"):
            out[name] = [p.strip() for p in raw.split(",") if p.strip()]
        elif name in ("mapping", "spark_conf"):
            out[name] = dict(p.split("=", 1) for p in raw.split(";") if "=" in p)
        else:
            out[name] = raw
    return out


def load_settings(
    flags: dict[str, Any],
    *,
    config_path: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Merge the layers. ``flags`` holds only options the user actually gave (no None)."""
    layers: dict[str, Any] = {}
    path = config_path or Path(CONFIG_FILE)
    if config_path is not None and not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if path.exists():
        layers.update(read_config_file(path))
    layers.update(read_environment(environ))
    file_env_mapping = dict(layers.get("mapping") or {})
    layers.update({k: v for k, v in flags.items() if v is not None})
    # --map overrides only the fields it names; the config file's other fields stay
    layers["mapping"] = {**file_env_mapping, **(flags.get("mapping") or {})}
    try:
        return Settings(**layers)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}", hint=f"check flags, {ENV_PREFIX}* variables and {CONFIG_FILE}") from exc
