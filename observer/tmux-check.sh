#!/usr/bin/env bash
# The observer, tested as a person uses it: in tmux, on a program with
# 100,000 processes and a supervision tree (observer/examples/
# hundred_thousand.rs). Keys go in with send-keys; the screen comes back
# with capture-pane and is checked:
#   the header counts the processes; `l` sorts by queue length (the `sink`,
#   whose mailbox only grows, comes first); `/spinner` filters to one row;
#   `k` `y` kills `pong`, and the next snapshot no longer has it and counts
#   one killed exit; `r` sorts by reductions/s (the `spinner` first); `t`
#   shows the supervision tree (app_sup over db, pool and its 300 conns,
#   cache); `k` `y` on `db` kills it there and app_sup restarts it under a
#   new pid; End reaches `cache`, the last line; `t` goes back; `q` quits.
# Screens are saved under target/observer-check/ (docs/watch-it-run.md
# quotes them). Exits non-zero, naming the step, on the first failure; a
# watchdog (WATCHDOG seconds, 300 by default) ends a run that hangs. The
# tmux session and the demo are cleaned up however it ends.
#
#   bash observer/tmux-check.sh            # PROCESSES=100000 by default
set -euo pipefail
cd "$(dirname "$0")/.."
N=${PROCESSES:-100000}
PORT=${PORT:-$((20000 + RANDOM % 20000))}
OUT=target/observer-check
SESSION=bream-observer-check-$$
mkdir -p "$OUT"
cargo build -q -p bream-observer --bins --example hundred_thousand
BIN=target/debug/bream-observer
DEMO=target/debug/examples/hundred_thousand

PROCESSES=$N "$DEMO" "127.0.0.1:$PORT" 300 > "$OUT/demo.log" 2>&1 &
DEMO_PID=$!
WATCHDOG_PID=
cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    kill "$DEMO_PID" 2>/dev/null || true
    wait "$DEMO_PID" 2>/dev/null || true
    if [ -n "$WATCHDOG_PID" ]; then kill "$WATCHDOG_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'echo "observer check FAILED: the watchdog fired after ${WATCHDOG:-300} s"; exit 124' TERM INT
# The watchdog: TERM to this script if it runs too long (its trap cleans up).
# Its sleep is killed with it, and holds none of our output open.
(
    exec >/dev/null 2>&1
    sleep "${WATCHDOG:-300}" &
    nap=$!
    trap 'kill $nap; exit 0' TERM
    wait $nap && kill -TERM $$
) &
WATCHDOG_PID=$!

fail() { echo "observer check FAILED: $1 (screen in $OUT/$2.txt)"; exit 1; }

for _ in $(seq 1 240); do
    grep -q "serving on" "$OUT/demo.log" && break
    kill -0 "$DEMO_PID" 2>/dev/null || { cat "$OUT/demo.log"; echo "the demo died"; exit 1; }
    sleep 0.5
done
grep -q "serving on" "$OUT/demo.log" || { echo "the demo did not start within 120 s"; exit 1; }
cat "$OUT/demo.log"

tmux new-session -d -s "$SESSION" -x 120 -y 40 "$BIN 127.0.0.1:$PORT --refresh-ms 1000"

# capture NAME PATTERN: wait (up to 20 s) until the screen matches PATTERN.
capture() {
    local name=$1 pattern=$2
    for _ in $(seq 1 40); do
        tmux capture-pane -p -t "$SESSION" > "$OUT/$name.txt"
        grep -qE -- "$pattern" "$OUT/$name.txt" && return 0
        sleep 0.5
    done
    fail "$name: no line matches /$pattern/" "$name"
}

capture 1-start "processes [0-9]{4,}"
grep -qE "worker +0 " "$OUT/1-start.txt" || fail "no worker gauge" 1-start
echo "ok: the header counts $(grep -oE 'processes [0-9]+' "$OUT/1-start.txt" | head -1)"

tmux send-keys -t "$SESSION" l
capture 2-sort-queue "sorted by queue"
# The first table row (after the header row) is the sink.
first=$(grep -A1 -E "│ *pid +name" "$OUT/2-sort-queue.txt" | tail -1)
echo "$first" | grep -q sink || fail "sorted by queue, the first row is not the sink: $first" 2-sort-queue
echo "ok: l sorts by queue length: $first"

