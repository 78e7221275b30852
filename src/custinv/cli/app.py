"""The Typer application: its name, help text, completion and the root callback (``--version``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from custinv import __version__

app = typer.Typer(
    name="custinv",
    help=(
        "Customer stocktakes (客户盘点) from any CRM or shop export.\n\n"
        "Point it at the file your CRM, shop or sales team gives you — CSV, Excel, Parquet or JSON, "
        "English or Chinese headers, title rows and footers included — and get customers, how they buy, "
        "what they are worth and who is leaving.\n\n"
        "Examples:\n\n"
        "  custinv audit orders.csv\n\n"
        "  custinv audit orders.csv --format json | jq .kpis\n\n"
        "  custinv inspect export.xlsx          # what was detected, and why\n\n"
        "  custinv customers orders.csv --format csv > customers.csv\n\n"
        "Exit codes: 0 ok, 2 usage, 3 an --alert breached, 65 bad data, 66 input unreadable, "
        "69 database unreachable, 73 output not writable, 74 I/O error, 77 database login refused, 78 bad config, "
        "130 interrupted, 143 terminated (SIGTERM), 1 a bug."
    ),
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    rich_markup_mode="markdown",  # option panels; markdown keeps "[default: 30]" (rich markup would eat it)
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"custinv {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version_callback, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """Customer stocktakes (客户盘点) from any CRM or shop export."""
