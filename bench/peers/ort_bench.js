#!/usr/bin/env node
// ONNX Runtime (onnxruntime-node, CPU) peer benchmark for mpq: latency of an ONNX model at a fixed
// batch (default 128) with 2 intra-op threads, median / p10 / p90 over --iters timed runs after
// --warmup runs, and optionally top-1 accuracy on NPY test data (float32 NCHW images + int64 or
// uint8 labels, e.g. written by fashion.py). Prints one JSON object (and writes it with --json).
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require('onnxruntime-node');

const HELP = `usage: node ort_bench.js --model m.onnx [--batch 128] [--threads 2] [--warmup 5]
       [--iters 30] [--rounds 3] [--images x.npy --labels y.npy] [--name NAME] [--variant V] [--json out.json]
  --model    ONNX file (first input must be float32 NCHW with a free or matching batch axis)
  --batch    batch size timed (default 128)
  --threads  ONNX Runtime intra-op threads (default 2; inter-op 1, sequential execution)
  --warmup   untimed runs first (default 5)
  --iters    timed runs per round (default 30)
  --rounds   rounds of --iters runs; the round with the lowest median is reported (default 3)
  --images   NPY float32 images [N,C,H,W]: timing uses its first batch, accuracy uses all
  --labels   NPY labels [N] (int64/int32/uint8): enables the accuracy over --images
  --name     model name put in the JSON (default: file name)
  --variant  variant label put in the JSON (default "ort")
  --json     also write the result to this file`;

function die(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opt = {batch: 128, threads: 2, warmup: 5, iters: 30, rounds: 3, variant: 'ort'};
  const ints = new Set(['batch', 'threads', 'warmup', 'iters', 'rounds']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      console.log(HELP);
      process.exit(0);
    }
    if (!a.startsWith('--') || i + 1 >= argv.length) die(`bad argument '${a}'\n${HELP}`);
    const key = a.slice(2);
    const val = argv[++i];
    if (!['model', 'batch', 'threads', 'warmup', 'iters', 'rounds', 'images', 'labels', 'name', 'variant',
          'json'].includes(key)) {
      die(`unknown option --${key}\n${HELP}`);
    }
    if (ints.has(key)) {
      const n = Number(val);
      if (!Number.isInteger(n) || n < (key === 'warmup' ? 0 : 1)) die(`--${key} needs a positive integer, got '${val}'`);
      opt[key] = n;
    } else {
      opt[key] = val;
    }
  }
  if (!opt.model) die(`--model is required\n${HELP}`);
  if (opt.labels && !opt.images) die('--labels needs --images');
  return opt;
}

// Minimal NPY reader (v1-v3, little-endian, C order).
function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    die(`${file}: ${e.message}`);
  }
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') die(`${file}: not an NPY file`);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + hlen;
  const header = buf.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header);
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header);
  if (!descr || !shape) die(`${file}: unreadable NPY header`);
  if (/'fortran_order':\s*True/.test(header)) die(`${file}: Fortran-order NPY is not supported`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const count = dims.reduce((a, b) => a * b, 1);
  const types = {'<f4': Float32Array, '<i8': BigInt64Array, '<i4': Int32Array, '|u1': Uint8Array};
  const T = types[descr[1]];
  if (!T) die(`${file}: dtype ${descr[1]} not supported (float32, int64, int32, uint8)`);
  if (buf.length - start !== count * T.BYTES_PER_ELEMENT) {
    die(`${file}: header says shape [${dims}] but the file holds ${buf.length - start} data bytes`);
  }
  const copy = buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length);  // aligned
  return {dims, data: new T(copy)};
}