tmux send-keys -t "$SESSION" / s p i n n e r Enter
capture 3-filter "1 shown of"
grep -q spinner "$OUT/3-filter.txt" || fail "the filter row is not the spinner" 3-filter
echo "ok: /spinner leaves one row"

# Escape alone, then a pause: a key right after it would read as Alt+key.
tmux send-keys -t "$SESSION" Escape
sleep 0.5
tmux send-keys -t "$SESSION" / p o n g Enter
capture 4-filter-pong "\[filter: pong\]"
grep -q "1 shown of" "$OUT/4-filter-pong.txt" || fail "pong not found" 4-filter-pong
tmux send-keys -t "$SESSION" k
capture 5-confirm "kill <0\.[0-9]+\.[0-9]+>\? \(y/n\)"
tmux send-keys -t "$SESSION" y
capture 6-killed "sent \(ok\)"
capture 7-gone "0 shown of"
grep -qE "killed [1-9]" "$OUT/7-gone.txt" || fail "no killed exit counted" 7-gone
echo "ok: k y kills pong; it is gone and counted"

tmux send-keys -t "$SESSION" Escape
sleep 0.5
tmux send-keys -t "$SESSION" r
capture 8-busiest "sorted by reductions/s"
grep -qE "[0-9]{4,} shown of" "$OUT/8-busiest.txt" || fail "Esc did not clear the filter" 8-busiest
first=$(grep -A1 -E "│ *pid +name" "$OUT/8-busiest.txt" | tail -1)
echo "$first" | grep -q spinner || fail "sorted by reductions/s, the first row is not the spinner: $first" 8-busiest
echo "ok: Esc clears the filter; r sorts by reductions/s: $first"

# The supervision tree.
tmux send-keys -t "$SESSION" t
capture 9-tree "supervision tree: [1-9]"
for want in "app_sup" "├─ db " "├─ pool \(conn_sup\)" "│  ├─ conn "; do
    grep -qE -- "$want" "$OUT/9-tree.txt" || fail "the tree has no line /$want/" 9-tree
done
echo "ok: t shows the supervision tree: app_sup, db, pool (conn_sup) and its conns"

# Kill db from the tree; app_sup restarts it under a new pid.
pid_of_db() { grep -E -- "├─ db " "$1" | grep -oE "<0\.[0-9]+\.[0-9]+>" | head -1; }
old_db=$(pid_of_db "$OUT/9-tree.txt")
[ -n "$old_db" ] || fail "db has no pid" 9-tree
tmux send-keys -t "$SESSION" Down
sleep 0.3
tmux send-keys -t "$SESSION" k
capture 10-tree-confirm "kill $old_db\? \(y/n\)"
tmux send-keys -t "$SESSION" y
capture 11-tree-killed "sent \(ok\)"
new_db=
for _ in $(seq 1 40); do
    tmux capture-pane -p -t "$SESSION" > "$OUT/12-restarted.txt"
    new_db=$(pid_of_db "$OUT/12-restarted.txt")
    [ -n "$new_db" ] && [ "$new_db" != "$old_db" ] && break
    sleep 0.5
done
[ -n "$new_db" ] && [ "$new_db" != "$old_db" ] || fail "db was not restarted under a new pid (still $old_db)" 12-restarted
echo "ok: k y on db kills it from the tree; app_sup restarted it: $old_db -> $new_db"

tmux send-keys -t "$SESSION" End
capture 13-tree-end "└─ cache "
echo "ok: End reaches the tree's last line, cache"
tmux send-keys -t "$SESSION" t
capture 14-back " processes: [0-9]+ shown of"
echo "ok: t goes back to the process table"

tmux send-keys -t "$SESSION" q
for _ in $(seq 1 20); do
    tmux has-session -t "$SESSION" 2>/dev/null || break
    sleep 0.5
done
if tmux has-session -t "$SESSION" 2>/dev/null; then
    tmux capture-pane -p -t "$SESSION" > "$OUT/15-quit.txt"
    fail "q did not quit" 15-quit
fi
echo "ok: q quits"
echo "observer check passed; screens in $OUT/"
