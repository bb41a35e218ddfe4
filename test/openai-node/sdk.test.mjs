// Drives ragd's OpenAI-compatible Files, Vector Stores and Responses routes
// with the official OpenAI Node SDK, exactly as an application written for
// OpenAI's hosted retrieval would. Run by server/openai_node_test.go, which
// starts a real ragd test server and sets:
//
//	RAGD_URL        the server's root, without /v1
//	RAGD_KEY        a key of one workspace
//	RAGD_OTHER_KEY  a key of another workspace
//
// The steps share state and run in order (node:test runs a file's tests one
// after another); a step whose prerequisite failed fails too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import OpenAI, { toFile } from 'openai';

// The SDK uploads through the global File, which Node gained in 20; Debian
// 12's nodejs is 18, where the SDK asks for exactly this.
if (typeof globalThis.File === 'undefined') {
  globalThis.File = (await import('node:buffer')).File;
}

for (const name of ['RAGD_URL', 'RAGD_KEY', 'RAGD_OTHER_KEY']) {
  if (!process.env[name]) throw new Error(`${name} is not set: run this through server/openai_node_test.go (make test)`);
}
const options = { baseURL: process.env.RAGD_URL + '/v1', maxRetries: 0, timeout: 30_000 };
const client = new OpenAI({ ...options, apiKey: process.env.RAGD_KEY });
const other = new OpenAI({ ...options, apiKey: process.env.RAGD_OTHER_KEY });

// Three small documents with distinct content (testdata/openai, shared with
// the openai-go tests). storage.md answers the backup question; the others
// share some of its words so that ranking and filters have something to
// tell apart.
const docsDir = new URL('../../testdata/openai/', import.meta.url);
const doc = (name, attributes) => ({ name, text: readFileSync(new URL(name, docsDir), 'utf8'), attributes });
const docs = {
  storage: doc('storage.md', { topic: 'operations', year: 2024, reviewed: true }),
  search: doc('search.md', { topic: 'operations', year: 2019, reviewed: false }),
  webhooks: doc('webhooks.txt', { topic: 'integrations', year: 2025, reviewed: true }),
};

const state = {}; // filled by the steps in order: ids of files and the vector store
const nowSeconds = () => Math.floor(Date.now() / 1000);

// assertSeconds checks that t is a Unix time in seconds near now (not
// milliseconds, not zero).
function assertSeconds(t, what) {
  assert.equal(typeof t, 'number', `${what} is not a number: ${t}`);
  assert.ok(Math.abs(t - nowSeconds()) < 3600, `${what} ${t} is not a Unix time in seconds near now (${nowSeconds()})`);
}

// rejectsWith checks that promise fails with the SDK's error class for
// status and OpenAI's error shape {"error": {"message", "type", "param",
// "code"}}; param, when given, is the field the error must name.
async function rejectsWith(promise, ErrorClass, status, param) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof ErrorClass, `want ${ErrorClass.name} (${status}), got ${err?.constructor?.name}: ${err?.message}`);
    assert.equal(err.status, status, err.message);
    assert.ok(err.error && typeof err.error === 'object', `no error object in the body: ${err.message}`);
    assert.equal(typeof err.error.message, 'string');
    assert.ok(err.error.message.length > 0, 'empty error.message');
    assert.equal(typeof err.type, 'string', `error.type missing: ${JSON.stringify(err.error)}`);
    assert.ok(err.type.length > 0, 'empty error.type');
    if (status === 400) assert.equal(err.type, 'invalid_request_error', JSON.stringify(err.error));
    if (param !== undefined) assert.equal(err.param, param, `error.param: ${JSON.stringify(err.error)}`);
    return true;
  });
}

// upload is files.create with a document as an application would send it.
async function upload(c, doc) {
  return c.files.create({ file: await toFile(Buffer.from(doc.text), doc.name), purpose: 'assistants' });
}

function assertFileObject(f, doc) {
  assert.equal(typeof f.id, 'string');
  assert.ok(f.id.length > 0);
  assert.equal(f.object, 'file');
  assert.equal(f.filename, doc.name);
  assert.equal(f.bytes, Buffer.byteLength(doc.text));
  assert.equal(f.purpose, 'assistants');
  assertSeconds(f.created_at, 'file created_at');
}

