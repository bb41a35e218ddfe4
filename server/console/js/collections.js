// Collections, their files (upload, live status, download, delete), items
// and a file's chunks.

import { api, blob, upload, enc } from './api.js';
import { h, replace, fmtBytes, fmtNum, fmtTime, toast, errorBox, confirmAction, ask, pager, table, download, badge, dialog } from './ui.js';

const done = (f) => f.status === 'completed' || f.status === 'failed';
const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const t = setTimeout(resolve, ms);
  signal.addEventListener('abort', () => { clearTimeout(t); reject(new DOMException('page left', 'AbortError')); }, { once: true });
});

export async function collectionsPage(main, ctx) {
  const list = h('div', { 'aria-live': 'polite' });
  const p = pager((after) => api(`/vector_store?limit=20&after=${enc(after)}`, { signal: ctx.signal }), (data) => {
    if (!data.collections.length) {
      replace(list, h('p', { class: 'empty' }, 'No collections yet: create one below.'));
      return;
    }
    replace(list, table('Collections', ['Name', 'Model', 'Items', 'Files', 'Chunks', 'Size', 'Updated', h('span', { class: 'sr-only' }, 'Actions')],
      data.collections.map((c) => h('tr', { 'data-name': c.name },
        h('th', { scope: 'row' }, h('a', { href: `#/collections/${enc(c.id)}` }, c.name), c.description ? h('div', { class: 'hint' }, c.description) : null),
        h('td', {}, c.embedding_model), h('td', { class: 'num' }, fmtNum(c.item_count)), h('td', { class: 'num' }, fmtNum(c.file_count)),
        h('td', { class: 'num' }, fmtNum(c.chunk_count)), h('td', { class: 'num' }, fmtBytes(c.bytes)), h('td', {}, fmtTime(c.updated)),
        h('td', { class: 'actions' },
          h('button', { type: 'button', onclick: () => rename(c) }, 'Rename', h('span', { class: 'sr-only' }, ' ' + c.name)),
          h('button', { type: 'button', class: 'danger', onclick: () => remove(c) }, 'Delete', h('span', { class: 'sr-only' }, ' ' + c.name)))))));
  });
  async function rename(c) {
    const name = await ask(`Rename ${c.name}`, 'New name', c.name);
    if (!name || name === c.name) return;
    try {
      await api(`/vector_store/${enc(c.id)}`, { method: 'PATCH', body: { name } });
      toast(`Renamed to ${name}`);
      await p.reload();
    } catch (e) { toast(e.message, 'error'); }
  }
  async function remove(c) {
    if (!await confirmAction(`Delete ${c.name}?`, `This deletes the collection ${c.name} with its ${fmtNum(c.item_count)} items, ${fmtNum(c.file_count)} files and ${fmtNum(c.chunk_count)} chunks. It cannot be undone.`)) return;
    try {
      await api(`/vector_store/${enc(c.id)}`, { method: 'DELETE' });
      toast(`Deleted ${c.name}`);
      await p.load();
    } catch (e) { toast(e.message, 'error'); }
  }

  const models = await api('/models', { signal: ctx.signal });
  const embedding = models.data.filter((m) => m.type === 'embedding');
  const status = h('p', { role: 'status' });
  const form = h('form', { class: 'card grid', 'aria-labelledby': 'create-title' },
    h('h2', { id: 'create-title' }, 'Create a collection'),
    h('label', {}, 'Name', h('input', { name: 'name', required: true, maxlength: 256, autocomplete: 'off' })),
    h('label', {}, 'Description', h('input', { name: 'description', autocomplete: 'off' })),
    h('label', {}, 'Embedding model', h('select', { name: 'model' }, embedding.map((m) =>
      h('option', { value: m.id, selected: m.default || null }, `${m.id} (${m.dimensions} dims)`)))),
    h('label', {}, 'Chunk size (tokens)', h('input', { name: 'max_tokens', type: 'number', min: 16, max: 8192, placeholder: '512' })),
    h('label', {}, 'Chunk overlap (tokens)', h('input', { name: 'overlap_tokens', type: 'number', min: 0, max: 4096, placeholder: '64' })),
    h('div', { class: 'buttons' }, h('button', { class: 'primary' }, 'Create collection')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { name: f.get('name').trim(), embedding_model: f.get('model') };
    if (f.get('description')) body.description = f.get('description');
    const chunking = {};
    if (f.get('max_tokens')) chunking.max_tokens = Number(f.get('max_tokens'));
    if (f.get('overlap_tokens')) chunking.overlap_tokens = Number(f.get('overlap_tokens'));
    if (Object.keys(chunking).length) body.chunking = chunking;
    try {
      const { collection } = await api('/vector_store', { method: 'POST', body });
      replace(status, 'Created ', h('a', { href: `#/collections/${enc(collection.id)}` }, collection.name), '.');
      status.className = '';
      form.reset();
      await p.load();
    } catch (err) {
      status.className = 'error';
      status.textContent = err.message;
    }
  });
  replace(main, h('h1', {}, 'Collections'), list, p.nav, form);
  await p.load();
}

