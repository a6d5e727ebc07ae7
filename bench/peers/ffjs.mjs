// The peer side of bench/bench_groth16.py: snarkjs and its field/curve library ffjavascript,
// timed in-process (no node start-up in the figures). Prints one JSON object.
//   node ffjs.mjs msm g1|g2 BASES SCALARS REPEATS
//   node ffjs.mjs fft VALUES REPEATS
//   node ffjs.mjs prove ZKEY WTNS REPEATS
import fs from "fs";
import { buildBn128 } from "ffjavascript";
import * as snarkjs from "snarkjs";

const [cmd, ...args] = process.argv.slice(2);
const best = async (repeats, fn) => {
  let t = Infinity;
  await fn(); // warm-up: wasm compile, worker threads
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t / 1000;
};

const curve = await buildBn128();
let seconds;
if (cmd === "msm") {
  const [group, basesFile, scalarsFile, repeats] = args;
  const bases = new Uint8Array(fs.readFileSync(basesFile));
  const scalars = new Uint8Array(fs.readFileSync(scalarsFile));
  const G = group === "g1" ? curve.G1 : curve.G2;
  seconds = await best(Number(repeats), () => G.multiExpAffine(bases, scalars));
} else if (cmd === "fft") {
  const [valuesFile, repeats] = args;
  const values = new Uint8Array(fs.readFileSync(valuesFile));
  seconds = await best(Number(repeats), () => curve.Fr.fft(values));
} else if (cmd === "prove") {
  const [zkey, wtns, repeats] = args;
  seconds = await best(Number(repeats), () => snarkjs.groth16.prove(zkey, wtns));
} else {
  throw new Error(`unknown command ${cmd}`);
}
console.log(JSON.stringify({ seconds }));
await curve.terminate();
process.exit(0);
