// The chat playground: RAG over one collection with one chat model,
// streamed, with numbered citations that open the passage they cite.

import { api, blob, stream, enc } from './api.js';
import { h, replace, dialog, toast, errorBox } from './ui.js';
import { collectionPicker } from './search.js';

// openPDF shows a PDF from ragd at a page, in a new tab: the file needs
// the key, so it is fetched and opened as a blob.
async function openPDF(col, source) {
  try {
    const b = await blob(`/vector_store/${enc(col)}/files/${enc(source.file_id)}/content`);
    const url = URL.createObjectURL(new Blob([b], { type: 'application/pdf' }));
    window.open(`${url}#page=${source.position.page || 1}`, '_blank', 'noopener');
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  } catch (e) { toast(e.message, 'error'); }
}

// showSource opens the cited passage.
export function showSource(col, n, s) {
  const where = [s.filename || `item ${s.item_id}`, s.position.page ? `page ${s.position.page}` : null, s.position.section || null].filter(Boolean).join(' · ');
  const isPDF = s.file_id && /\.pdf$/i.test(s.filename || '');
  return dialog(`[${n}] ${s.filename || s.item_id}`, [
    h('p', { class: 'hint source-where' }, where, ` · score ${s.score.toFixed(4)}`),
    h('pre', { class: 'passage' }, s.content),
    h('p', { class: 'buttons' },
      s.file_id ? h('a', { href: `#/collections/${enc(col)}/files/${enc(s.file_id)}#${s.id}`, class: 'button' }, 'All chunks of this file') : null,
      isPDF ? h('button', { type: 'button', onclick: () => openPDF(col, s) }, `Open the PDF at page ${s.position.page || 1}`) : null),
  ]);
}

// answerNodes renders an answer's text with each [n] as a button opening
// source n.
function answerNodes(text, sources, col) {
  const out = [];
  let last = 0;
  for (const m of text.matchAll(/\[(\d+)\]/g)) {
    const n = Number(m[1]);
    const s = sources[n - 1];
    if (!s) continue;
    out.push(text.slice(last, m.index));
    out.push(h('button', { type: 'button', class: 'cite', 'aria-label': `Source ${n}: ${s.filename || s.item_id}${s.position.page ? ', page ' + s.position.page : ''}`, onclick: () => showSource(col, n, s) }, `[${n}]`));
    last = m.index + m[0].length;
  }
  out.push(text.slice(last));
  return out;
}

export async function chatPage(main, ctx) {
  const select = await collectionPicker(main, ctx, 'Chat');
  if (!select) return;
  const models = (await api('/models', { signal: ctx.signal })).data.filter((m) => m.type === 'chat');
  const model = h('select', { name: 'model', id: 'model' }, models.map((m) => h('option', { value: m.id, selected: m.default || null }, m.id)));
  const topK = h('input', { name: 'top_k', id: 'chat-top-k', type: 'number', min: 1, max: 50, value: '5' });
  const log = h('div', { class: 'chat-log', id: 'chat-log', 'aria-live': 'polite' });
  const input = h('textarea', { id: 'question', name: 'question', rows: 2, required: true, placeholder: 'Ask a question about the collection (Enter sends, Shift+Enter for a new line)' });
  const send = h('button', { class: 'primary' }, 'Ask');
  const history = [];
  const form = h('form', { class: 'card chat-form' },
    h('div', { class: 'grid' }, h('label', {}, 'Collection', select), h('label', {}, 'Model', model), h('label', {}, 'Passages (top_k)', topK)),
    h('label', { for: 'question' }, 'Question'), input, h('div', { class: 'buttons' }, send,
      h('button', { type: 'button', onclick: () => { history.length = 0; log.replaceChildren(); } }, 'New conversation')));
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
  });
  select.addEventListener('change', () => { history.length = 0; log.replaceChildren(); });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    const col = select.value;
    input.value = '';
    send.disabled = true;
    history.push({ role: 'user', content: question });
    log.append(h('div', { class: 'msg user' }, h('h2', { class: 'sr-only' }, 'You'), h('p', {}, question)));
    const text = h('div', { class: 'answer', 'aria-busy': 'true' }, '…');
    const srcList = h('ol', { class: 'sources', 'aria-label': 'Sources' });
    const msg = h('div', { class: 'msg assistant' }, h('h2', { class: 'sr-only' }, 'Answer'), text, srcList);
    log.append(msg);
    let answer = '';
    let sources = [];
    const t0 = performance.now();
    try {
      await stream('/chat/completions/RAG', {
        collection: col, model: model.value, messages: history, retrieval: { top_k: Number(topK.value) || 5 },
      }, (ev) => {
        if (ev.sources) {
          sources = ev.sources;
          replace(srcList, sources.map((s, i) => h('li', {},
            h('button', { type: 'button', class: 'link', onclick: () => showSource(col, i + 1, s) },
              `[${i + 1}] ${s.filename || s.item_id}${s.position.page ? ', page ' + s.position.page : ''}`))));
        }
        const delta = ev.choices && ev.choices[0] && ev.choices[0].delta;
        if (delta && delta.content) {
          answer += delta.content;
          replace(text, answerNodes(answer, sources, col));
        }
      }, ctx.signal);
      history.push({ role: 'assistant', content: answer });
      text.removeAttribute('aria-busy');
      if (!answer) text.textContent = '(no answer)';
      msg.append(h('p', { class: 'hint' }, `${model.value} · ${((performance.now() - t0) / 1000).toFixed(2)} s · ${sources.length} passages`));
    } catch (err) {
      if (err.name === 'AbortError') return;
      history.pop();
      text.removeAttribute('aria-busy');
      replace(text, errorBox(err));
    } finally {
      send.disabled = false;
      input.focus();
    }
  });
  replace(main, h('h1', {}, 'Chat'), log, form);
  input.focus();
}