// need fails a step whose prerequisite, set by an earlier step, is missing,
// with one line instead of a stack trace.
function need(...keys) {
  for (const k of keys) {
    if (!state[k]) {
      const err = new Error(`an earlier step failed: no ${k}`);
      err.stack = err.message;
      throw err;
    }
  }
}

test('files.create uploads documents and files.retrieve/list return them', async () => {
  const storage = await upload(client, docs.storage);
  assertFileObject(storage, docs.storage);
  state.storage = storage.id;

  const again = await client.files.retrieve(storage.id);
  assertFileObject(again, docs.storage);
  assert.equal(again.id, storage.id);

  const ids = [];
  for await (const f of client.files.list({ purpose: 'assistants' })) ids.push(f.id);
  assert.ok(ids.includes(storage.id), `files.list lacks ${storage.id}: ${ids}`);
});

test('vectorStores.create with file_ids, then files.poll until the file is completed', { timeout: 60_000 }, async () => {
  need('storage');
  const vs = await client.vectorStores.create({
    name: 'ragd-sdk-test',
    file_ids: [state.storage],
    metadata: { project: 'ragd', suite: 'openai-node' },
  });
  assert.equal(vs.object, 'vector_store');
  assert.equal(typeof vs.id, 'string');
  assert.equal(vs.name, 'ragd-sdk-test');
  assert.deepEqual(vs.metadata, { project: 'ragd', suite: 'openai-node' });
  assert.equal(vs.file_counts.total, 1, JSON.stringify(vs.file_counts));
  assert.ok(['in_progress', 'completed'].includes(vs.status), vs.status);
  assertSeconds(vs.created_at, 'vector store created_at');
  state.vs = vs.id;

  const f = await client.vectorStores.files.poll(vs.id, state.storage, { pollIntervalMs: 50 });
  assert.equal(f.status, 'completed', JSON.stringify(f.last_error));
  assert.equal(f.object, 'vector_store.file');
  assert.equal(f.id, state.storage);
  assert.equal(f.vector_store_id, vs.id);
  assert.equal(f.last_error, null);
});

test('vectorStores.fileBatches.uploadAndPoll uploads and indexes two more files', { timeout: 60_000 }, async () => {
  need('vs');
  const batch = await client.vectorStores.fileBatches.uploadAndPoll(state.vs, {
    files: [await toFile(Buffer.from(docs.search.text), docs.search.name), await toFile(Buffer.from(docs.webhooks.text), docs.webhooks.name)],
  });
  assert.equal(batch.object, 'vector_store.files_batch');
  assert.equal(batch.vector_store_id, state.vs);
  assert.equal(batch.status, 'completed');
  assert.deepEqual(batch.file_counts, { cancelled: 0, completed: 2, failed: 0, in_progress: 0, total: 2 });

  const files = [];
  for await (const f of client.vectorStores.fileBatches.listFiles(batch.id, { vector_store_id: state.vs })) files.push(f);
  assert.equal(files.length, 2, JSON.stringify(files));
  // The batch's files are the uploaded files, known by their names.
  for (const f of files) {
    assert.equal(f.status, 'completed');
    const file = await client.files.retrieve(f.id);
    if (file.filename === docs.search.name) state.search = f.id;
    else if (file.filename === docs.webhooks.name) state.webhooks = f.id;
  }
  need('search', 'webhooks');

  const vs = await client.vectorStores.retrieve(state.vs);
  assert.equal(vs.status, 'completed');
  assert.deepEqual(vs.file_counts, { cancelled: 0, completed: 3, failed: 0, in_progress: 0, total: 3 });
});

test('vectorStores.files.list, with filter "completed" and "in_progress"', async () => {
  need('vs', 'storage', 'search', 'webhooks');
  const want = [state.storage, state.search, state.webhooks].sort();
  const all = [];
  for await (const f of client.vectorStores.files.list(state.vs)) {
    assert.equal(f.object, 'vector_store.file');
    assert.equal(f.vector_store_id, state.vs);
    assert.equal(f.status, 'completed');
    all.push(f.id);
  }
  assert.deepEqual(all.sort(), want);

  const completed = [];
  for await (const f of client.vectorStores.files.list(state.vs, { filter: 'completed' })) completed.push(f.id);
  assert.deepEqual(completed.sort(), want);

  const inProgress = await client.vectorStores.files.list(state.vs, { filter: 'in_progress' });
  assert.deepEqual(inProgress.data, []);

  // One file a page: the cursor (after) walks all three.
  const paged = [];
  for await (const f of client.vectorStores.files.list(state.vs, { limit: 1 })) paged.push(f.id);
  assert.deepEqual(paged.sort(), want);
});