const summary = (c) => `${c.embedding_model} · ${fmtNum(c.item_count)} items · ${fmtNum(c.file_count)} files · ${fmtNum(c.chunk_count)} chunks · ${fmtBytes(c.bytes)} · chunks of ${c.chunking.max_tokens} tokens, ${c.chunking.overlap_tokens} overlap`;

// collectionHeader draws a collection's name, counts and tabs.
function collectionHeader(c, tab) {
  const link = (href, label, name) => h('a', { href, 'aria-current': tab === name ? 'page' : null }, label);
  return [
    h('p', { class: 'crumbs' }, h('a', { href: '#/collections' }, 'Collections'), ' / '),
    h('h1', {}, c.name),
    h('p', { class: 'hint', id: 'col-summary' }, summary(c)),
    h('nav', { class: 'tabs', 'aria-label': 'Collection' },
      link(`#/collections/${enc(c.id)}`, 'Files', 'files'), link(`#/collections/${enc(c.id)}/items`, 'Items', 'items'),
      link(`#/search?c=${enc(c.id)}`, 'Search', 'search'), link(`#/chat?c=${enc(c.id)}`, 'Chat', 'chat')),
  ];
}

export async function collectionPage(main, ctx, id, tab) {
  const c = (await api(`/vector_store/${enc(id)}`, { signal: ctx.signal })).collection;
  sessionStorage.setItem('ragd.collection', c.id);
  replace(main, collectionHeader(c, tab));
  if (tab === 'items') return itemsTab(main, ctx, c);
  return filesTab(main, ctx, c);
}

async function downloadFile(col, f) {
  try {
    download(await blob(`/vector_store/${enc(col)}/files/${enc(f.id)}/content`), f.filename);
  } catch (e) { toast(e.message, 'error'); }
}

function statusCell(f) {
  return h('td', {}, badge(f.status), f.error ? h('div', { class: 'error small' }, `${f.error.code}: ${f.error.message}`) : null);
}

