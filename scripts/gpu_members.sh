#!/usr/bin/env bash
# The device check of batched members (run.ensemble): S = 1, 8, 32 seeds of the demo's model trained as one
# batched model against S trained one after another (tokens/s, fp32 and bf16), then the demo's wall time on the
# device. Run from the repository root with petra installed. Checked on the CPU first, small:
#   DEVICE=cpu MEMBERS="1 2" ROUNDS=1 STEPS=3 DEMO_ARGS=--quick bash scripts/gpu_members.sh
set -euo pipefail
DEVICE=${DEVICE:-cuda}
MEMBERS=${MEMBERS:-"1 8 32"}
ROUNDS=${ROUNDS:-3}
STEPS=${STEPS:-20}
OUT=${OUT:-runs/gpu_members}
PETRA=${PETRA:-petra}
mkdir -p "$OUT"
for s in $MEMBERS; do
  "$PETRA" bench --preset demo --members "$s" --precision both --device "$DEVICE" --rounds "$ROUNDS" \
    --member-steps "$STEPS" --json "$OUT/members_$s.json"
done
if [ "${DEMO:-1}" = 1 ]; then
  start=$SECONDS
  "$PETRA" demo --device "$DEVICE" -o "$OUT/demo" ${DEMO_ARGS:-}
  echo "petra demo --device $DEVICE: wall $((SECONDS - start)) s"
fi
