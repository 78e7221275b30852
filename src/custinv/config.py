"""Settings: command-line flags > ``CUSTINV_*`` environment > ``./custinv.toml`` > defaults.

One pydantic model holds every knob that changes a number, so a run can state exactly how
it was computed (``Stocktake.settings``) and the cache can key on it.

``custinv.toml`` may hold the keys flat or grouped in tables (``[rfm]``, ``[clv]``, ...:
tables are only for readability and are flattened), plus a ``[map]`` table of
``field = "column"`` overrides and ``[cache] dir = "..."``::

    currency = "CNY"
    [map]
    customer_id = "买家会员名"
    [classification]
    value_tiers = [0.7, 0.9]
"""

from __future__ import annotations

import datetime as dt
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from custinv.errors import ConfigError

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
    sla_hours: float = Field(default=48.0, gt=0)
    conversion_days: int = Field(default=90, ge=1)
    cache_dir: str | None = None

    # ---- classification
    high_frequency: float | None = Field(default=None, gt=0)
    value_method: Literal["abc", "quantile", "margin"] = "abc"
    value_tiers: tuple[float, float] | None = None  # None: the method's own (abc/margin 0.80,0.95; quantile 0.20,0.50)
    rfm_scheme: Literal["standard", "cn8"] = "standard"
    rfm_frequency: tuple[float, ...] | None = None
    new_days: int = Field(default=30, ge=1)
    active_days: int = Field(default=90, ge=1)
    churn_days: int | None = Field(default=None, ge=1)
    loyal_min_orders: int = Field(default=3, ge=2)
    by: list[str] | None = None

    # ---- retention / trends
    period: Period = "month"
    periods: int = Field(default=12, ge=1)
    fiscal_year_start: int = Field(default=1, ge=1, le=12)
    top: int = Field(default=20, ge=1)

    # ---- CLV
    clv: bool = True
    model: Literal["auto", "nbd", "bgnbd", "mbgnbd", "paretonbd", "historical"] = "auto"
    time_unit: Literal["day", "week", "month"] = "week"
    horizon: int = Field(default=12, ge=1)
    discount_rate: float = Field(default=0.10, ge=0, lt=10)
    margin: float | None = Field(default=None, gt=0, le=1)  # None: from cost/margin column, else 0.30
    holdout: str | None = None
    penalizer: float = Field(default=0.0, ge=0, le=100)  # lifetimes' L2 penalizer_coef on the CLV fits

    # ---- scheduled runs
    alerts: list[str] = Field(default_factory=list)

    # ---- presentation
    lang: Literal["en", "zh"] = "en"
    pii: Literal["mask", "show", "hash"] = "mask"

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
        if self.as_of.strip().lower() == "today":
            return dt.date.today()
        try:
            return dt.date.fromisoformat(self.as_of.strip())
        except ValueError as exc:
            raise ConfigError(f"--as-of {self.as_of!r} is not a date", hint="use YYYY-MM-DD or 'today'") from exc

    def number_settings(self) -> dict[str, Any]:
        """The knobs that decide numbers, as stated in the output (presentation excluded)."""
        return self.model_dump(mode="json", exclude={"lang", "pii", "cache_dir"})


def _flatten_toml(data: dict[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key == "map":
            flat["mapping"] = value
        elif key == "cache" and isinstance(value, dict):
            if "dir" in value:
                flat["cache_dir"] = value["dir"]
        elif isinstance(value, dict):
            flat.update(_flatten_toml(value))
        else:
            flat[key.replace("-", "_")] = value
    return flat


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return _flatten_toml(tomllib.load(fh))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}", hint="fix the TOML syntax") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror})") from exc


def read_environment(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """``CUSTINV_AS_OF=2024-06-30`` → ``{"as_of": "2024-06-30"}`` for every known key."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for name in Settings.model_fields:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is None or raw == "":
            continue
        if name in ("value_tiers", "rfm_frequency", "by"):
            out[name] = [p.strip() for p in raw.split(",") if p.strip()]
        elif name == "mapping":
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
