#!/usr/bin/env bash
# Instructions deskgate executes per tools/call, counted by callgrind: a figure that does not
# move with the machine's load, for before/after comparisons of the hot path.
#
#   crates/deskgate-bench/callgrind.sh [SECONDS] [CLIENTS]
#
# Runs deskgate under valgrind (about 50x slower) behind `deskgate-bench --hold`, zeroes the
# counters once the first call is answered, and prints instructions per call plus the top
# inclusive functions. Needs valgrind; builds the bench in release mode first (into
# $CARGO_TARGET_DIR when set, else target/).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-20}
clients=${2:-1}
cargo build --release -q -p deskgate-bench
out=$(mktemp -d)
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
bench=$target_dir/release/deskgate-bench
printf '#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=%s/callgrind.out "%s" __deskgate "$@"\n' "$out" "$bench" > "$out/deskgate"
chmod +x "$out/deskgate"
"$bench" --hold "$seconds" --hold-clients "$clients" --deskgate-bin "$out/deskgate" >"$out/hold.out" 2>"$out/hold.err" &
bench_pid=$!
for _ in $(seq 1 600); do grep -q pid "$out/hold.out" 2>/dev/null && break; sleep 0.1; done
pid=$(awk '{print $3}' "$out/hold.out")
callgrind_control -z "$pid" >/dev/null
wait "$bench_pid"
tail -1 "$out/hold.err"
calls=$(tail -1 "$out/hold.err" | sed -E 's/.*: ([0-9]+) calls,.*/\1/')
total=$(callgrind_annotate "$out/callgrind.out" 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
echo "instructions per tools/call: $((total / calls)) ($total over $calls calls)"
# The frames worth watching, inclusive, per call.
callgrind_annotate --inclusive=yes --auto=no --threshold=100 "$out/callgrind.out" 2>/dev/null |
  grep -E "deskgate::[a-z_]+(::[a-z_]+)*(::<impl [^>]*>)?::[a-z_]+(::\{\{closure\}\})? \[|serde_json::de::from_trait \[|Value as core::fmt::Display>::fmt \[|drop_in_place<serde_json::value::Value>'2 \[|sqlite3_step \[|tracing_core::event::Event::dispatch \[|Client::execute_request \[|serde_json::ser::to_vec \[|tokio::task::spawn::spawn \[|__memcpy_avx_unaligned_erms|malloc.c:malloc \[|malloc.c:free \[|hyper::proto::h1::dispatch::Dispatcher<D,Bs,I,T>::poll_catch \[|StreamableHttpService<S,M>::handle_post::\{\{closure\}\} \[|rmcp::service::serve_inner::\{\{closure\}\} \[" |
  awk -v c="$calls" '{n=$1; gsub(",","",n); line=$0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line); sub(/ \[.*$/, "", line); sub(/^.*\.rs:/, "", line); sub(/^.*\.[cS]:/, "", line); printf "%9d  %s\n", n/c, substr(line, 1, 130)}' |
  sort -rn | awk '!seen[$2]++' | head -30
echo "(callgrind output kept in $out)"
