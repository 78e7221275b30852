"""The renderer registry: for each view a command shows (an audit, its RFM, cohorts, churn or CLV
part, the per-customer rows, an inspection, a comparison, the profile list), each output format
(table, json, ndjson, csv, parquet) maps to the one function that writes it. Commands pick by
format here instead of hand-writing their own ``if format is ...`` branches.

A view without a writer of its own for a format answers with its JSON form (``rfm --format
ndjson`` prints the RFM JSON object, as it always has).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from rich.console import Console

    from custinv.analytics.retention import Measure
    from custinv.ingest.ledger import Ledger
    from custinv.ingest.profiles import Profile
    from custinv.models import Comparison, Stocktake
    from custinv.render.i18n import Lang
    from custinv.render.pii import PiiMode
    from custinv.stocktake import AuditResult

S = TypeVar("S")


@dataclass(frozen=True)
class RenderOptions:
    """What a renderer may need besides its subject (each view reads the fields it uses)."""

    lang: Lang = "en"
    pii: PiiMode = "mask"
    measure: Measure = "retention"  # cohorts: what the cells hold
    last: int = 24  # cohorts: rows in the table
    currency: str | None = None  # compare: the newer snapshot's currency
    output: Path | None = None  # customers: the file to write instead of stdout


Renderer = Callable[[S, RenderOptions], None]


@dataclass(frozen=True)
class View(Generic[S]):
    """One view's renderers by format; formats without one fall back to ``fallback``."""

    name: str
    renderers: Mapping[str, Renderer[S]]
    fallback: str | None = "json"

    def render(self, format: str, subject: S, options: RenderOptions | None = None) -> None:
        writer = self.renderers.get(format)
        if writer is None and self.fallback is not None:
            writer = self.renderers.get(self.fallback)
        if writer is None:
            raise ValueError(f"the {self.name} view has no {format} renderer")
        writer(subject, options or RenderOptions())


def print_json(payload: object) -> None:
    """The JSON form on stdout: indented, non-ASCII kept (Chinese labels and names stay readable)."""
    sys.stdout.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")


def only_sections(st: Stocktake, *sections: str) -> dict[str, Any]:
    """The contract object with the header, the source and only the named sections."""
    data = st.to_json_dict()
    keep = {"schema_version", "tool", "as_of", "currency", "source", "settings", "timings", *sections}
    return {k: v for k, v in data.items() if k in keep}


def _sections(*sections: str) -> Renderer[Stocktake]:
    """The JSON form of a command that shows part of a stocktake: :func:`only_sections`."""

    def write(st: Stocktake, o: RenderOptions) -> None:
        print_json(only_sections(st, *sections))

    return write


def _stdout() -> Console:
    from custinv.render.console import stdout_console

    return stdout_console()


# --- audit ---------------------------------------------------------------------------------

