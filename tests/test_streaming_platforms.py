"""Every real-layout fixture through the streaming reader: the eager reader's ledger, or handed back.

The platform fixtures (tests/fixtures/platforms: Shopify, Taobao, Magento… as their exports
write them), the examples and the CDNOW sample are read by the streaming path as if they were
big (LAZY_MIN_BYTES = 0), at the default batch size and at batches of a few rows (so an order's
lines fall into two batches), and compared with the eager reader: the same orders, rejects,
statuses, samples and source report (accounting, returns, warnings, profile). Which of them
stream is pinned too, so that a change sending one back to the eager reader is seen."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_streaming_ingest import assert_same

from custinv.config import Settings
from custinv.ingest import ledger as L
from custinv.ingest import streaming as S

ROOT = Path(__file__).resolve().parents[1]
FILES = sorted(
    p for p in [*(ROOT / "tests" / "fixtures" / "platforms").rglob("*"), *(ROOT / "examples").glob("*"),
                ROOT / "tests" / "data" / "cdnow_sample.csv"]
    if p.suffix.lower() in (".csv", ".parquet", ".txt", ".tsv")
)

#: fixtures read by the streaming path (the others need the eager reader: a layout it rewrites,
#: transaction types, another encoding with CR line ends…)
STREAMED = {
    "cdnow_sample.csv",
    "bigcommerce.csv",
    "hubspot.csv",
    "RMS_受注データ_20240331.csv",  # Shift-JIS, via its UTF-8 copy
    "magento.csv",
    "shopify.csv",
    "stripe_unified_payments.csv",
    "woocommerce_customer_order_csv.csv",
    "shopline_orders_excel_csv.csv",  # Big5, via its UTF-8 copy
    "orders_202403.csv",  # UTF-8 with a BOM (Excel's "CSV UTF-8")
    # customers named, not numbered (张三, "Acme Corp", a member name): the general id rules
    "crm_orders_zh.csv",
    "salesforce_opportunities.csv",
    "export_order_20240401.csv",
    "ExportOrderList202401051030.csv",
    "woocommerce_core.csv",
    "shopify_orders.csv",  # order notes over two lines: the line numbers count the breaks
    "zoho_crm.csv",  # every field quoted, an empty amount "": decided, not plain
    "salesforce.csv",
    # no buyer id: the customer is the receiver and phone together; refunds by status (拼多多, 抖店)
    "1709280000_订单导出.csv",
    "orders_export20240401103000.csv",
    "订单列表_20240401.csv",
    "ebay.csv",  # footers named by the profile's patterns; a payment date decides the sales
}


def _ledger(path: Path, settings: Settings, batch_rows: int | None, head_rows: int = S.HEAD_ROWS) -> L.Ledger | None:
    with pytest.MonkeyPatch.context() as mp:
        if batch_rows is None:
            mp.setattr(S, "LAZY_MIN_BYTES", 1 << 62)
            return L.build_ledger([path], settings)
        mp.setattr(S, "BATCH_ROWS", batch_rows)
        mp.setattr(S, "HEAD_ROWS", head_rows)
        return S.build_ledger_streaming(path, settings)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_streaming_reader_reads_each_fixture_as_the_eager_reader(path: Path) -> None:
    settings = Settings(max_reject_rate=1.0)
    try:
        expected = _ledger(path, settings, None)
    except Exception as exc:  # a file the eager reader refuses: the streaming reader refuses it alike
        with pytest.raises(type(exc)):
            if _ledger(path, settings, 500_000) is None:
                raise exc
        return
    # the plan from the usual 1000 first rows, and from 2 (so the read meets what the plan did not see)
    streamed = [_ledger(path, settings, rows, head) for rows, head in ((500_000, S.HEAD_ROWS), (3, S.HEAD_ROWS), (3, 2))]
    assert (streamed[0] is not None) == (path.name in STREAMED), "the set of streamed fixtures changed"
    for ledger in streamed:
        if ledger is not None:
            assert_same(ledger, expected)
