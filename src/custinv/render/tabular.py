"""Machine outputs: the JSON Schema, per-customer rows (ndjson/csv/parquet/json) and the
flat forms of a stocktake (csv, ndjson) for pipelines."""

from __future__ import annotations

import csv
import io
import json
import sys
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from custinv.models import MONEY_DECIMALS

if TYPE_CHECKING:
    from custinv.ingest.fields import Mapping
    from custinv.ingest.ledger import Ledger
    from custinv.ingest.readers import RawTable
    from custinv.models import Stocktake
    from custinv.stocktake import AuditResult

SCHEMA_RESOURCE = "stocktake.schema.json"

MONEY_COLUMNS = ("revenue", "average_order_value", "clv", "clv_low", "clv_high", "spend_per_purchase", "expected_spend")
CUSTOMER_COLUMNS = (
    "customer_id", "first_order", "last_order", "orders", "revenue", "average_order_value", "recency_days",
    "tenure_days", "mean_interpurchase_days", "frequency_class", "value_tier", "r_score", "f_score", "m_score",
    "rfm_code", "rfm_segment", "lifecycle_stage", "p_alive", "p_alive_low", "p_alive_high", "expected_purchases",
    "expected_purchases_low", "expected_purchases_high", "p_purchase", "next_purchase_from", "next_purchase_to",
    "spend_per_purchase", "expected_spend", "clv", "clv_low", "clv_high",
)


def generated_schema() -> dict[str, Any]:
    """The JSON Schema of the contract, generated from the pydantic model."""
    from custinv.models import Stocktake

    schema = Stocktake.model_json_schema(by_alias=True, mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "custinv stocktake (schema_version 1)"
    return schema


def json_schema() -> dict[str, Any]:
    """The schema shipped in the package (kept equal to the model by a test)."""
    text = resources.files("custinv.data").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")
    return json.loads(text)


def customer_rows(result: AuditResult) -> pl.DataFrame:
    """Per-customer rows in the documented column order; columns a run did not compute are left out."""
    frame = result.customers
    money = [c for c in MONEY_COLUMNS if c in frame.columns]
    return frame.select([c for c in CUSTOMER_COLUMNS if c in frame.columns]).with_columns(
        pl.col(money).round(MONEY_DECIMALS)  # full precision inside; cents at the edge
    )


def write_rows(frame: pl.DataFrame, fmt: str, output: Path | None) -> None:
    """Stream rows to stdout, or write them atomically (0600: customer rows are personal data)."""
    if output is not None:
        from custinv.outputs import write_frame

        write_frame(frame, output, fmt, private=True)
        return
    from custinv.outputs import serialise_frame

    out = sys.stdout.buffer
    serialise_frame(frame, out, fmt)
    if fmt == "json":
        out.write(b"\n")
    out.flush()


def print_stocktake_rows(st: Stocktake, fmt: str) -> None:
    """`audit --format csv|ndjson`: the KPIs as rows (csv: kpi,value; ndjson: one object per section)."""
    data = st.to_json_dict()
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["kpi", "value"])
        writer.writerow(["as_of", data.get("as_of")])
        writer.writerow(["currency", data.get("currency")])
        for key, value in (data.get("kpis") or {}).items():
            writer.writerow([key, "" if value is None else value])
        sys.stdout.write(buf.getvalue())
    else:
        for key, value in data.items():
            sys.stdout.write(json.dumps({"section": key, "data": value}, ensure_ascii=False) + "\n")


def print_model_rows(rows: list[Any]) -> None:
    """A list of pydantic rows as CSV on stdout (formula-looking text neutralised)."""
    from custinv.outputs import neutralise_formulas

    records = [r.model_dump(mode="json", by_alias=True) for r in rows]
    frame = pl.DataFrame(records, infer_schema_length=None) if records else pl.DataFrame()
    frame = frame.select([c for c in frame.columns if frame[c].dtype != pl.Object])
    neutralise_formulas(frame).write_csv(sys.stdout)


def column_decisions(raw: RawTable, mapping: Mapping) -> list[dict[str, str | None]]:
    """A database source's columns with their SQL type, kind and the field each one became."""
    fields: dict[str, list[str]] = {}
    for field, column in mapping.as_dict().items():
        fields.setdefault(column, []).append(field)
    return [{"column": c, "sql_type": t.sql, "kind": t.kind, "field": ", ".join(fields[c]) if c in fields else None}
            for c, t in raw.column_types.items()]


def inspection_dict(ledger: Ledger) -> dict[str, Any]:
    """`inspect --format json`: what was detected per file, and why."""
    files = []
    for raw, mapping, report in zip(ledger.raw_tables, ledger.mappings, ledger.source.files, strict=True):
        files.append(
            {
                **report.model_dump(mode="json"),
                "mapping": [
                    {"field": c.field, "column": c.column, "reason": c.reason} for c in mapping.choices.values()
                ],
                "columns": [c for c in raw.frame.columns if not c.startswith("__")],
                "column_types": column_decisions(raw, mapping),  # database sources: SQL type → field
            }
        )
    samples = ledger.samples.to_dicts() if ledger.samples is not None else []
    return {
        "files": files,
        "as_of": str(ledger.as_of) if ledger.as_of else None,
        "currency": ledger.currency,
        "samples": json.loads(json.dumps(samples, default=str)),
        "statuses": ledger.statuses.to_dicts(),
        "accounting": ledger.source.model_dump(mode="json"),
        "rejects": json.loads(json.dumps(ledger.rejects.head(100).to_dicts(), default=str)),
    }


if __name__ == "__main__":  # regenerate the shipped schema after a model change
    target = Path(__file__).resolve().parent.parent / "data" / SCHEMA_RESOURCE
    target.write_text(json.dumps(generated_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {target}")
