#!/bin/sh
# Regenerate the README screenshots with headless Chromium:
#   docs/report-en.png, docs/report-zh.png  the HTML report (top of the page: key message, KPI cards)
#   docs/cohorts-en.png                     the cohort triangle and LTV curves
#   docs/terminal-80.png                    `custinv audit` at 80 columns (key message, key figures, churn, cohorts)
# The input is a four-year synthetic shop (examples/generate.py), so every section has content.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python examples/generate.py 30000 "$tmp/orders.csv" --customers 4000 --seed 11 > /dev/null
custinv audit "$tmp/orders.csv" -q --html "$tmp/en.html" --lang en > /dev/null
custinv audit "$tmp/orders.csv" -q --html "$tmp/zh.html" --lang zh > /dev/null
shot() {  # shot OUT.png URL WIDTH HEIGHT
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --no-first-run --disable-sync --user-data-dir="$tmp/profile" --hide-scrollbars \
    --window-size="$3,$4" --screenshot="$1" "$2" 2>/dev/null
}
shot docs/report-en.png "file://$tmp/en.html" 1140 1500
shot docs/report-zh.png "file://$tmp/zh.html" 1140 1500
# one section alone: hide the others
sed 's#</style>#section:not(\#cohorts), nav, header.report {display: none !important}</style>#' "$tmp/en.html" > "$tmp/cohorts.html"
shot docs/cohorts-en.png "file://$tmp/cohorts.html" 1140 1250
# the terminal, as Rich draws it at 80 columns (exported to SVG, then rendered)
python - "$tmp/orders.csv" "$tmp/terminal.svg" <<'PY'
import sys
from pathlib import Path

from rich.console import Console

from custinv.config import Settings
from custinv.render.console import key_message_panel, kpi_table, render_churn, render_cohorts
from custinv.stocktake import audit

st = audit([Path(sys.argv[1])], Settings()).stocktake
console = Console(record=True, width=80, file=open("/dev/null", "w"), force_terminal=True)
console.print(key_message_panel(st, "en"))  # the opening of `custinv audit`, and two of its sections
console.print(kpi_table(st, "en"))
render_churn(st, "en", console, limit=6)
render_cohorts(st, "en", console, last=12)
console.save_svg(sys.argv[2], title="custinv audit orders.csv  (80 columns, excerpt)")
PY
shot docs/terminal-80.png "file://$tmp/terminal.svg" 1000 1560
