"""The DuckDB baseline: one SQL query for the per-customer summary + quintile RFM.

What a SQL-minded analyst would run: lines → orders (an order counted once however many lines
it has) → customers, with ``ntile(5)`` scores. Like the pandas baseline it is made right for each
shape first: m/d/Y dates read with their format, ``$1,234.50`` money stripped and cast, Refunded
orders dropped. xlsx is read with fastexcel into Arrow (DuckDB's own excel extension would need
the network to install).

    python benchmarks/baselines/duckdb_baseline.py lines.csv --date-format mdy --money dollar --status
"""

from __future__ import annotations

import time

import duckdb
from shape_args import shape_parser  # the sibling module: scripts run by path

QUERY = """
CREATE TEMP TABLE rfm AS
WITH lines AS (
    SELECT customer_id, order_id, order_date, {amount} AS amount FROM src {where}
), orders AS (
    SELECT customer_id, order_id, min(order_date) AS order_date, sum(amount) AS amount
    FROM lines GROUP BY customer_id, order_id
), summary AS (
    SELECT customer_id, min(order_date) AS first_order, max(order_date) AS last_order,
           count(*) AS orders, sum(amount) AS revenue
    FROM orders GROUP BY customer_id
), scored AS (
    SELECT *, (SELECT max(last_order) FROM summary) - last_order AS recency_days FROM summary
)
SELECT *, ntile(5) OVER (ORDER BY recency_days DESC) AS r_score,
          ntile(5) OVER (ORDER BY orders) AS f_score,
          ntile(5) OVER (ORDER BY revenue) AS m_score
FROM scored
"""


def source(con: duckdb.DuckDBPyConnection, path: str, date_format: str, money: str) -> None:
    """Register the file as the view `src` with typed columns (money as text when it needs stripping)."""
    if path.endswith(".parquet"):
        con.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet('{path}')")
        return
    if path.endswith(".xlsx"):
        import fastexcel

        con.register("src", fastexcel.read_excel(path).load_sheet(0).to_arrow())
        return
    fmt = ", dateformat='%m/%d/%Y'" if date_format == "mdy" else ""
    amount = "VARCHAR" if money == "dollar" else "DOUBLE"
    con.execute(
        f"CREATE VIEW src AS SELECT * FROM read_csv('{path}', header=true, quote='\"', escape='\"'{fmt}, "
        f"types={{'order_id': 'VARCHAR', 'customer_id': 'VARCHAR', 'order_date': 'DATE', 'amount': '{amount}'}})"
    )


def main() -> None:
    args = shape_parser(__doc__).parse_args()
    start = time.perf_counter()
    con = duckdb.connect()
    source(con, args.path, args.date_format, args.money)
    amount = "CAST(replace(replace(amount, '$', ''), ',', '') AS DOUBLE)" if args.money == "dollar" else "amount"
    where = "WHERE status <> 'Refunded'" if args.status else ""
    con.execute(QUERY.format(amount=amount, where=where))
    customers, orders, revenue = con.execute("SELECT count(*), sum(orders), sum(revenue) FROM rfm").fetchone()  # type: ignore[misc]
    print(f"{customers} customers, {orders} orders, revenue {revenue:.2f} in {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main()
