#!/usr/bin/env bash
# Reproduce every figure of the README's "Measured figures" section (2-core machine: about an hour, plus
# `ask-engine bench` for the vector benchmark). Results land in eval/results/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-../shared/bench-data}
OUT=eval/results
mkdir -p "$OUT"
run() { local name=$1; shift; echo "== $name: $*"; /usr/bin/time -f "$name wall %e s" "$@" 2>&1 | tee "$OUT/$name.log"; }
run seeds        ask-engine eval eval/seeds_gold.jsonl --answers both --out $OUT/seeds.json --png $OUT/seeds.png
run seeds-heur   ask-engine eval eval/seeds_gold.jsonl --answers both --answerer heuristic --out $OUT/seeds-heuristic.json
run squad11      ask-engine eval $BENCH/squad/dev-v1.1.visible.json --answers both --out $OUT/squad11.json --png $OUT/squad11.png
run squad11-held ask-engine eval $BENCH/squad/dev-v1.1.visible.json --answers both --question-articles heldout --out $OUT/squad11-heldout.json
run squad11-heur ask-engine eval $BENCH/squad/dev-v1.1.visible.json --answers both --answerer heuristic --out $OUT/squad11-heuristic.json
run squad11-held-heur ask-engine eval $BENCH/squad/dev-v1.1.visible.json --answers both --question-articles heldout --answerer heuristic --out $OUT/squad11-heldout-heuristic.json
run squad20      ask-engine eval $BENCH/squad/dev-v2.0.visible.json --answers open --out $OUT/squad20.json --png $OUT/squad20.png
run squad20-held ask-engine eval $BENCH/squad/dev-v2.0.visible.json --articles heldout --answers both --out $OUT/squad20-heldout.json --png $OUT/squad20-heldout.png
run squad20-held-heur ask-engine eval $BENCH/squad/dev-v2.0.visible.json --articles heldout --answers both --answerer heuristic --out $OUT/squad20-heldout-heuristic.json
run conflicts    python eval/conflict_probe.py --bench-data $BENCH --out $OUT/conflicts.json
run scifact      ask-engine eval $BENCH/scifact --split train --out $OUT/scifact.json --png $OUT/scifact.png
run bench-bm25   ask-engine bench-bm25
run bench-query  ask-engine bench-query
