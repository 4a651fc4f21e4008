#!/usr/bin/env bash
# The benchmark harness of rev (DESIGN.md §9). Not part of the test suite:
# run it by hand, on a quiet machine, and copy the figures into BENCHMARKS.md.
#
#   benches/run.sh                 everything (sizes 1,000 / 10,000 / 100,000)
#   SIZES="1000 10000" benches/run.sh
#   RUNS=10 benches/run.sh         fewer hyperfine runs per command
#   SLOW_LIMIT=60 benches/run.sh   give up on a command slower than 60 s
#
# Histories are generated once and cached under $CARGO_TARGET_DIR/bench-data;
# results (hyperfine JSON and Markdown, peak memory, in-process timings) go to
# $CARGO_TARGET_DIR/bench-results, and a summary is printed at the end.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
TARGET=$CARGO_TARGET_DIR
DATA=$TARGET/bench-data
OUT=$TARGET/bench-results
SIZES=${SIZES:-"1000 10000 100000"}
RUNS=${RUNS:-20}
SEED=${SEED:-42}
# A command that does not finish within this many seconds is reported, not timed.
SLOW_LIMIT=${SLOW_LIMIT:-120}
# Bump when the generator changes, so that cached histories are regenerated.
GEN_VERSION=2

need() {
    if ! command -v "$1" >/dev/null 2>&1; then
        echo "installing $2" >&2
        apt-get install -y "$2" >/dev/null
    fi
}
need hyperfine hyperfine
need sqlite3 sqlite3

echo "== building release binaries" >&2
cargo build --release -p rev -p rev-bench >&2
REV=$TARGET/release/rev
BENCH=$TARGET/release/rev-bench

mkdir -p "$DATA" "$OUT"

# project SHAPE N: prints the directory of a cached generated project.
project() {
    local dir=$DATA/$1-$2-s$SEED-v$GEN_VERSION
    if [ ! -f "$dir/.complete" ]; then
        echo "== generating $1 history of $2 revisions in $dir" >&2
        rm -rf "$dir"
        "$BENCH" gen "$1" "$2" "$dir" --seed "$SEED" >&2
        touch "$dir/.complete"
    fi
    echo "$dir"
}

{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "nproc: $(nproc)"
    echo "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1)"
    echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
    echo "kernel: $(uname -r)"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "hyperfine: $(hyperfine --version)"
    echo "sqlite3: $(sqlite3 --version | cut -d' ' -f1)"
} > "$OUT/machine.txt"
cat "$OUT/machine.txt"

# Whole-process timings of the offline commands, per size.
COMMANDS=("heads" "branches" "history" "upgrade heads --sql")
for n in $SIZES; do
    dir=$(project branchy "$n")
    echo "== rev on $n branchy revisions" >&2
    i=0
    for c in "${COMMANDS[@]}"; do
        # A command slower than 2 s gets 3 runs: enough to see it misses its target.
        runs=$RUNS warmup=2
        [ "$n" -ge 100000 ] && runs=$(( RUNS < 10 ? RUNS : 10 ))
        rm -f "$OUT/commands-$n-$i.json" "$OUT/commands-$n-$i.timeout"
        if ! (cd "$dir" && timeout 2 $REV $c >/dev/null); then
            if ! (cd "$dir" && timeout "$SLOW_LIMIT" $REV $c >/dev/null); then
                echo "rev $c" > "$OUT/commands-$n-$i.timeout"
                i=$((i + 1))
                continue
            fi
            runs=3 warmup=0
        fi
        (cd "$dir" && hyperfine -N --warmup "$warmup" --runs "$runs" --style basic \
            --export-json "$OUT/commands-$n-$i.json" -n "rev $c" "$REV $c" >&2)
        i=$((i + 1))
    done
    # Peak resident memory, in KiB, of one run of each command.
    i=0
    for c in "${COMMANDS[@]}"; do
        if [ ! -f "$OUT/commands-$n-$i.timeout" ]; then
            kib=$(cd "$dir" && /usr/bin/time -f %M $REV $c 2>&1 >/dev/null | tail -1)
            echo "$n	rev $c	$kib"
        fi
        i=$((i + 1))
    done > "$OUT/memory-$n.tsv"