async function filesTab(main, ctx, c) {
  const base = `/vector_store/${enc(c.id)}/files`;
  const list = h('div');
  let pending = false;
  const p = pager((after) => api(`${base}?limit=20&after=${enc(after)}`, { signal: ctx.signal }), (data) => {
    pending = data.files.some((f) => !done(f));
    if (!data.files.length) {
      replace(list, h('p', { class: 'empty' }, 'No files yet.'));
      return;
    }
    replace(list, table('Files', ['File', 'Status', 'Size', 'Pages', 'Chunks', 'Tokens', 'Uploaded', h('span', { class: 'sr-only' }, 'Actions')],
      data.files.map((f) => h('tr', { 'data-filename': f.filename },
        h('th', { scope: 'row' }, h('a', { href: `#/collections/${enc(c.id)}/files/${enc(f.id)}` }, f.filename), h('div', { class: 'hint' }, f.content_type)),
        statusCell(f), h('td', { class: 'num' }, fmtBytes(f.bytes)), h('td', { class: 'num' }, f.pages ? fmtNum(f.pages) : ''),
        h('td', { class: 'num' }, fmtNum(f.chunks)), h('td', { class: 'num' }, fmtNum(f.tokens)), h('td', {}, fmtTime(f.created)),
        h('td', { class: 'actions' },
          h('button', { type: 'button', onclick: () => downloadFile(c.id, f) }, 'Download', h('span', { class: 'sr-only' }, ' ' + f.filename)),
          h('button', { type: 'button', class: 'danger', onclick: () => remove(f) }, 'Delete', h('span', { class: 'sr-only' }, ' ' + f.filename)))))));
  });
  // refresh draws the file list and the collection's counts again.
  async function refresh() {
    const [{ collection }] = await Promise.all([api(`/vector_store/${enc(c.id)}`, { signal: ctx.signal }), p.reload()]);
    const el = document.getElementById('col-summary');
    if (el) el.textContent = summary(collection);
  }
  async function remove(f) {
    if (!await confirmAction(`Delete ${f.filename}?`, `This deletes ${f.filename} with its ${fmtNum(f.chunks)} chunks from ${c.name}. It cannot be undone.`)) return;
    try {
      await api(`${base}/${enc(f.id)}`, { method: 'DELETE' });
      toast(`Deleted ${f.filename}`);
      await refresh();
    } catch (e) { toast(e.message, 'error'); }
  }

  // Uploads: two at a time, each with its progress and then its ingest
  // status, polled until the file is completed or failed.
  const uploads = h('ul', { class: 'uploads', 'aria-live': 'polite', 'aria-label': 'Uploads' });
  const queue = [];
  let running = 0;
  function add(files) {
    for (const file of files) {
      const bar = h('progress', { max: 1, value: 0, 'aria-label': `Upload of ${file.name}` });
      const st = h('span', { class: 'status' }, 'waiting');
      const li = h('li', { 'data-filename': file.name }, h('span', { class: 'name' }, file.name), bar, st);
      uploads.append(li);
      queue.push({ file, bar, st, li });
    }
    pump();
  }
  function show(u, status, message) {
    u.li.dataset.status = status;
    replace(u.st, badge(status), message ? h('span', { class: 'error small' }, ' ' + message) : null);
  }
  function pump() {
    while (running < 2 && queue.length) {
      const u = queue.shift();
      running++;
      run(u).catch((e) => { if (e.name !== 'AbortError') show(u, 'failed', e.message); }).finally(() => { running--; pump(); });
    }
  }
  async function run(u) {
    u.st.textContent = 'uploading';
    let f = await upload(c.id, u.file, (frac) => { u.bar.value = frac; u.st.textContent = `uploading ${Math.round(frac * 100)}%`; });
    u.bar.value = 1;
    p.reload().catch(() => {});
    while (!done(f)) {
      show(u, f.status);
      await sleep(400, ctx.signal);
      f = (await api(`${base}/${enc(f.id)}`, { signal: ctx.signal })).file;
    }
    show(u, f.status, f.error ? `${f.error.code}: ${f.error.message}` : '');
    await refresh();
  }

  const input = h('input', { type: 'file', multiple: true, id: 'file-input', class: 'sr-only', onchange: (e) => { add([...e.target.files]); e.target.value = ''; } });
  const zone = h('div', { class: 'drop', id: 'drop' },
    input,
    h('p', {}, h('strong', {}, 'Drop files here'), ' or ', h('label', { for: 'file-input', class: 'button' }, 'choose files')),
    h('p', { class: 'hint' }, 'PDF, HTML, Markdown, text, DOCX, CSV, JSON Lines or JSON; many at once.'));
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => { e.preventDefault(); zone.classList.remove('over'); add([...e.dataTransfer.files]); });

  main.append(h('section', { 'aria-labelledby': 'upload-title' }, h('h2', { id: 'upload-title' }, 'Upload'), zone, uploads),
    h('section', { 'aria-labelledby': 'files-title' }, h('h2', { id: 'files-title' }, 'Files'), list, p.nav));
  await p.load();
  // Files ingesting (uploaded here or elsewhere) are shown live.
  (async () => {
    for (;;) {
      await sleep(1500, ctx.signal);
      if (pending) await refresh();
    }
  })().catch(() => {});
}

const metaText = (m) => (m && Object.keys(m).length ? JSON.stringify(m) : '');

