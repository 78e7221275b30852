"""The command line: parse options, call audit(), pick a renderer, map errors to exit codes.

Kept thin on purpose (like sqlite-utils' CLI over its Python core): every number comes from
:func:`custinv.stocktake.audit`; the package only turns flags into :class:`Settings`, runs the
work inside one error funnel (:mod:`custinv.cli.errors`) and sends results to stdout,
messages to stderr. Heavy libraries are imported inside the commands so ``--help`` stays fast.

- :mod:`custinv.cli.app` — the Typer application;
- :mod:`custinv.cli.options` — the option groups shared by the commands (typed, with metavars);
- :mod:`custinv.cli.errors` — the error funnel;
- :mod:`custinv.cli.common` — settings, inputs, outputs, the audit run;
- :mod:`custinv.cli.commands` — the commands and :func:`main`.
"""

from custinv.cli import commands as _commands  # noqa: F401 - registers the commands on the app
from custinv.cli.app import app
from custinv.cli.commands import main
from custinv.cli.errors import run_guarded

__all__ = ["app", "main", "run_guarded"]