done

# In-process phases (load, graph, plan) on the largest size.
largest=$(echo $SIZES | tr ' ' '\n' | sort -n | tail -1)
echo "== in-process phases on $largest branchy revisions" >&2
"$BENCH" plan "$(project branchy "$largest")" --runs "$RUNS" | tee "$OUT/plan-$largest.txt"

# Applying 1,000 one-table migrations to SQLite, against the sqlite3 shell
# running the same CREATE TABLE statements, each in its own transaction
# (autocommit), and against the shell running rev's whole offline script.
dir=$(project linear 1000)
(cd "$dir" && $REV upgrade heads --sql > "$OUT/apply-script.sql")
awk 'BEGIN { RS = ""; ORS = ";\n" } /^CREATE TABLE "t[0-9]/ { sub(/;$/, ""); print }' \
    "$OUT/apply-script.sql" > "$OUT/apply-ddl.sql"
echo "== applying 1000 migrations to SQLite ($(grep -c '^CREATE TABLE' "$OUT/apply-ddl.sql") statements)" >&2
(cd "$dir" && hyperfine --warmup 1 --runs "$(( RUNS < 10 ? RUNS : 10 ))" --style basic \
    --prepare "rm -f bench.db bench.db-journal shell.db shell.db-journal" \
    --export-json "$OUT/apply.json" --export-markdown "$OUT/apply.md" \
    -n "rev upgrade heads" "$REV upgrade heads -q" \
    -n "sqlite3 < DDL (autocommit)" "sqlite3 shell.db < $OUT/apply-ddl.sql" \
    -n "sqlite3 < rev's --sql script" "sqlite3 shell.db < $OUT/apply-script.sql" >&2)

echo "== summary" >&2
SLOW_LIMIT=$SLOW_LIMIT python3 - "$OUT" $SIZES <<'PY' | tee "$OUT/summary.md"
import json, sys, os
out, sizes = sys.argv[1], sys.argv[2:]
def ms(x): return f"{x * 1e3:.1f}"
rows = {}
for n in sizes:
    i = 0
    while True:
        base = os.path.join(out, f"commands-{n}-{i}")
        if os.path.exists(base + ".json"):
            with open(base + ".json") as f:
                for r in json.load(f)["results"]:
                    rows.setdefault(r["command"], {})[int(n)] = r
        elif os.path.exists(base + ".timeout"):
            with open(base + ".timeout") as f:
                rows.setdefault(f.read().strip(), {})[int(n)] = None
        else:
            break
        i += 1
mem = {}
for n in sizes:
    with open(os.path.join(out, f"memory-{n}.tsv")) as f:
        for line in f:
            size, cmd, kib = line.rstrip("\n").split("\t")
            mem[(cmd, int(size))] = int(kib) if kib.isdigit() else None
ns = sorted(int(n) for n in sizes)
print("| command | " + " | ".join(f"{n:,} revisions" for n in ns) + " | per 1,000 (largest) | peak RSS (largest) |")
print("|---|" + "---|" * (len(ns) + 2))
for cmd, by in rows.items():
    cells = []
    for n in ns:
        r = by.get(n)
        if r:
            cells.append(f"{ms(r['median'])} ms (σ {ms(r['stddev'] or 0)}, {ms(r['min'])}–{ms(r['max'])})")
        else:
            cells.append(f"> {os.environ.get('SLOW_LIMIT', '120')} s" if n in by else "–")
    big = by.get(ns[-1])
    per = f"{ms(big['median'] / ns[-1] * 1000)} ms" if big else "–"
    m = mem.get((cmd, ns[-1]))
    mcell = f"{m / 1024:.0f} MiB" if m else "–"
    print(f"| `{cmd}` | " + " | ".join(cells) + f" | {per} | {mcell} |")
with open(os.path.join(out, "apply.json")) as f:
    print()
    print("| SQLite, 1,000 one-table migrations | median | σ | min–max |")
    print("|---|---|---|---|")
    for r in json.load(f)["results"]:
        print(f"| `{r['command']}` | {ms(r['median'])} ms | {ms(r['stddev'] or 0)} | {ms(r['min'])}–{ms(r['max'])} |")
PY
