#!/usr/bin/env node
// ONNX Runtime 1.30's per-node profile for `bench/compare.py --profile`: runs the peer's bench_ort.js unchanged
// (same options, inputs and timed loop) with ORT's profiler switched on, and writes ORT's Chrome trace (one
// event per node per run) to PREFIX_<date>.json. bench_ort.js has no profiling option; rather than repeat its
// input loading and loop here, this script wraps InferenceSession.create (the same onnxruntime-node module object
// bench_ort.js loads) to add enableProfiling, and ends profiling once the benchmark is done.
//
//   node bench/profile_ort.js BENCH_ORT_JS PREFIX MODEL [bench_ort.js options...]
'use strict';
const path = require('path');

const [benchOrt, prefix, ...rest] = process.argv.slice(2);
if (!benchOrt || !prefix || rest.length === 0) {
  console.error('usage: node bench/profile_ort.js BENCH_ORT_JS PREFIX MODEL [bench_ort.js options...]');
  process.exit(2);
}
const benchPath = path.resolve(benchOrt);
const ort = require(path.join(path.dirname(benchPath), 'node_modules', 'onnxruntime-node'));
const create = ort.InferenceSession.create.bind(ort.InferenceSession);
let session = null;
ort.InferenceSession.create = async (model, options) => {
  session = await create(model, {...options, enableProfiling: true, profileFilePrefix: prefix});
  return session;
};
process.on('beforeExit', () => {  // the benchmark's promise chain has finished
  if (session) session.endProfiling();
  session = null;
});
process.argv = [process.argv[0], benchPath, ...rest];
require(benchPath);
