#!/usr/bin/env bash
# The main job, end to end: a small circom circuit (circom2 compiles, zkml proves, snarkjs
# checks and vice versa); the digits CNN compiled from ONNX, proved, verified locally and on the
# embedded EVM; then the attestation story (scripts/story.py): owner, auditor, insurer, ending with
# an insurer check that passes a per-class recall rule and fails a confidence bound (8 samples
# cannot support a 95% claim), and the evaluation exported as an off-chain EAS attestation and
# an in-toto statement.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PWD/.venv/bin:$PATH"
out=demo-out
rm -rf "$out" && mkdir -p "$out"

echo "== circom2: compile examples/circom/multiplier.circom"
circom2 examples/circom/multiplier.circom --r1cs --wasm -o "$out" > /dev/null
echo "== snarkjs: witness for a=3, b=11"
snarkjs wtns calculate "$out/multiplier_js/multiplier.wasm" examples/circom/multiplier.input.json "$out/witness.wtns"

echo "== zkml groth16 setup (development tau)"
zkml groth16 setup "$out/multiplier.r1cs" "$out/multiplier.zkey" --dev
echo "== zkml groth16 contribute"
zkml groth16 contribute "$out/multiplier.zkey" "$out/multiplier_final.zkey" --name demo
zkml groth16 export-vk "$out/multiplier_final.zkey" "$out/verification_key.json"
echo "== zkml groth16 prove"
zkml groth16 prove "$out/multiplier_final.zkey" "$out/witness.wtns" "$out/proof.json" "$out/public.json" --r1cs "$out/multiplier.r1cs"
echo "public signals: $(cat "$out/public.json" | tr -d ' \n')"
echo "== zkml groth16 verify"
zkml groth16 verify "$out/verification_key.json" "$out/public.json" "$out/proof.json"
echo "== snarkjs groth16 verify (independent implementation)"
snarkjs groth16 verify "$out/verification_key.json" "$out/public.json" "$out/proof.json"
echo "== snarkjs groth16 prove from zkml's zkey, verified by zkml"
snarkjs groth16 prove "$out/multiplier_final.zkey" "$out/witness.wtns" "$out/proof_snarkjs.json" "$out/public_snarkjs.json"
zkml groth16 verify "$out/verification_key.json" "$out/public_snarkjs.json" "$out/proof_snarkjs.json"
echo "== a wrong public signal must fail"
echo '["34"]' > "$out/public_wrong.json"
if zkml groth16 verify "$out/verification_key.json" "$out/public_wrong.json" "$out/proof.json"; then
  echo "BUG: a wrong public signal verified"; exit 1
fi
echo
echo "== zkml compile: the digits CNN (ONNX) into a circuit, calibrated on its calibration split"
zkml compile models/digits_cnn.onnx -c models/digits_cnn_calibration.npz -o "$out/circuits/digits_cnn"
zkml setup "$out/circuits/digits_cnn"
python - "$out" <<'PY'
import json, sys
import numpy as np
d = np.load("models/digits_cnn_test.npz")
json.dump(d["x"][0].tolist(), open(f"{sys.argv[1]}/digit.json", "w"))
print(f"test sample 0 is a {d['y'][0]}")
PY
echo "== zkml prove: this committed model classified this input"
zkml prove "$out/circuits/digits_cnn" -i "$out/digit.json" -o "$out/digit.proof.json"
echo "== zkml verify"
zkml verify "$out/digit.proof.json"
echo "== zkml contract + verify --onchain: the same claim checked by the generated Solidity verifier (embedded EVM)"
zkml contract "$out/circuits/digits_cnn"
zkml verify "$out/digit.proof.json" --onchain
zkml inspect "$out/circuits/digits_cnn"
echo
echo "== attestations: the model owner, the auditor and the insurer, on one embedded chain"
python scripts/story.py "$out"
echo "demo finished: files in $out/"
