// The search playground: a query against one collection with its mode,
// alpha, top_k and a metadata filter, results with their scores and the
// query's words marked.

import { api, enc } from './api.js';
import { h, replace, fmtNum, highlight, words, errorBox } from './ui.js';

// collectionPicker is a select of the workspace's collections (the first
// 100), preselecting ?c= or the collection last opened. With none, it
// fills main with a page titled title that says so, and returns null.
export async function collectionPicker(main, ctx, title, name = 'collection') {
  const data = await api('/vector_store?limit=100', { signal: ctx.signal });
  if (!data.collections.length) {
    replace(main, h('h1', {}, title), h('p', { class: 'empty' }, 'No collections yet. ', h('a', { href: '#/collections' }, 'Create one'), ' and add documents first.'));
    return null;
  }
  const wanted = new URLSearchParams(location.hash.split('?')[1] || '').get('c') || sessionStorage.getItem('ragd.collection');
  const select = h('select', { name, id: name, required: true }, data.collections.map((c) =>
    h('option', { value: c.id, selected: c.id === wanted || c.name === wanted || null }, c.name)));
  select.addEventListener('change', () => sessionStorage.setItem('ragd.collection', select.value));
  return select;
}

const OPS = [['eq', '='], ['ne', '≠'], ['gt', '>'], ['gte', '≥'], ['lt', '<'], ['lte', '≤'], ['in', 'in'], ['nin', 'not in']];
const BUILTIN_KEYS = ['filename', 'file_id', 'item_id'];

// parseValue reads a filter value as a number, boolean or string.
function parseValue(s) {
  s = s.trim();
  if (s === 'true' || s === 'false') return s === 'true';
  if (s !== '' && !Number.isNaN(Number(s))) return Number(s);
  return s;
}

export async function searchPage(main, ctx) {
  const select = await collectionPicker(main, ctx, 'Search');
  if (!select) return;
  const keys = h('datalist', { id: 'filter-keys' });
  async function loadKeys() {
    // Metadata keys offered by the filter builder: the built-ins and those
    // of the collection's first items.
    const found = new Set(BUILTIN_KEYS);
    try {
      const data = await api(`/vector_store/${enc(select.value)}/items?limit=100`, { signal: ctx.signal });
      for (const it of data.items) for (const k of Object.keys(it.metadata || {})) found.add(k);
    } catch { /* offer the built-ins */ }
    replace(keys, [...found].sort().map((k) => h('option', { value: k })));
  }
  select.addEventListener('change', loadKeys);
  loadKeys();

  const alphaOut = h('output', { for: 'alpha', id: 'alpha-value' }, '0.40');
  const alpha = h('input', { id: 'alpha', name: 'alpha', type: 'range', min: 0, max: 1, step: 0.05, value: '0.4', oninput: () => { alphaOut.textContent = Number(alpha.value).toFixed(2); } });
  const mode = h('select', { name: 'mode', id: 'mode', onchange: () => { alphaLabel.hidden = mode.value !== 'hybrid'; } },
    h('option', { value: 'hybrid' }, 'hybrid'), h('option', { value: 'vector' }, 'vector'), h('option', { value: 'keyword' }, 'keyword'));
  const alphaLabel = h('label', {}, 'Alpha (vector weight) ', alphaOut, alpha);
  const filters = h('div', { class: 'filters' });
  const addFilter = () => {
    const row = h('div', { class: 'filter-row', role: 'group', 'aria-label': 'Filter' },
      h('label', {}, 'Key', h('input', { name: 'fkey', list: 'filter-keys', required: true, autocomplete: 'off' })),
      h('label', {}, 'Operator', h('select', { name: 'fop' }, OPS.map(([v, l]) => h('option', { value: v }, l)))),
      h('label', {}, 'Value', h('input', { name: 'fvalue', autocomplete: 'off', placeholder: 'in/not in: comma-separated' })),
      h('button', { type: 'button', class: 'danger', onclick: () => row.remove() }, 'Remove'));
    filters.append(row);
    row.querySelector('input').focus();
  };
  const query = h('input', { id: 'query', name: 'query', type: 'search', required: true, autocomplete: 'off', placeholder: 'Ask or type keywords' });
  const topK = h('input', { id: 'top_k', name: 'top_k', type: 'number', min: 1, max: 100, value: '10' });
  const status = h('p', { id: 'search-status', role: 'status' });
  const results = h('ol', { class: 'results', id: 'results', 'aria-label': 'Results' });
  const form = h('form', { class: 'card grid', role: 'search' },
    h('label', { class: 'wide' }, 'Query', query),
    h('label', {}, 'Collection', select), h('label', {}, 'Mode', mode), alphaLabel, h('label', {}, 'Results (top_k)', topK),
    h('fieldset', { class: 'wide' }, h('legend', {}, 'Metadata filters (all must match)'), filters,
      h('button', { type: 'button', onclick: addFilter }, 'Add filter')),
    h('div', { class: 'buttons wide' }, h('button', { class: 'primary' }, 'Search')), keys);

  function filterOf() {
    const terms = [...filters.children].map((row) => {
      const op = row.querySelector('[name=fop]').value;
      const raw = row.querySelector('[name=fvalue]').value;
      const value = op === 'in' || op === 'nin' ? raw.split(',').map(parseValue) : parseValue(raw);
      return { key: row.querySelector('[name=fkey]').value.trim(), op, value };
    });
    if (!terms.length) return undefined;
    return terms.length === 1 ? terms[0] : { and: terms };
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { input: query.value, mode: mode.value, top_k: Number(topK.value) || 10 };
    if (mode.value === 'hybrid') body.alpha = Number(alpha.value);
    const filter = filterOf();
    if (filter) body.filter = filter;
    status.className = '';
    status.textContent = 'Searching…';
    results.replaceChildren();
    const t0 = performance.now();
    let data;
    try {
      data = await api(`/vector_store/${enc(select.value)}/search`, { method: 'POST', body, signal: ctx.signal });
    } catch (err) {
      if (err.name === 'AbortError') return;
      replace(status, errorBox(err));
      return;
    }
    const ms = performance.now() - t0;
    status.textContent = `${data.results.length} result${data.results.length === 1 ? '' : 's'} in ${ms.toFixed(0)} ms (${mode.value}, ${fmtNum(data.usage.total_tokens)} query tokens)`;
    const ws = words(query.value);
    replace(results, data.results.map((r, i) => h('li', { class: 'result' },
      h('header', {},
        h('span', { class: 'rank' }, `#${i + 1}`),
        h('span', { class: 'score', title: 'score' }, `score ${r.score.toFixed(4)}`),
        r.rerank_score != null ? h('span', { class: 'score' }, `rerank ${r.rerank_score.toFixed(4)}`) : null,
        r.file_id ? h('a', { href: `#/collections/${enc(select.value)}/files/${enc(r.file_id)}` }, r.filename) : h('span', {}, 'item ' + r.item_id),
        r.position.page ? h('span', { class: 'page' }, `page ${r.position.page}`) : null,
        h('span', { class: 'hint' }, `chunk ${r.position.chunk + 1}`),
        r.position.section ? h('span', { class: 'hint' }, r.position.section) : null),
      h('p', { class: 'passage' }, highlight(r.content || '', ws)),
      Object.keys(r.metadata || {}).length ? h('p', { class: 'meta' }, Object.entries(r.metadata).map(([k, v]) => h('code', {}, `${k}: ${JSON.stringify(v)}`))) : null)));
  });
  replace(main, h('h1', {}, 'Search'), form, status, results);
  query.focus();
}
