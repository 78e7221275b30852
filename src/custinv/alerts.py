"""Alert rules for scheduled runs: ``--alert 'churn_rate > 0.08'``.

A rule is ``<kpi> <op> <number>`` with op one of ``>  >=  <  <=  ==  !=``. The number may end
in ``%`` (``8%`` is 0.08; rates are fractions). The KPI is

- any key of ``kpis`` (the whole stocktake), e.g. ``churn_rate``, ``customers``;
- any numeric key of ``kpis_by_period``, read from the **last complete** (non-partial)
  period, e.g. ``net_revenue_retention``;
- when a name exists in both (``churn_rate``, ``revenue`` …) the ``kpis`` value wins; write
  ``period.churn_rate`` for the period's (``kpis.churn_rate`` is accepted too, for symmetry).

Known names come from the models (:class:`~custinv.models.Kpis`,
:class:`~custinv.models.PeriodKpis`), so a rule is checked before any data is read; an
unknown KPI or malformed rule raises :class:`AlertRuleError` (a usage error: exit 2) naming
the known KPIs. A rule whose value is null (e.g. a rate with a zero denominator, or no
complete period yet) is reported with ``value: null`` and is not breached. ``==``/``!=``
compare exactly.
"""

from __future__ import annotations

import operator
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pydantic import BaseModel

from custinv.models import Alert, Kpis, PeriodKpis

Scope = Literal["kpis", "period"]

OPERATORS: Final[dict[str, Callable[[float, float], bool]]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}
PERIOD_PREFIX: Final[str] = "period."
KPIS_PREFIX: Final[str] = "kpis."

_RULE = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    r"(?P<num>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<pct>%?)\s*$"
)


class AlertRuleError(ValueError):
    """A malformed ``--alert`` rule or one naming an unknown KPI (a usage error, exit 2)."""


def _numeric_fields(model: type[BaseModel]) -> tuple[str, ...]:
    """Fields whose type is int or float (optionally None), excluding bool."""
    names = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        args = typing.get_args(ann) if isinstance(ann, types.UnionType) else (ann,)
        kinds = {a for a in args if a is not type(None)}
        if kinds and kinds <= {int, float}:
            names.append(name)
    return tuple(names)


KPI_NAMES: Final[tuple[str, ...]] = _numeric_fields(Kpis)
PERIOD_KPI_NAMES: Final[tuple[str, ...]] = _numeric_fields(PeriodKpis)


def known_kpis() -> list[str]:
    """Every name a rule may use: the kpis keys, then ``period.``-prefixed period keys."""
    return list(KPI_NAMES) + [PERIOD_PREFIX + n for n in PERIOD_KPI_NAMES]


@dataclass(frozen=True)
class AlertRule:
    """A parsed rule; ``kpi`` is the resolved name as reported (``period.x`` for periods)."""

    text: str
    name: str
    scope: Scope
    op: str
    threshold: float

    @property
    def kpi(self) -> str:
        return PERIOD_PREFIX + self.name if self.scope == "period" else self.name


def _unknown(name: str, text: str) -> AlertRuleError:
    return AlertRuleError(
        f"unknown KPI {name!r} in alert rule {text!r}; known KPIs: {', '.join(known_kpis())}"
    )


def parse_rule(text: str) -> AlertRule:
    """Parse one rule, resolving which value it reads (see the module docstring)."""
    match = _RULE.match(text)
    if match is None:
        raise AlertRuleError(
            f"cannot read alert rule {text!r}: expected '<kpi> <op> <number>' with op one of "
            f"{' '.join(sorted(OPERATORS, key=len))}, e.g. 'churn_rate > 0.08'"
        )
    name = match["name"]
    threshold = float(match["num"]) / (100.0 if match["pct"] else 1.0)
    scope: Scope
    if name.startswith(PERIOD_PREFIX):
        name, scope = name[len(PERIOD_PREFIX) :], "period"
        if name not in PERIOD_KPI_NAMES:
            raise _unknown(match["name"], text)
    elif name.startswith(KPIS_PREFIX):
        name, scope = name[len(KPIS_PREFIX) :], "kpis"
        if name not in KPI_NAMES:
            raise _unknown(match["name"], text)
    elif name in KPI_NAMES:
        scope = "kpis"
    elif name in PERIOD_KPI_NAMES:
        scope = "period"
    else:
        raise _unknown(name, text)
    return AlertRule(text=text.strip(), name=name, scope=scope, op=match["op"], threshold=threshold)


def parse_rules(texts: Iterable[str]) -> list[AlertRule]:
    """Parse every rule (the first bad one raises :class:`AlertRuleError`)."""
    return [parse_rule(t) for t in texts]


def _as_mapping(values: Mapping[str, Any] | BaseModel | None) -> Mapping[str, Any]:
    if values is None:
        return {}
    if isinstance(values, BaseModel):
        return values.model_dump()
    return values


def evaluate_rules(
    rules: Iterable[AlertRule],
    kpis: Mapping[str, Any] | BaseModel | None,
    last_complete_period: Mapping[str, Any] | BaseModel | None,
) -> list[Alert]:
    """One :class:`Alert` per rule, in order; ``breached`` is False when the value is null."""
    sources = {"kpis": _as_mapping(kpis), "period": _as_mapping(last_complete_period)}
    alerts = []
    for rule in rules:
        raw = sources[rule.scope].get(rule.name)
        value = None if raw is None or isinstance(raw, bool) else float(raw)
        breached = value is not None and OPERATORS[rule.op](value, rule.threshold)
        alerts.append(Alert(rule=rule.text, kpi=rule.kpi, value=value, breached=breached))
    return alerts


def evaluate_alerts(
    texts: Iterable[str],
    kpis: Mapping[str, Any] | BaseModel | None,
    last_complete_period: Mapping[str, Any] | BaseModel | None,
) -> list[Alert]:
    """Parse and evaluate rules in one go."""
    return evaluate_rules(parse_rules(texts), kpis, last_complete_period)


def any_breached(alerts: Iterable[Alert]) -> bool:
    """True when the run must exit 3."""
    return any(a.breached for a in alerts)
