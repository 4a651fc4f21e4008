#!/bin/sh
# A fleet of N SQLite databases (default 1,000) × M linear one-table
# migrations (default 10), upgraded by one `rev upgrade heads --env fleet`
# (DESIGN.md §9: ≤ 10 s for 1,000 × 10). Needs target/release/rev (built
# with `cargo build --release`); REV=path/to/rev runs another binary.
# Usage: benches/fleet.sh [N] [M] [JOBS]
set -eu
n=${1:-1000}
m=${2:-10}
jobs=${3:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
rev=${REV:-$root/target/release/rev}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/versions" "$dir/tenants"
prev=""
i=1
while [ "$i" -le "$m" ]; do
    id=$(printf 'f%011d' "$i")
    parents=${prev:+\"$prev\"}
    cat > "$dir/versions/${id}.ron" <<RON
Migration(id: "$id", parents: [$parents], message: "table $i", upgrade: [
    CreateTable(name: "t$i", columns: [Column(name: "id", type: Integer, primary_key: true)]),
])
RON
    prev=$id
    i=$((i + 1))
done
mkdir -p "$dir/migrations" && mv "$dir/versions" "$dir/migrations/versions"
i=0
while [ "$i" -lt "$n" ]; do
    echo "sqlite://tenants/t$i.db"
    i=$((i + 1))
done > "$dir/tenants.txt"
echo "Config(environments: {\"fleet\": Env(urls_file: \"tenants.txt\", jobs: $jobs)})" > "$dir/rev.ron"
cd "$dir"
start=$(date +%s.%N)
"$rev" upgrade heads --env fleet -q > /dev/null
end=$(date +%s.%N)
echo "fleet: $n SQLite databases x $m migrations, jobs $jobs: $(echo "$end - $start" | bc) s"
start=$(date +%s.%N)
"$rev" upgrade heads --env fleet -q > /dev/null
end=$(date +%s.%N)
echo "rerun (nothing to do): $(echo "$end - $start" | bc) s"