test('vectorStores.files.update sets string, number and boolean attributes', async () => {
  need('vs', 'storage', 'search', 'webhooks');
  for (const key of ['storage', 'search', 'webhooks']) {
    const f = await client.vectorStores.files.update(state[key], { vector_store_id: state.vs, attributes: docs[key].attributes });
    assert.equal(f.id, state[key]);
    assert.equal(f.object, 'vector_store.file');
    assert.deepEqual(f.attributes, docs[key].attributes);
    const again = await client.vectorStores.files.retrieve(state[key], { vector_store_id: state.vs });
    assert.deepEqual(again.attributes, docs[key].attributes);
  }
});

test('vectorStores.search with a compound filter returns only the matching file', async () => {
  need('vs', 'storage', 'search', 'webhooks');
  const query = 'How do I back up the database while the server is running?';

  // Unfiltered, more than one file comes back, so the filter below has
  // something to remove.
  const unfiltered = await client.vectorStores.search(state.vs, { query, max_num_results: 10 });
  const files = new Set(unfiltered.data.map((r) => r.file_id));
  assert.ok(files.size > 1, `unfiltered search found only ${[...files]}`);
  assert.equal(unfiltered.data[0].file_id, state.storage, 'the backup passage is not ranked first');

  const page = await client.vectorStores.search(state.vs, {
    query,
    filters: {
      type: 'and',
      filters: [
        { type: 'eq', key: 'topic', value: 'operations' },
        { type: 'gte', key: 'year', value: 2020 },
      ],
    },
    max_num_results: 5,
  });
  assert.ok(page.data.length >= 1 && page.data.length <= 5, `${page.data.length} results`);
  for (const r of page.data) {
    assert.equal(r.file_id, state.storage);
    assert.equal(r.filename, docs.storage.name);
    assert.deepEqual(r.attributes, docs.storage.attributes);
    assert.equal(typeof r.score, 'number');
    assert.equal(r.content[0].type, 'text');
  }
  assert.match(page.data[0].content[0].text, /ragd backup/);

  // A boolean comparison: reviewed files are storage.md and webhooks.txt.
  const reviewed = await client.vectorStores.search(state.vs, {
    query: 'signature of webhook deliveries',
    filters: { type: 'eq', key: 'reviewed', value: true },
    max_num_results: 10,
  });
  assert.deepEqual([...new Set(reviewed.data.map((r) => r.file_id))].sort(), [state.storage, state.webhooks].sort());
  assert.equal(reviewed.data[0].file_id, state.webhooks);

  // max_num_results bounds the results.
  const one = await client.vectorStores.search(state.vs, { query, max_num_results: 1 });
  assert.equal(one.data.length, 1);
});

// ask is the question of both Responses steps, asked of the vector store
// with the file_search tool; extra adds to the request.
function ask(extra) {
  need('vs', 'storage', 'search', 'webhooks');
  return client.responses.create({
    model: 'ragd-extractive',
    input: 'How do I back up a running ragd server?',
    tools: [{ type: 'file_search', vector_store_ids: [state.vs] }],
    ...extra,
  });
}

test('responses.create with file_search answers from the files with file_citation annotations', async () => {
  const response = await ask({ include: ['file_search_call.results'] });
  const ids = [state.storage, state.search, state.webhooks];
  assert.equal(response.object, 'response');
  assert.equal(response.status, 'completed');
  assertSeconds(response.created_at, 'response created_at');

  const call = response.output.find((o) => o.type === 'file_search_call');
  assert.ok(call, `no file_search_call in output: ${JSON.stringify(response.output)}`);
  assert.equal(call.status, 'completed');
  assert.ok(call.queries.length >= 1, 'file_search_call has no queries');
  assert.ok(Array.isArray(call.results) && call.results.length >= 1, 'include file_search_call.results gave no results');
  for (const r of call.results) {
    assert.ok(ids.includes(r.file_id), `result file_id ${r.file_id}`);
    assert.equal(typeof r.filename, 'string');
    assert.equal(typeof r.text, 'string');
    assert.equal(typeof r.score, 'number');
  }
  assert.equal(call.results[0].file_id, state.storage);
  assert.deepEqual(call.results[0].attributes, docs.storage.attributes);

  const message = response.output.find((o) => o.type === 'message');
  assert.ok(message, `no message in output: ${JSON.stringify(response.output)}`);
  assert.ok(response.output.indexOf(call) < response.output.indexOf(message), 'the file_search_call does not come before the message');
  assert.equal(message.role, 'assistant');
  assert.equal(message.status, 'completed');
  const text = message.content.find((c) => c.type === 'output_text');
  assert.ok(text, `no output_text in ${JSON.stringify(message.content)}`);
  assert.ok(text.text.length > 0);
  assert.match(text.text, /ragd backup|VACUUM INTO/);
  assertFileCitations(text, ids);
  assert.ok(text.annotations.some((a) => a.file_id === state.storage), 'storage.md is not cited');

  // The SDK's convenience property joins the output_text parts.
  assert.equal(response.output_text, text.text);
});

