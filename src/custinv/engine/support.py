"""What an engine cannot do yet, refused before any work (never a quietly different result)."""

from __future__ import annotations

from custinv.config import Settings
from custinv.engine.base import OrderEngine
from custinv.errors import UsageError


def refuse_unsupported(engine: OrderEngine, settings: Settings) -> None:
    """Raise a usage error (exit 2) for an option the engine does not compute.

    ``--tickets`` matches every ticket to the orders of its customer and period; that is an
    order-level join the Spark engine does not distribute yet, and collecting the orders to the
    driver would break its promise (driver memory bounded by customers).
    """
    if engine.name == "spark" and settings.tickets:
        raise UsageError(
            "--tickets is not supported with the Spark engine yet: service KPIs join every ticket to the orders",
            hint="run the service report with the Polars engine (the default) on this machine",
        )
