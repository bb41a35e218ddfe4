// Small DOM helpers: every page builds its elements with h(), so text from
// the API always lands in text nodes, never in HTML.

// h creates an element: props are attributes, except on* (listeners) and
// the properties value, checked and selected; children are nodes, strings
// or (nested) arrays of them, with null and false left out.
export function h(tag, props, ...children) {
  const el = tag.includes(':') ? document.createElementNS('http://www.w3.org/2000/svg', tag.split(':')[1]) : document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// replace empties el and fills it with children.
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmtBytes(n) {
  if (n == null) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(n < 10 ? 1 : 0) : n) + ' ' + units[i];
}

export const fmtNum = (n) => (n == null ? '' : Number(n).toLocaleString('en'));

export function fmtTime(unix) {
  if (!unix) return '';
  return new Date(unix * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

let toastTimer;
// toast shows a short message in the live region.
export function toast(msg, kind = 'ok') {
  const t = document.getElementById('toast');
  t.className = 'toast ' + kind;
  t.textContent = msg;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.textContent = ''; t.className = 'toast'; }, 5000);
}

// errorBox is an alert that says what failed.
export const errorBox = (err) => h('p', { class: 'error', role: 'alert' }, err.message || String(err));

// dialog shows a modal <dialog> with a title, a body and buttons, and
// resolves to the value of the button pressed (Escape: null).
export function dialog(title, body, buttons = [{ label: 'Close', value: null }]) {
  return new Promise((resolve) => {
    let value = null;
    const form = h('form', { method: 'dialog' },
      h('h2', {}, title),
      h('div', { class: 'dialog-body' }, body),
      // A cancel button is not a submit button: Enter in a field submits
      // the form with its first submit button, which must not be Cancel.
      h('div', { class: 'buttons' }, buttons.map((b) => (b.cancel
        ? h('button', { type: 'button', class: b.class || null, autofocus: b.autofocus || null, onclick: () => { value = b.value; dlg.close(); } }, b.label)
        : h('button', { value: b.value ?? '', class: b.class || null, autofocus: b.autofocus || null }, b.label)))));
    const dlg = h('dialog', { 'aria-label': title }, form);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const b = buttons.find((x) => (x.value ?? '') === (e.submitter ? e.submitter.value : ''));
      value = b && b.read ? b.read(form) : (b ? b.value : null);
      if (b && b.validate && !b.validate(form)) return;
      dlg.close();
    });
    dlg.addEventListener('close', () => { dlg.remove(); resolve(value); });
    document.body.append(dlg);
    dlg.showModal();
  });
}

// confirm asks before something that cannot be undone.
export async function confirmAction(title, message, label = 'Delete') {
  return (await dialog(title, h('p', {}, message), [
    { label: 'Cancel', value: 'no', autofocus: true, cancel: true },
    { label, value: 'yes', class: 'danger' },
  ])) === 'yes';
}

// ask asks for one line of text; null when cancelled.
export async function ask(title, label, value = '') {
  const input = h('input', { name: 'answer', value, required: true, autocomplete: 'off' });
  return dialog(title, h('label', {}, label, input), [
    { label: 'Cancel', value: 'no', cancel: true },
    { label: 'Save', value: 'ok', class: 'primary', read: () => input.value.trim() || null, validate: () => input.reportValidity() },
  ]).then((v) => (v === 'no' ? null : v));
}

// words returns the searchable words of a query, for highlighting.
export function words(query) {
  return [...new Set((query.toLowerCase().match(/[\p{L}\p{N}_]+/gu) || []).filter((w) => w.length > 1 && !STOP.has(w)))];
}

const STOP = new Set('a an and are as at be by do does for from how i in is it of on or the to what when where which who why with'.split(' '));

// highlight returns text with each occurrence of words marked.
export function highlight(text, ws) {
  const frag = document.createDocumentFragment();
  if (!ws.length) { frag.append(text); return frag; }
  const re = new RegExp(`(?<![\\p{L}\\p{N}_])(${ws.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?![\\p{L}\\p{N}_])`, 'giu');
  let last = 0;
  for (const m of text.matchAll(re)) {
    frag.append(text.slice(last, m.index), h('mark', {}, m[0]));
    last = m.index + m[0].length;
  }
  frag.append(text.slice(last));
  return frag;
}

// pager lists a paginated route a page at a time: fetchPage(after)
// fetches a page, render(data) draws it; nav holds Previous and Next.
export function pager(fetchPage, render) {
  const cursors = [''];
  let idx = 0;
  const go = (i) => fetchPage(cursors[i]).then((data) => {
    idx = i;
    cursors.length = i + 1;
    if (data.has_more) cursors.push(data.last_id);
    render(data);
    prev.hidden = idx === 0;
    next.hidden = !data.has_more;
  });
  const click = (d) => () => go(idx + d).catch((e) => toast(e.message, 'error'));
  const prev = h('button', { type: 'button', hidden: true, onclick: click(-1) }, 'Previous page');
  const next = h('button', { type: 'button', hidden: true, onclick: click(1) }, 'Next page');
  return { nav: h('div', { class: 'pager' }, prev, next), load: () => go(0), reload: () => go(idx) };
}

// table builds a table with a caption, headings and rows of cells.
export function table(caption, heads, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('caption', { class: caption.visible ? '' : 'sr-only' }, caption.text || caption),
    h('thead', {}, h('tr', {}, heads.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, rows)));
}

// download saves a blob under filename.
export function download(b, filename) {
  const url = URL.createObjectURL(b);
  const a = h('a', { href: url, download: filename });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export const badge = (status) => h('span', { class: 'badge ' + status }, status);