async function itemsTab(main, ctx, c) {
  const list = h('div');
  const p = pager((after) => api(`/vector_store/${enc(c.id)}/items?limit=20&after=${enc(after)}`, { signal: ctx.signal }), (data) => {
    if (!data.items.length) {
      replace(list, h('p', { class: 'empty' }, 'No items yet.'));
      return;
    }
    replace(list, table('Items', ['Item', 'File', 'Chunks', 'Tokens', 'Metadata', 'Created'],
      data.items.map((it) => h('tr', {},
        h('th', { scope: 'row' }, h('button', { type: 'button', class: 'link', onclick: () => view(it) }, it.description || it.id)),
        h('td', {}, it.file_id ? h('a', { href: `#/collections/${enc(c.id)}/files/${enc(it.file_id)}` }, 'chunks') : ''),
        h('td', { class: 'num' }, fmtNum(it.chunk_count)), h('td', { class: 'num' }, fmtNum(it.tokens)),
        h('td', {}, h('code', { class: 'meta' }, metaText(it.metadata))), h('td', {}, fmtTime(it.created))))));
  });
  const view = (it) => dialog(it.id, [
    h('p', { class: 'hint' }, `${fmtNum(it.chunk_count)} chunks · ${fmtNum(it.tokens)} tokens · ${fmtTime(it.created)}`),
    metaText(it.metadata) ? h('pre', { class: 'meta' }, JSON.stringify(it.metadata, null, 2)) : null,
    h('pre', { class: 'passage' }, it.content)]);
  main.append(list, p.nav);
  await p.load();
}

export async function filePage(main, ctx, colID, fileID) {
  const [{ collection: c }, { file: f }] = await Promise.all([
    api(`/vector_store/${enc(colID)}`, { signal: ctx.signal }),
    api(`/vector_store/${enc(colID)}/files/${enc(fileID)}`, { signal: ctx.signal })]);
  const dl = h('dl', { class: 'facts' }, [
    ['Status', badge(f.status)], ['Type', f.content_type], ['Size', fmtBytes(f.bytes)], ['Pages', f.pages || '—'],
    ['Chunks', fmtNum(f.chunks)], ['Tokens', fmtNum(f.tokens)], ['Uploaded', fmtTime(f.created)], ['SHA-256', h('code', {}, f.sha256)],
    ['Metadata', h('code', {}, metaText(f.metadata) || '—')],
  ].map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  const chunks = h('ol', { class: 'chunks', 'aria-label': 'Chunks' });
  const more = h('button', { type: 'button', hidden: true }, 'Load more chunks');
  let after = '';
  async function load() {
    const data = await api(`/vector_store/${enc(colID)}/files/${enc(fileID)}/chunks?limit=50&after=${enc(after)}`, { signal: ctx.signal });
    for (const ch of data.chunks) {
      chunks.append(h('li', { id: ch.id },
        h('h3', {}, `Chunk ${ch.position.chunk + 1}`, ch.position.page ? h('span', { class: 'page' }, ` · page ${ch.position.page}`) : null,
          ch.position.section ? h('span', { class: 'hint' }, ` · ${ch.position.section}`) : null, h('span', { class: 'hint' }, ` · ${ch.tokens} tokens`)),
        h('pre', { class: 'passage' }, ch.content)));
    }
    after = data.last_id || '';
    more.hidden = !data.has_more;
    if (!chunks.children.length) chunks.replaceWith(h('p', { class: 'empty' }, f.status === 'completed' ? 'This file has no chunks.' : `No chunks: the file is ${f.status}.`));
  }
  more.addEventListener('click', () => load().catch((e) => toast(e.message, 'error')));
  replace(main,
    h('p', { class: 'crumbs' }, h('a', { href: '#/collections' }, 'Collections'), ' / ', h('a', { href: `#/collections/${enc(c.id)}` }, c.name), ' / '),
    h('h1', {}, f.filename),
    f.error ? errorBox(new Error(`${f.error.code}: ${f.error.message}`)) : null,
    dl, h('p', {}, h('button', { type: 'button', onclick: () => downloadFile(c.id, f) }, 'Download the original')),
    h('h2', {}, 'Chunks, in document order'), chunks, more);
  await load();
}
