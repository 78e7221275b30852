#!/bin/sh
# Regenerate docs/report-en.png and docs/report-zh.png from the example exports with headless Chromium.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
custinv audit examples/shopify_orders.csv -q --html "$tmp/en.html" --lang en > /dev/null
custinv audit examples/crm_orders_zh.csv -q --html "$tmp/zh.html" --lang zh > /dev/null
for lang in en zh; do
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
    --no-first-run --disable-sync --user-data-dir="$tmp/profile-$lang" --hide-scrollbars \
    --window-size=1140,2600 --screenshot="docs/report-$lang.png" "file://$tmp/$lang.html"
done