def _audit_table(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.console import render_stocktake

    render_stocktake(st, lang=o.lang, pii=o.pii)


def _audit_json(st: Stocktake, o: RenderOptions) -> None:
    print_json(st.to_json_dict())


def _audit_csv(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.tabular import print_stocktake_rows

    print_stocktake_rows(st, "csv")


def _audit_ndjson(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.tabular import print_stocktake_rows

    print_stocktake_rows(st, "ndjson")


AUDIT: View[Stocktake] = View("audit", {"table": _audit_table, "json": _audit_json, "csv": _audit_csv,
                                        "ndjson": _audit_ndjson})


# --- rfm -----------------------------------------------------------------------------------

def _rfm_table(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.console import render_rfm

    render_rfm(st, o.lang, _stdout())


def _rfm_csv(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.tabular import print_model_rows

    assert st.rfm is not None
    print_model_rows(st.rfm.segments)


RFM: View[Stocktake] = View("rfm", {"table": _rfm_table, "csv": _rfm_csv,
                                    "json": _sections("rfm", "value_tiers", "frequency_classes", "lifecycle")})


# --- cohorts -------------------------------------------------------------------------------

def _cohorts_table(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.console import render_cohorts

    render_cohorts(st, o.lang, _stdout(), measure=o.measure, last=o.last)


def _cohorts_csv(st: Stocktake, o: RenderOptions) -> None:
    from custinv.analytics.retention import cohort_matrix_frame

    assert st.retention is not None
    cohort_matrix_frame(st.retention, o.measure).write_csv(sys.stdout)


COHORTS: View[Stocktake] = View("cohorts", {"table": _cohorts_table, "csv": _cohorts_csv,
                                            "json": _sections("retention", "kpis_by_period")})


# --- churn ---------------------------------------------------------------------------------

def _churn_table(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.console import render_churn

    render_churn(st, o.lang, _stdout(), pii=o.pii)


def _churn_csv(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.tabular import print_model_rows

    assert st.churn is not None
    print_model_rows(st.churn.at_risk)


CHURN: View[Stocktake] = View("churn", {"table": _churn_table, "csv": _churn_csv,
                                        "json": _sections("kpis", "churn", "kpis_by_period", "alerts")})


# --- clv -----------------------------------------------------------------------------------

def _clv_table(st: Stocktake, o: RenderOptions) -> None:
    from custinv.render.console import render_clv

    render_clv(st, o.lang, _stdout(), pii=o.pii)


CLV: View[Stocktake] = View("clv", {"table": _clv_table, "json": _audit_json})


# --- customers -----------------------------------------------------------------------------

def _customers_preview(result: AuditResult, o: RenderOptions) -> None:
    """A person at a terminal: the top customers as a readable table."""
    from custinv.render.console import customer_preview

    console = _stdout()
    console.print(customer_preview(result.customers, o.lang, o.pii, console.width))


def _customer_writer(fmt: str) -> Renderer[AuditResult]:
    def write(result: AuditResult, o: RenderOptions) -> None:
        from custinv.render.tabular import customer_rows, write_rows

        write_rows(customer_rows(result), fmt, o.output)

    return write


CUSTOMERS: View[AuditResult] = View(
    "customers",
    {"table": _customers_preview, **{fmt: _customer_writer(fmt) for fmt in ("ndjson", "csv", "parquet", "json")}},
    fallback=None,
)


# --- inspect -------------------------------------------------------------------------------

def _inspect_table(ledger: Ledger, o: RenderOptions) -> None:
    from custinv.render.console import render_inspection

    render_inspection(ledger)


def _inspect_json(ledger: Ledger, o: RenderOptions) -> None:
    from custinv.render.tabular import inspection_dict

    print_json(inspection_dict(ledger))


INSPECT: View[Ledger] = View("inspect", {"table": _inspect_table, "json": _inspect_json})


# --- compare -------------------------------------------------------------------------------

def _compare_table(cmp: Comparison, o: RenderOptions) -> None:
    from custinv.render.compare import render_comparison

    render_comparison(cmp, o.lang, _stdout(), currency=o.currency)


def _compare_json(cmp: Comparison, o: RenderOptions) -> None:
    print_json(cmp.to_json_dict())


COMPARE: View[Comparison] = View("compare", {"table": _compare_table, "json": _compare_json}, fallback=None)


# --- profiles ------------------------------------------------------------------------------

def _profiles_json(profiles: tuple[Profile, ...], o: RenderOptions) -> None:
    print_json([
        {"name": p.name, "title": p.title, "signature": list(p.signature),
         "columns": {f: list(h) for f, h in p.columns.items()}, "sources": list(p.sources)}
        for p in profiles
    ])


def _profiles_table(profiles: tuple[Profile, ...], o: RenderOptions) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="export profiles", show_lines=False)
    for name in ("profile", "export", "recognised by"):
        table.add_column(name)
    for p in profiles:
        table.add_row(p.name, p.title, ", ".join(p.signature))
    Console().print(table)


PROFILES: View[tuple[Profile, ...]] = View("profiles", {"table": _profiles_table, "json": _profiles_json},
                                           fallback=None)