function assertFileCitations(text, ids) {
  const citations = text.annotations.filter((a) => a.type === 'file_citation');
  assert.ok(citations.length >= 1, `no file_citation annotations: ${JSON.stringify(text.annotations)}`);
  const names = { [state.storage]: docs.storage.name, [state.search]: docs.search.name, [state.webhooks]: docs.webhooks.name };
  for (const a of citations) {
    assert.ok(ids.includes(a.file_id), `citation of unknown file ${a.file_id}`);
    assert.equal(a.filename, names[a.file_id]);
    assert.equal(typeof a.index, 'number');
    assert.ok(a.index >= 0 && a.index <= text.text.length, `citation index ${a.index} outside the text`);
  }
}

test('responses.create with file_search and stream: true', async () => {
  const stream = await ask({ stream: true });
  const ids = [state.storage, state.search, state.webhooks];
  const events = [];
  for await (const event of stream) events.push(event);
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'response.created', types.join(' '));
  assert.equal(types.at(-1), 'response.completed', types.join(' '));
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i].sequence_number > events[i - 1].sequence_number, `sequence_number not increasing at ${i}: ${types[i]}`);
  }

  // The main events, in the order OpenAI sends them for a file search
  // followed by a message (other events may come between them).
  const order = [
    'response.created',
    'response.in_progress',
    'response.output_item.added', // the file_search_call
    'response.file_search_call.in_progress',
    'response.file_search_call.searching',
    'response.file_search_call.completed',
    'response.output_item.done',
    'response.output_item.added', // the message
    'response.content_part.added',
    'response.output_text.delta',
    'response.output_text.done',
    'response.content_part.done',
    'response.output_item.done',
    'response.completed',
  ];
  let at = -1;
  for (const want of order) {
    const next = types.indexOf(want, at + 1);
    assert.ok(next > at, `${want} missing after position ${at} in: ${types.join(' ')}`);
    at = next;
  }

  const added = events.filter((e) => e.type === 'response.output_item.added').map((e) => e.item.type);
  assert.deepEqual(added, ['file_search_call', 'message']);
  const deltas = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
  const done = events.find((e) => e.type === 'response.output_text.done');
  assert.equal(deltas, done.text);
  assert.match(done.text, /ragd backup|VACUUM INTO/);

  for (const e of events.filter((e) => e.type === 'response.output_text.annotation.added')) {
    assert.equal(e.annotation.type, 'file_citation');
    assert.ok(ids.includes(e.annotation.file_id), `annotation of unknown file ${e.annotation.file_id}`);
  }

  const completed = events.at(-1).response;
  assert.equal(completed.status, 'completed');
  const message = completed.output.find((o) => o.type === 'message');
  assert.ok(message, `no message in the completed response: ${JSON.stringify(completed.output)}`);
  const text = message.content.find((c) => c.type === 'output_text');
  assert.equal(text.text, done.text);
  assertFileCitations(text, ids);
});

test('vectorStores.files.delete removes a file from the store, not from /v1/files', async () => {
  need('vs', 'storage', 'search', 'webhooks');
  const deleted = await client.vectorStores.files.delete(state.webhooks, { vector_store_id: state.vs });
  assert.equal(deleted.id, state.webhooks);
  assert.equal(deleted.object, 'vector_store.file.deleted');
  assert.equal(deleted.deleted, true);

  const left = [];
  for await (const f of client.vectorStores.files.list(state.vs)) left.push(f.id);
  assert.deepEqual(left.sort(), [state.storage, state.search].sort());
  await rejectsWith(client.vectorStores.files.retrieve(state.webhooks, { vector_store_id: state.vs }), OpenAI.NotFoundError, 404);

  const page = await client.vectorStores.search(state.vs, { query: 'signature of webhook deliveries', max_num_results: 10 });
  assert.ok(!page.data.some((r) => r.file_id === state.webhooks), 'the deleted file is still searched');

  const file = await client.files.retrieve(state.webhooks);
  assert.equal(file.filename, docs.webhooks.name);
});

