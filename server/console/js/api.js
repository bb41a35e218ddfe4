// The console's only way to ragd: the /v1 API with the signed-in key as a
// bearer token. The key lives in sessionStorage: it is gone when the tab
// closes, and the server keeps no console session.

const KEY = 'ragd.key';

export const getKey = () => sessionStorage.getItem(KEY) || '';
export const setKey = (k) => sessionStorage.setItem(KEY, k);
export const clearKey = () => { sessionStorage.removeItem(KEY); sessionStorage.removeItem('ragd.admin'); };

// APIError is an error answer of the API: its status, message and code.
export class APIError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code || '';
  }
}

// An answer of 401 to a signed-in request means the key was revoked or
// is wrong: the app sends the user back to the sign-in page.
function unauthorized(err) {
  if (err.status === 401) window.dispatchEvent(new CustomEvent('ragd:unauthorized', { detail: err.message }));
  return err;
}

async function errorOf(resp) {
  const text = await resp.text();
  let e = null;
  try { e = JSON.parse(text).error; } catch { /* not JSON */ }
  return new APIError(resp.status, (e && e.message) || `${resp.status} ${resp.statusText}`, e && e.code);
}

function headers(extra) {
  return Object.assign({ Authorization: 'Bearer ' + getKey() }, extra);
}

// api calls a /v1 route and returns its decoded JSON answer.
export async function api(path, { method = 'GET', body, signal, quiet } = {}) {
  const opts = { method, headers: headers(), signal };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const resp = await fetch('/v1' + path, opts);
  if (!resp.ok) {
    const err = await errorOf(resp);
    throw quiet ? err : unauthorized(err);
  }
  return resp.status === 204 ? null : resp.json();
}

// blob downloads a /v1 route's bytes (a file's original).
export async function blob(path) {
  const resp = await fetch('/v1' + path, { headers: headers() });
  if (!resp.ok) throw unauthorized(await errorOf(resp));
  return resp.blob();
}

// upload sends one file to a collection with XMLHttpRequest, the one
// browser API that reports upload progress, and resolves to the file.
export function upload(collection, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/vector_store/${encodeURIComponent(collection)}/files`);
    xhr.setRequestHeader('Authorization', 'Bearer ' + getKey());
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300 && data) return resolve(data.file);
      const e = data && data.error;
      reject(unauthorized(new APIError(xhr.status, (e && e.message) || `upload failed (${xhr.status})`, e && e.code)));
    };
    xhr.onerror = () => reject(new APIError(0, 'the upload could not reach ragd'));
    const form = new FormData();
    form.append('file', file, file.name);
    xhr.send(form);
  });
}

// stream posts body to a streaming route and calls onEvent with each
// server-sent event's JSON until [DONE].
export async function stream(path, body, onEvent, signal) {
  const resp = await fetch('/v1' + path, {
    method: 'POST', signal,
    headers: headers({ 'Content-Type': 'application/json', Accept: 'text/event-stream' }),
    body: JSON.stringify(Object.assign({}, body, { stream: true })),
  });
  if (!resp.ok) throw unauthorized(await errorOf(resp));
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const event = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (!data) continue;
      if (data === '[DONE]') return;
      const msg = JSON.parse(data);
      if (msg.error) throw new APIError(500, msg.error.message || 'the stream failed', msg.error.code);
      onEvent(msg);
    }
  }
}

// isAdmin reports whether the signed-in key is an admin key: only those
// may list keys. Remembered for the session.
export async function isAdmin() {
  const known = sessionStorage.getItem('ragd.admin');
  if (known !== null) return known === '1';
  let admin = true;
  try {
    await api('/keys?limit=1', { quiet: true });
  } catch (e) {
    if (e.status !== 403) throw unauthorized(e);
    admin = false;
  }
  sessionStorage.setItem('ragd.admin', admin ? '1' : '0');
  return admin;
}

// enc encodes one path segment.
export const enc = encodeURIComponent;
