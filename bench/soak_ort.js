#!/usr/bin/env node
// ONNX Runtime 1.30's side of bench/soak.py: the same loop (same model, shape schedule, warm-up and sampling) in
// onnxruntime-node, printing one JSON line. bench_ort.js has no soak mode (no per-run shape changes, no RSS
// samples over time), hence this script; it loads the onnxruntime-node package the peer's setup.sh installed.
//
//   node --expose-gc bench/soak_ort.js MODEL small|resnet18 RUNS ARENA(1|0) THREADS [--modules DIR]
//
// Output tensors are freed by V8's garbage collector, not when the run returns: with --expose-gc the loop
// collects before every RSS sample, so samples show the engine's memory rather than garbage not yet collected.
'use strict';
const fs = require('fs');
const path = require('path');

const args = process.argv.slice(2);
const modulesAt = args.indexOf('--modules');
const modules = modulesAt >= 0 ? args[modulesAt + 1] : path.join(__dirname, '..', '..', 'shared', 'peer', 'node_modules');
const ort = require(path.join(modules, 'onnxruntime-node'));
const [model, schedule, runsText, arenaText, threadsText] = args;
const runs = Number(runsText);

// Mirrors small_shape / resnet_shape in bench/soak.py.
const schedules = {
  small: (i) => [1 + (i * 5) % 8, 1 + (i * 11) % 32, 32],
  resnet18: (i) => [1 + i % 3, 3, 224, 224],
};
const shapeOf = schedules[schedule];

function rssKb() {
  const fields = fs.readFileSync('/proc/self/statm', 'utf8').split(' ');
  return Number(fields[1]) * 4;
}
function hwmKb() {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/);
  return m ? Number(m[1]) : 0;
}
function resetHwm() {
  try { fs.writeFileSync('/proc/self/clear_refs', '5'); return true; } catch (e) { return false; }
}
const collect = global.gc ? () => global.gc() : () => {};

async function main() {
  const session = await ort.InferenceSession.create(model, {
    enableCpuMemArena: arenaText === '1', intraOpNumThreads: Number(threadsText), interOpNumThreads: 1,
    executionMode: 'sequential', logSeverityLevel: 3,
  });
  const name = session.inputNames[0];
  collect();
  const created = rssKb();
  const inputs = new Map();  // one tensor per shape, made once
  let seed = 1;
  const feed = (i) => {
    const shape = shapeOf(i);
    const key = shape.join('x');
    if (!inputs.has(key)) {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      for (let k = 0; k < n; ++k) { seed = (seed * 1103515245 + 12345) % 2147483648; data[k] = seed / 2147483648 - 0.5; }
      inputs.set(key, new ort.Tensor('float32', data, shape));
    }
    return {[name]: inputs.get(key)};
  };
  const warmup = Math.max(Math.floor(runs / 10), 64);
  const every = Math.max(1, Math.floor(runs / 1000));
  for (let i = 0; i < warmup; ++i) await session.run(feed(i));
  collect();
  const warm = rssKb();
  const hwmReset = resetHwm();
  const samples = [];
  const start = process.hrtime.bigint();
  for (let i = warmup; i < warmup + runs; ++i) {
    await session.run(feed(i));
    if ((i - warmup) % every === 0) {
      collect();
      samples.push([i - warmup, rssKb()]);
    }
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  collect();
  console.log(JSON.stringify({created_kb: created, warm_kb: warm, end_kb: rssKb(), peak_kb: hwmReset ? hwmKb() : null,
    samples, seconds, runs}));
}
main().catch((e) => { console.error(e.stack || String(e)); process.exit(1); });
