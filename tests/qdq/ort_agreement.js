#!/usr/bin/env node
// Runs a QDQ ONNX model in ONNX Runtime (onnxruntime-node, CPU) on NPY images and compares its
// top-1 with logits another engine wrote for the same images (mpq's int8 engine: `mpq run -o`).
//   node ort_agreement.js --model m_qdq.onnx --images x.npy --logits mpq.npy [--labels y.npy]
//        [--min-agreement 0.99] [--batch 500]
// Prints one JSON line {agreement, samples, ort_accuracy, ...}; exit 1 below --min-agreement,
// 2 on bad input.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

function die(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opt = {minAgreement: 0.99, batch: 500};
  const names = {'--model': 'model', '--images': 'images', '--logits': 'logits', '--labels': 'labels',
    '--min-agreement': 'minAgreement', '--batch': 'batch'};
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || i + 1 >= argv.length) die(`bad argument '${argv[i]}'`);
    opt[key] = ['minAgreement', 'batch'].includes(key) ? Number(argv[i + 1]) : argv[i + 1];
  }
  for (const k of ['model', 'images', 'logits']) if (!opt[k]) die(`--${k} is required`);
  return opt;
}

// NPY (v1-v3, little-endian, C order): float32, int64.
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
  if (!descr || !shape || /'fortran_order':\s*True/.test(header)) die(`${file}: unsupported NPY header`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  const T = {'<f4': Float32Array, '<i8': BigInt64Array}[descr[1]];
  if (!T) die(`${file}: dtype ${descr[1]} (expected float32 or int64)`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length - start !== count * T.BYTES_PER_ELEMENT) die(`${file}: size does not match its header`);
  return {dims, data: new T(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length))};
}

function argmaxRows(data, rows, cols) {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let c = 1; c < cols; c++) if (data[r * cols + c] > data[r * cols + best]) best = c;
    out[r] = best;
  }
  return out;
}

async function main() {
  const opt = parseArgs(process.argv.slice(2));
  const x = readNpy(opt.images);
  const ref = readNpy(opt.logits);
  const n = x.dims[0];
  if (ref.dims.length !== 2 || ref.dims[0] !== n) die(`${opt.logits}: need [${n}, classes] logits`);
  const classes = ref.dims[1];
  let session;
  try {
    session = await ort.InferenceSession.create(opt.model, {intraOpNumThreads: 2, interOpNumThreads: 1});
  } catch (e) {
    die(`${opt.model}: ONNX Runtime cannot load it: ${e.message}`);
  }
  const per = x.dims.slice(1).reduce((a, b) => a * b, 1);
  const ortTop = new Int32Array(n);
  for (let s = 0; s < n; s += opt.batch) {
    const b = Math.min(opt.batch, n - s);
    const t = new ort.Tensor('float32', x.data.subarray(s * per, (s + b) * per), [b, ...x.dims.slice(1)]);
    const y = (await session.run({[session.inputNames[0]]: t}))[session.outputNames[0]];
    ortTop.set(argmaxRows(y.data, b, classes), s);
  }
  const mpqTop = argmaxRows(ref.data, n, classes);
  let same = 0;
  for (let i = 0; i < n; i++) same += ortTop[i] === mpqTop[i];
  const result = {model: opt.model, samples: n, agreement: same / n};
  if (opt.labels) {
    const y = readNpy(opt.labels);
    let hits = 0;
    for (let i = 0; i < n; i++) hits += ortTop[i] === Number(y.data[i]);
    result.ort_accuracy = hits / n;
  }
  console.log(JSON.stringify(result));
  if (result.agreement < opt.minAgreement) {
    process.stderr.write(`top-1 agreement ${result.agreement} is below ${opt.minAgreement}\n`);
    process.exit(1);
  }
}

main().catch((e) => die(e.message));