test('bad input answers OpenAI error shapes and statuses', async (t) => {
  need('vs', 'storage');
  await t.test('17 attributes', async () => {
    const attributes = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`key${i}`, i]));
    await rejectsWith(client.vectorStores.files.update(state.storage, { vector_store_id: state.vs, attributes }), OpenAI.BadRequestError, 400, 'attributes');
    // Unchanged by the refused update.
    const f = await client.vectorStores.files.retrieve(state.storage, { vector_store_id: state.vs });
    assert.deepEqual(f.attributes, docs.storage.attributes);
  });
  // OpenAI's static chunking: 100 to 4096 tokens a chunk, an overlap of
  // at most half of it.
  const small = await upload(client, { name: 'small.txt', text: 'A short note about chunk sizes.' });
  const chunking = [
    ['below 100 tokens', 50, 0, 'max_chunk_size_tokens', (strategy) => client.vectorStores.files.create(state.vs, { file_id: small.id, chunking_strategy: strategy })],
    ['above 4096 tokens', 4097, 0, 'max_chunk_size_tokens', (strategy) => client.vectorStores.create({ name: 'big-chunks', chunking_strategy: strategy })],
    ['overlap over half the chunk', 200, 101, 'chunk_overlap_tokens', (strategy) => client.vectorStores.create({ name: 'overlap', chunking_strategy: strategy })],
  ];
  for (const [name, size, overlap, field, call] of chunking) {
    await t.test(`static chunking ${name}`, async () => {
      const strategy = { type: 'static', static: { max_chunk_size_tokens: size, chunk_overlap_tokens: overlap } };
      await rejectsWith(call(strategy), OpenAI.BadRequestError, 400, `chunking_strategy.static.${field}`);
    });
  }
  await t.test('missing purpose in files.create', async () => {
    await rejectsWith(client.files.create({ file: await toFile(Buffer.from('no purpose'), 'x.txt') }), OpenAI.BadRequestError, 400, 'purpose');
  });
  await t.test('missing file_id in vectorStores.files.create', async () => {
    await rejectsWith(client.vectorStores.files.create(state.vs, {}), OpenAI.BadRequestError, 400, 'file_id');
  });
  await t.test('missing query in vectorStores.search', async () => {
    await rejectsWith(client.vectorStores.search(state.vs, {}), OpenAI.BadRequestError, 400, 'query');
  });
  await t.test('unknown file_id in vectorStores.files.create', async () => {
    await rejectsWith(client.vectorStores.files.create(state.vs, { file_id: 'file-doesnotexist' }), OpenAI.NotFoundError, 404);
  });
  await t.test('unknown vector store', async () => {
    await rejectsWith(client.vectorStores.retrieve('vs_doesnotexist'), OpenAI.NotFoundError, 404);
  });
  await t.test("another workspace's vector store and file", async () => {
    const theirs = await other.vectorStores.create({ name: 'other-workspace' });
    const theirFile = await upload(other, { name: 'private.md', text: '# Private\n\nOnly the other workspace may read this.' });
    await rejectsWith(client.vectorStores.retrieve(theirs.id), OpenAI.NotFoundError, 404);
    await rejectsWith(client.vectorStores.search(theirs.id, { query: 'private' }), OpenAI.NotFoundError, 404);
    await rejectsWith(client.vectorStores.files.list(theirs.id), OpenAI.NotFoundError, 404);
    await rejectsWith(client.vectorStores.files.create(theirs.id, { file_id: state.storage }), OpenAI.NotFoundError, 404);
    await rejectsWith(client.files.retrieve(theirFile.id), OpenAI.NotFoundError, 404);
    await rejectsWith(client.vectorStores.files.create(state.vs, { file_id: theirFile.id }), OpenAI.NotFoundError, 404);
    // And the other way round: ours are not theirs.
    await rejectsWith(other.vectorStores.retrieve(state.vs), OpenAI.NotFoundError, 404);
    await rejectsWith(other.files.retrieve(state.storage), OpenAI.NotFoundError, 404);
  });
});
