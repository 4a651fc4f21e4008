#!/usr/bin/env bash
# Runs each coverage-guided fuzz target for a bounded time (default 60 s each).
#
#   benches/fuzz.sh [SECONDS] [TARGET...]
#
# Needs `cargo install cargo-fuzz`. cargo fuzz wants a nightly compiler for
# the sanitizer flags; on a stable toolchain RUSTC_BOOTSTRAP=1 lets stable
# accept them (that is what this script does unless REV_FUZZ_NIGHTLY=1 says
# a nightly is the default toolchain). Crashes land in fuzz/artifacts/<target>/;
# each one fixed is kept as a regression test beside the parser's tests.
# Not part of the test suite: its length and results depend on the machine.
set -euo pipefail

cd "$(dirname "$0")/.."
seconds="${1:-60}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    targets=(migration_fast migration_ron target_parse url_redact)
fi

if [ "${REV_FUZZ_NIGHTLY:-0}" != 1 ]; then
    export RUSTC_BOOTSTRAP=1
fi

# Seed the migration readers with the repository's own files and fixtures.
corpus_dir() {
    local target="$1" dir="fuzz/corpus/$1"
    mkdir -p "$dir"
    case "$target" in
        migration_*)
            cp -n migrations/versions/*.ron crates/project/tests/fixtures/checksums/*.ron "$dir"/ 2>/dev/null || true ;;
        target_parse)
            for t in heads head base a1b2 a1b2+2 heads-1 feat@head a1b2:c3d4 "base:heads"; do
                printf '%s' "$t" > "$dir/$(printf '%s' "$t" | md5sum | cut -c1-12)"
            done ;;
        url_redact)
            for u in "sqlite://rev.db" "postgres://u:Sup3r@Secret@127.0.0.1/db" \
                     "mysql://root@127.0.0.1:3306/test?ssl-mode=required" \
                     "server=tcp:h,1433;database=d;user id=u;password={p;w}"; do
                printf '%s' "$u" > "$dir/$(printf '%s' "$u" | md5sum | cut -c1-12)"
            done ;;
    esac
    printf '%s' "$dir"
}

status=0
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s"
    corpus="$(corpus_dir "$target")"
    # Inputs that once failed are replayed from fuzz/regressions/<target>
    # (read-only: new inputs go to the corpus). -max_len bounds one input.
    # The sanitizer is off by default: the targets are safe Rust, and the
    # build is much cheaper; REV_FUZZ_SANITIZER=address turns ASan on.
    regressions=()
    if [ -d "fuzz/regressions/$target" ]; then
        regressions=("fuzz/regressions/$target")
    fi
    if ! cargo fuzz run --sanitizer "${REV_FUZZ_SANITIZER:-none}" "$target" "$corpus" "${regressions[@]}" -- \
        -max_total_time="$seconds" -max_len=8192; then
        echo "!! $target found a crash: see fuzz/artifacts/$target/"
        status=1
    fi
done
exit "$status"
