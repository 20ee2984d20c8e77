#!/usr/bin/env bash
# The light install: `pip install .` alone (no extras: no torch, transformers or Ray) in its own venv,
# then the classical path on a synthetic video (SfM + stereo depth + floor scale) through the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
light=$(mktemp -d)
trap 'rm -rf "$light"' EXIT
python3 -m venv "$light/venv"
"$light/venv/bin/python" -m pip install -q --upgrade pip
"$light/venv/bin/python" -m pip install -q .
if "$light/venv/bin/python" -c "import torch" 2>/dev/null; then echo "light install pulled torch" >&2; exit 1; fi
cd "$light"
export SPATIALCLAW_CACHE="$light/cache"
venv/bin/spatialclaw synth demo --scenes 1 --frames 16 --width 320 --height 240
venv/bin/spatialclaw exec demo/synth/synth_0.mp4 --frames 16 --perception classical --sandbox none --json \
    -c "r = reconstruct(); d = r.depth[r.depth.reshape(len(r.depth), -1).any(1)]" \
    -c "print(r.backend, r.info['registered_frames'], r.info['frames'], float((d > 0).mean()))" > exec.json
venv/bin/python - <<'PY'
import json
cells = json.load(open("exec.json"))["cells"]
assert all(c["error"] is None for c in cells), [c["error"] for c in cells]
cell = cells[1]
backend, registered, total, dense = cell["text"].split()
assert backend == "classical" and int(registered) >= 4 and int(total) == 16 and float(dense) > 0.9, cell["text"]
print(f"light install: classical reconstruction registered {registered}/{total} frames, densified depth on {float(dense):.0%} of their pixels")
PY
