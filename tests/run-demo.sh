#!/usr/bin/env bash
# `make run`: the whole pipeline on the embedded default, no cloud account.
# 20 example prompts → a batch in the SQLite queue → a worker with two
# threads renders draft posters into run/posters → a status table.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BIN:-$root/bin}
case "$bin" in /*) ;; *) bin=$root/$bin ;; esac
export ONESHEET_STATE_DIR=${ONESHEET_STATE_DIR:-$root/run}
export ONESHEET_CONFIG=${ONESHEET_CONFIG:-/dev/null}

cd "$root"
echo "== state directory: $ONESHEET_STATE_DIR (queue + ledger: onesheet.db, posters: posters/)"
echo "== onesheet submit examples/prompts.txt"
batch=$("$bin/onesheet" submit examples/prompts.txt)
echo "== onesheet-worker --concurrency 2 --drain"
"$bin/onesheet-worker" --concurrency 2 --drain --log-level warn
echo "== onesheet status $batch"
"$bin/onesheet" status "$batch"
echo
n=$(find "$ONESHEET_STATE_DIR/posters/$batch" -name '*.png' ! -name '*.raw.png' | wc -l)
echo "== $n posters in $ONESHEET_STATE_DIR/posters/$batch/"
"$bin/onesheet" wait "$batch" --output "$ONESHEET_STATE_DIR/$batch.results.jsonl" >/dev/null 2>&1 \
    && echo "== results manifest: $ONESHEET_STATE_DIR/$batch.results.jsonl"
# The one line that points the CLI, in any shell, at this state (the CLI's
# own default is ~/.local/state/onesheet): copy it, or eval it.
echo "== to use this state from another shell, run:"
printf 'export ONESHEET_STATE_DIR=%q ONESHEET_CONFIG=%q\n' "$ONESHEET_STATE_DIR" "$ONESHEET_CONFIG"
