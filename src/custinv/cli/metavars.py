"""Metavars that teach: what to type after each option (``FIELD=COLUMN``, ``DATE``, the choices),
instead of the type name Typer would show (``<str>``, ``<list[str]>``).

One table, applied by :func:`teach` to every option the CLI declares (the shared option groups
and each command's own options), so ``--help`` reads the same in every command.
"""

from __future__ import annotations

import typing
from typing import Any

from typer.models import ArgumentInfo, OptionInfo

METAVARS: dict[str, str] = {
    # reading
    "files": "FILE...", "encoding": "ENCODING", "delimiter": "CHAR", "sheet": "NAME|N", "header_row": "LINE",
    "date_format": "FORMAT", "profile": "PLATFORM", "status_used": "STATUS", "status_excluded": "STATUS",
    "map_": "FIELD=COLUMN", "currency": "CODE", "as_of": "DATE|today", "max_reject_rate": "SHARE",
    "config": "PATH", "credit_note_ids": "REGEX", "cache_dir": "DIR",
    # classification
    "high_frequency": "ORDERS/YEAR", "value_method": "abc|quantile|margin", "value_tiers": "CUT,CUT",
    "rfm_scheme": "standard|cn8", "rfm_frequency": "CUT,CUT,CUT,CUT", "new_days": "DAYS", "active_days": "DAYS",
    "churn_days": "DAYS", "by": "DIMENSION", "top": "N",
    # trends and CLV
    "period": "month|quarter|week|year", "periods": "N", "fiscal_year_start": "MONTH",
    "model": "auto|bgnbd|paretonbd|historical", "time_unit": "week|day|month", "horizon": "MONTHS",
    "discount_rate": "RATE", "margin": "SHARE", "holdout": "DATE",
    # outputs
    "alert": "'KPI OP VALUE'", "rejects": "PATH.csv", "excel": "PATH.xlsx", "html": "PATH.html", "report_dir": "DIR",
    "keep": "N", "customers_out": "PATH", "pii": "mask|show|hash", "lang": "en|zh", "output": "PATH",
    # customer book and service
    "customers_file": "PATH", "conversion_days": "DAYS", "tickets": "PATH", "sla_hours": "HOURS",
    "snapshot": "DIR", "compare_with": "DIR",
    # engine
    "engine": "polars|spark", "spark_master": "MASTER", "spark_remote": "sc://HOST:PORT", "table": "DB.TABLE",
    "spark_rejects": "DIR",
}


def teach(name: str, annotation: Any) -> None:
    """Give the option or argument behind ``annotation`` (``Annotated[T, typer.Option(...)]``)
    its teaching metavar, unless it declares its own. Flags (bool) get none: they take no value."""
    if typing.get_origin(annotation) is not typing.Annotated:
        return
    base, *extras = typing.get_args(annotation)
    for info in extras:
        if isinstance(info, (OptionInfo, ArgumentInfo)) and info.metavar is None:
            if base is bool or base == typing.Optional[bool]:
                continue
            metavar = METAVARS.get(name)
            if metavar is not None:
                info.metavar = metavar
