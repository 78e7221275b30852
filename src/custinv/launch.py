"""The ``custinv`` process's entry point: the cyclic garbage collector off, then the command line.

A stocktake is one short process whose data live in Polars' (Rust) memory and whose Python
objects are few and freed by reference counting; the cyclic collector finds nothing to free and
only costs: its full passes over the few hundred thousand objects that typer, Polars, NumPy and
SciPy create while they are imported cost 40–80 ms of a 1,000-row audit (noisy). It is switched
off here, for the ``custinv`` process only — not in :mod:`custinv.cli`, which tests and embedding
programs import — and back on where a run holds long-lived objects that cycles could keep alive
(the Spark engine's py4j proxies: :func:`custinv.spark.session.spark_session`).
"""

from __future__ import annotations

import gc


def main() -> None:
    gc.disable()
    from custinv.cli.commands import main as run_cli

    run_cli()