function percentile(sorted, p) {
  // Linear interpolation, as numpy.percentile's default.
  const r = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(r);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo);
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(opt.model)) die(`${opt.model}: no such file`);
  let session;
  try {
    session = await ort.InferenceSession.create(opt.model, {
      intraOpNumThreads: opt.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    die(`${opt.model}: ONNX Runtime cannot load it: ${e.message}`);
  }
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];

  let images = null;
  let labels = null;
  if (opt.images) images = readNpy(opt.images);
  if (opt.labels) {
    labels = readNpy(opt.labels);
    if (labels.dims[0] !== images.dims[0]) {
      die(`${opt.labels}: ${labels.dims[0]} labels for ${images.dims[0]} images in ${opt.images}`);
    }
  }
  let sample;
  if (images) {
    if (images.dims.length !== 4 || !(images.data instanceof Float32Array)) die(`${opt.images}: need float32 [N,C,H,W]`);
    if (images.dims[0] < opt.batch) die(`${opt.images}: ${images.dims[0]} images, fewer than --batch ${opt.batch}`);
    sample = images.dims.slice(1);
  } else {
    // No data: take C,H,W from the model's metadata-free guess via a tiny probe is not possible in
    // the JS API, so require it from known zoo input shapes.
    const base = path.basename(opt.model);
    sample = base.startsWith('resnet18_cifar') ? [3, 32, 32] : base.startsWith('mnist_naive') ? [1, 28, 28] : null;
    if (!sample) die(`${opt.model}: pass --images so the input shape is known`);
  }
  const per = sample.reduce((a, b) => a * b, 1);
  const x = new Float32Array(opt.batch * per);
  if (images) {
    x.set(images.data.subarray(0, opt.batch * per));
  } else {
    let s = 12345;
    for (let i = 0; i < x.length; i++) {
      s = (s * 1103515245 + 12345) >>> 0;
      x[i] = s / 4294967296 - 0.5;
    }
  }
  const feed = {[inName]: new ort.Tensor('float32', x, [opt.batch, ...sample])};

  // Rounds of --iters runs; the round with the lowest median is reported (the machine is shared,
  // so a round can be slowed by other work).
  const load = require('os').loadavg()[0];
  for (let i = 0; i < opt.warmup; i++) await session.run(feed);
  let ms = null;
  const medians = [];
  for (let r = 0; r < opt.rounds; r++) {
    const cur = [];
    for (let i = 0; i < opt.iters; i++) {
      const t0 = process.hrtime.bigint();
      await session.run(feed);
      cur.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
    cur.sort((a, b) => a - b);
    medians.push(Math.round(percentile(cur, 50) * 1000) / 1000);
    if (ms === null || percentile(cur, 50) < percentile(ms, 50)) ms = cur;
  }
  const med = percentile(ms, 50);

  let accuracy = null;
  if (labels) {
    const n = images.dims[0];
    let correct = 0;
    for (let b = 0; b < n; b += opt.batch) {
      const m = Math.min(opt.batch, n - b);
      const t = new ort.Tensor('float32', images.data.subarray(b * per, (b + m) * per), [m, ...sample]);
      const out = (await session.run({[inName]: t}))[outName];
      const k = out.dims[1];
      for (let r = 0; r < m; r++) {
        let best = 0;
        for (let c = 1; c < k; c++) if (out.data[r * k + c] > out.data[r * k + best]) best = c;
        if (best === Number(labels.data[b + r])) correct++;
      }
    }
    accuracy = correct / n;
  }
  const round = (v) => Math.round(v * 1000) / 1000;
  const result = {
    model: opt.name || path.basename(opt.model, '.onnx'),
    variant: opt.variant,
    median_ms: round(med),
    p10_ms: round(percentile(ms, 10)),
    p90_ms: round(percentile(ms, 90)),
    images_per_s: Math.round((opt.batch / med) * 1e4) / 10,
    accuracy,
    batch: opt.batch,
    threads: opt.threads,
    iters: opt.iters,
    round_medians_ms: medians,
    loadavg_1min: Math.round(load * 100) / 100,
    onnxruntime: require('onnxruntime-node/package.json').version,
  };
  const text = JSON.stringify(result);
  console.log(text);
  if (opt.json) {
    fs.writeFileSync(opt.json + '.tmp', text + '\n');
    fs.renameSync(opt.json + '.tmp', opt.json);
  }
}

main().catch((e) => die(e.stack || String(e)));
