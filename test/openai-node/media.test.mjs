// Drives ragd's audio and image routes with the official OpenAI Node SDK,
// exactly as an application written for OpenAI's audio and image APIs
// would. Run by server/openai_node_media_test.go, which starts a ragd test
// server whose media models live on a fake provider (it answers speech
// with "ID3 <voice> says <input>", transcriptions with "heard <n> bytes of
// <filename>", images with one URL) and sets:
//
//	RAGD_URL  the server's root, without /v1
//	RAGD_KEY  a key
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI, { toFile } from 'openai';

// The SDK uploads through the global File, which Node gained in 20.
if (typeof globalThis.File === 'undefined') {
  globalThis.File = (await import('node:buffer')).File;
}

for (const name of ['RAGD_URL', 'RAGD_KEY']) {
  if (!process.env[name]) throw new Error(`${name} is not set: run this through server/openai_node_media_test.go (make test)`);
}
const client = new OpenAI({ baseURL: process.env.RAGD_URL + '/v1', apiKey: process.env.RAGD_KEY, maxRetries: 0, timeout: 30_000 });
const audio = Buffer.from('RIFF....WAVEfmt fake audio from node');

test('audio.speech.create returns the audio with its content type', async () => {
  const res = await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello from Node', speed: 1.25 });
  assert.equal(res.headers.get('content-type'), 'audio/mpeg');
  assert.equal(res.headers.get('x-model-used'), 'tts-1');
  assert.equal(Buffer.from(await res.arrayBuffer()).toString(), 'ID3 alloy says Hello from Node');
});

test('audio.speech.create refuses an input past 2,000 characters and an unknown voice', async () => {
  for (const [body, param] of [
    [{ model: 'tts-1', voice: 'alloy', input: 'x'.repeat(2001) }, 'input'],
    [{ model: 'tts-1', voice: 'zeus', input: 'hi' }, 'voice'],
  ]) {
    await assert.rejects(client.audio.speech.create(body), (err) => {
      assert.ok(err instanceof OpenAI.BadRequestError, `want BadRequestError, got ${err?.constructor?.name}: ${err?.message}`);
      assert.equal(err.param, param);
      return true;
    });
  }
  await assert.rejects(client.audio.speech.create({ model: 'tts-9', voice: 'alloy', input: 'hi' }), OpenAI.NotFoundError);
});

test('audio.transcriptions.create uploads the file with toFile', async () => {
  const file = await toFile(audio, 'hello.wav', { type: 'audio/wav' });
  const tr = await client.audio.transcriptions.create({ model: 'whisper-1', file, language: 'en' });
  assert.equal(tr.text, `heard ${audio.length} bytes of hello.wav`);
  const text = await client.audio.transcriptions.create({
    model: 'whisper-1', file: await toFile(audio, 'hello.wav'), response_format: 'text',
  });
  assert.equal(text, `heard ${audio.length} bytes\n`);
});

test('images.generate returns the provider\'s images', async () => {
  const img = await client.images.generate({ model: 'dall-e-3', prompt: 'a red fox in the snow', size: '1024x1024', n: 1 });
  assert.equal(img.data.length, 1);
  assert.equal(img.data[0].url, 'https://img.example/1.png');
  assert.equal(img.data[0].revised_prompt, 'a red fox');
  await assert.rejects(client.images.generate({ model: 'dall-e-3', prompt: '' }), OpenAI.BadRequestError);
});
