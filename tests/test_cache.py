"""The parsed-ledger cache: a hit gives exactly the audit an uncached run gives, and the key
changes whenever the input or a parse option does."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import run_cli
from polars.testing import assert_frame_equal

from custinv import cache
from custinv.config import Settings
from custinv.ingest.ledger import build_ledger
from custinv.stocktake import audit

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [ROOT / "examples" / "shopify_orders.csv", ROOT / "examples" / "crm_orders_zh.csv",
            ROOT / "tests" / "data" / "cdnow_sample.csv"]


def _json(result) -> str:
    return result.stocktake.model_dump_json()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_cached_audit_is_identical(example: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / example.name
    shutil.copy2(example, src)
    plain = audit([src], Settings(clv=False))
    cached_settings = Settings(clv=False, cache_dir=str(tmp_path / "cache"))
    first = audit([src], cached_settings)  # miss: builds and stores
    assert len(list((tmp_path / "cache").iterdir())) == 1

    def no_parsing(*_a, **_k):
        raise AssertionError("a cache hit must not parse")

    monkeypatch.setattr(cache, "build_ledger", no_parsing)
    second = audit([src], cached_settings)  # hit
    assert _json(plain) == _json(first) == _json(second)
    # same values; float sums may differ in the last bit with the frame's memory layout
    assert_frame_equal(second.customers, plain.customers, check_exact=False, rel_tol=1e-12)
    assert second.ledger.orders.equals(plain.ledger.orders)
    assert second.ledger.rejects.equals(plain.ledger.rejects)
    assert second.ledger.source == plain.ledger.source


def test_cli_cache_gives_identical_json(tmp_path: Path) -> None:
    src = tmp_path / "orders.csv"
    shutil.copy2(EXAMPLES[0], src)
    (tmp_path / "custinv.toml").write_text('[cache]\ndir = "cachedir"\n', encoding="utf-8")
    runs = [run_cli("audit", str(src), "--format", "json", "--no-clv", cwd=tmp_path) for _ in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    assert len(list((tmp_path / "cachedir").iterdir())) == 1  # from the [cache] table
    flag = run_cli("audit", str(src), "--format", "json", "--no-clv", "--cache", str(tmp_path / "c2"), cwd=tmp_path)
    assert flag.stdout == runs[0].stdout
    assert len(list((tmp_path / "c2").iterdir())) == 1


def test_key_follows_content_and_options(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("customer_id,order_date,amount\nC1,2024-01-05,10\nC2,2024-01-06,20\n", encoding="utf-8")
    base = Settings()
    key = cache.cache_key([src], base)
    assert cache.cache_key([src], base) == key  # stable
    assert cache.cache_key([src], Settings(top=3)) == key  # presentation does not matter
    assert cache.cache_key([src], Settings(date_format="%Y-%m-%d")) != key
    assert cache.cache_key([src], Settings(mapping={"amount": "amount"})) != key
    assert cache.cache_key([src], Settings(as_of="2024-01-05")) != key
    stat = src.stat()
    src.write_text("customer_id,order_date,amount\nC1,2024-01-05,10\nC2,2024-01-06,30\n", encoding="utf-8")
    os.utime(src, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same size, same mtime: the hash notices
    assert src.stat().st_size == stat.st_size
    assert cache.cache_key([src], base) != key


def test_damaged_entry_is_a_miss(tmp_path: Path) -> None:
    src = tmp_path / "a.csv"
    src.write_text("customer_id,order_date,amount\nC1,2024-01-05,10\nC2,2024-01-06,20\n", encoding="utf-8")
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    built = cache.cached_build_ledger([src], settings)
    assert cache.load_ledger(tmp_path / "cache" / cache.cache_key([src], settings)) is not None
    entry = tmp_path / "cache" / cache.cache_key([src], settings)
    (entry / "orders.parquet").write_bytes(b"not parquet")
    again = cache.cached_build_ledger([src], settings)
    assert again.orders.equals(built.orders)
    assert again.orders.equals(build_ledger([src], Settings()).orders)
    assert cache.load_ledger(entry) is not None  # rewritten
