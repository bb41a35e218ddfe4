// Operations: health, usage per day, request logs, and for admin keys the
// API keys and webhooks.

import { api, enc } from './api.js';
import { h, replace, fmtNum, fmtBytes, fmtTime, toast, errorBox, confirmAction, dialog, pager, table, badge } from './ui.js';

// barChart draws one series per day as SVG bars, with the numbers in a
// table for screen readers and anyone who wants them exact.
function barChart(title, days, value, cls) {
  const W = 600, H = 140, pad = 24;
  const max = Math.max(1, ...days.map(value));
  const bw = (W - pad) / days.length;
  const svg = h('svg:svg', { viewBox: `0 0 ${W} ${H + 20}`, class: 'chart ' + cls, role: 'img', 'aria-label': `${title} per day, at most ${fmtNum(max)}` },
    h('svg:line', { x1: pad, y1: H, x2: W, y2: H, class: 'axis' }),
    h('svg:text', { x: 0, y: 12, class: 'label' }, fmtNum(max)),
    days.map((d, i) => {
      const bh = (value(d) / max) * (H - 20);
      const x = pad + i * bw + 2;
      return [
        h('svg:rect', { x, y: H - bh, width: Math.max(1, bw - 4), height: bh }, h('svg:title', {}, `${d.date}: ${fmtNum(value(d))}`)),
        i % Math.ceil(days.length / 7) === 0 ? h('svg:text', { x, y: H + 14, class: 'label' }, d.date.slice(5)) : null,
      ];
    }));
  return h('figure', { class: 'chart-box' }, h('figcaption', {}, title), svg);
}

async function usageSection(ctx) {
  const [daily, usage] = await Promise.all([api('/usage/daily?days=14', { signal: ctx.signal }), api('/usage', { signal: ctx.signal })]);
  const m = usage.current_month;
  return h('section', { 'aria-labelledby': 'usage-title', id: 'usage' },
    h('h2', { id: 'usage-title' }, 'Usage'),
    h('p', {}, `This month (${m.month}): ${fmtNum(m.requests)} requests, ${fmtNum(m.total_tokens)} tokens (${fmtNum(m.embedding_tokens)} embedding, ${fmtNum(m.prompt_tokens)} prompt, ${fmtNum(m.completion_tokens)} completion), ${fmtBytes(m.stored_bytes)} stored. Last month: ${fmtNum(usage.previous_month.requests)} requests, ${fmtNum(usage.previous_month.total_tokens)} tokens.`),
    h('div', { class: 'charts' },
      barChart('Requests', daily.days, (d) => d.requests, 'requests'),
      barChart('Tokens', daily.days, (d) => d.tokens, 'tokens')),
    h('details', {}, h('summary', {}, 'Per day, as numbers (from the request logs)'),
      table('Usage per day', ['Day (UTC)', 'Requests', 'Tokens'], daily.days.map((d) =>
        h('tr', {}, h('th', { scope: 'row' }, d.date), h('td', { class: 'num' }, fmtNum(d.requests)), h('td', { class: 'num' }, fmtNum(d.tokens)))))));
}

async function healthSection(ctx) {
  const hl = await api('/health', { signal: ctx.signal });
  return h('section', { 'aria-labelledby': 'health-title', id: 'health' },
    h('h2', { id: 'health-title' }, 'Health ', badge(hl.status)),
    table('Health', ['Part', 'Type', 'Status', 'Latency'], [
      h('tr', {}, h('th', { scope: 'row' }, 'database'), h('td', {}, fmtBytes(hl.database.bytes)), h('td', {}, badge(hl.database.status)), h('td', { class: 'num' }, `${hl.database.latency_ms} ms`)),
      ...(hl.providers || []).map((p) => h('tr', {}, h('th', { scope: 'row' }, p.name), h('td', {}, p.type), h('td', {}, badge(p.status), p.error ? ' ' + p.error : ''),
        h('td', { class: 'num' }, p.latency_ms != null ? `${p.latency_ms} ms` : ''))),
    ]));
}

function logsSection(ctx) {
  const period = h('select', { name: 'period', id: 'log-period' }, [15, 30, 45, 60].map((n) => h('option', { value: n, selected: n === 60 || null }, `last ${n} minutes`)));
  const endpoint = h('input', { name: 'endpoint', id: 'log-endpoint', placeholder: '/v1/vector_store/:id/search', autocomplete: 'off' });
  const status = h('select', { name: 'status', id: 'log-status' }, h('option', { value: '' }, 'any'), h('option', { value: 'ok' }, '2xx/3xx'), h('option', { value: 'err' }, '4xx/5xx'));
  const list = h('div');
  const p = pager((after) => {
    const q = new URLSearchParams({ period: period.value, limit: 20 });
    if (endpoint.value.trim()) q.set('endpoint', endpoint.value.trim());
    if (after) q.set('after', after);
    return api(`/request-logs?${q}`, { signal: ctx.signal });
  }, (data) => {
    const rows = data.requests.filter((r) => !status.value || (status.value === 'err') === (r.status >= 400));
    replace(list, rows.length ? table('Request logs', ['Time', 'Method', 'Path', 'Status', 'Duration', 'Tokens', 'Request id'], rows.map((r) => h('tr', {},
      h('td', {}, r.created_at.replace('T', ' ').slice(0, 23)), h('td', {}, r.method), h('td', {}, h('code', {}, r.path)),
      h('td', {}, h('span', { class: 'badge ' + (r.status >= 400 ? 'failed' : 'completed') }, r.status)),
      h('td', { class: 'num' }, `${r.duration_ms} ms`), h('td', { class: 'num' }, fmtNum(r.tokens)), h('td', {}, h('code', { class: 'small' }, r.request_id)))))
      : h('p', { class: 'empty' }, 'No requests match.'));
  });
  const form = h('form', { class: 'grid' }, h('label', {}, 'Period', period), h('label', {}, 'Endpoint or path', endpoint), h('label', {}, 'Status', status),
    h('div', { class: 'buttons' }, h('button', { class: 'primary' }, 'Show requests')));
  form.addEventListener('submit', (e) => { e.preventDefault(); p.load().catch((err) => replace(list, errorBox(err))); });
  p.load().catch((err) => replace(list, errorBox(err)));
  return h('section', { 'aria-labelledby': 'logs-title', id: 'logs' }, h('h2', { id: 'logs-title' }, 'Request logs'), form, list, p.nav);
}

// secretOnce shows a new secret, which ragd never shows again.
function secretOnce(title, secret) {
  const out = h('output', { class: 'secret', id: 'new-secret' }, secret);
  return dialog(title, [
    h('p', {}, 'Copy it now: ragd stores only its hash and will not show it again.'), out,
    h('p', {}, h('button', { type: 'button', onclick: () => navigator.clipboard.writeText(secret).then(() => toast('Copied'), () => toast('Select the text and copy it', 'error')) }, 'Copy'))]);
}

function keysSection(ctx) {
  const list = h('div');
  const p = pager((after) => api(`/keys?limit=50&after=${enc(after)}`, { signal: ctx.signal }), (data) => {
    replace(list, data.keys.length ? table('API keys', ['Name', 'Id', 'Workspace', 'Admin', 'Limits', 'Created', h('span', { class: 'sr-only' }, 'Actions')],
      data.keys.map((k) => h('tr', { 'data-key': k.name },
        h('th', { scope: 'row' }, k.name), h('td', {}, h('code', {}, k.id)), h('td', {}, k.workspace), h('td', {}, k.admin ? 'yes' : 'no'),
        h('td', {}, `${k.rpm || 'default'} rpm, ${k.tpm || 'default'} tpm`), h('td', {}, fmtTime(k.created)),
        h('td', { class: 'actions' }, h('button', { type: 'button', class: 'danger', onclick: () => revoke(k) }, 'Revoke', h('span', { class: 'sr-only' }, ' ' + k.name))))))
      : h('p', { class: 'empty' }, 'No keys in the database (RAGD_ADMIN_KEY is not listed).'));
  });
  async function revoke(k) {
    if (!await confirmAction(`Revoke ${k.name}?`, `Requests with the key ${k.name} (${k.id}) are refused from now on. This cannot be undone.`, 'Revoke')) return;
    try {
      await api(`/keys/${enc(k.id)}`, { method: 'DELETE' });
      toast(`Revoked ${k.name}`);
      await p.load();
    } catch (e) { toast(e.message, 'error'); }
  }
  const status = h('p', { role: 'status' });
  const form = h('form', { class: 'grid', 'aria-label': 'Create an API key' },
    h('label', {}, 'Name', h('input', { name: 'name', id: 'key-name', required: true, autocomplete: 'off' })),
    h('label', {}, 'Workspace', h('input', { name: 'workspace', placeholder: 'default', autocomplete: 'off' })),
    h('label', {}, 'Requests per minute', h('input', { name: 'rpm', type: 'number', min: 0, placeholder: 'default' })),
    h('label', {}, 'Tokens per minute', h('input', { name: 'tpm', type: 'number', min: 0, placeholder: 'default' })),
    h('label', { class: 'check' }, h('input', { name: 'admin', type: 'checkbox' }), ' Admin'),
    h('div', { class: 'buttons' }, h('button', { class: 'primary' }, 'Create key')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { name: f.get('name').trim(), admin: f.get('admin') === 'on' };
    if (f.get('workspace').trim()) body.workspace = f.get('workspace').trim();
    if (f.get('rpm')) body.rpm = Number(f.get('rpm'));
    if (f.get('tpm')) body.tpm = Number(f.get('tpm'));
    try {
      const { key } = await api('/keys', { method: 'POST', body });
      status.textContent = '';
      form.reset();
      await p.load();
      await secretOnce(`Key ${key.name} created`, key.secret);
    } catch (err) { replace(status, errorBox(err)); }
  });
  p.load().catch((err) => replace(list, errorBox(err)));
  return h('section', { 'aria-labelledby': 'keys-title', id: 'keys' }, h('h2', { id: 'keys-title' }, 'API keys'), list, p.nav,
    h('h3', {}, 'Create a key'), form);
}

const EVENTS = ['file.completed', 'file.failed', 'collection.deleted'];

function webhooksSection(ctx) {
  const list = h('div');
  const p = pager((after) => api(`/webhooks?limit=50&after=${enc(after)}`, { signal: ctx.signal }), (data) => {
    replace(list, data.webhooks.length ? table('Webhooks', ['URL', 'Events', 'Created', h('span', { class: 'sr-only' }, 'Actions')],
      data.webhooks.map((w) => h('tr', {},
        h('th', { scope: 'row' }, h('code', {}, w.url)), h('td', {}, w.events.join(', ')), h('td', {}, fmtTime(w.created)),
        h('td', { class: 'actions' }, h('button', { type: 'button', onclick: () => deliveries(w) }, 'Deliveries'),
          h('button', { type: 'button', class: 'danger', onclick: () => remove(w) }, 'Delete')))))
      : h('p', { class: 'empty' }, 'No webhooks.'));
  });
  async function deliveries(w) {
    try {
      const data = await api(`/webhooks/${enc(w.id)}/deliveries`);
      await dialog(`Deliveries to ${w.url}`, data.deliveries.length
        ? table('Deliveries', ['Event', 'State', 'Attempts', 'Last status', 'Last error', 'Updated'], data.deliveries.map((d) => h('tr', {},
          h('td', {}, d.type), h('td', {}, badge(d.state)), h('td', { class: 'num' }, d.attempts), h('td', {}, d.last_status || ''),
          h('td', { class: 'small' }, d.last_error), h('td', {}, fmtTime(d.updated)))))
        : h('p', {}, 'No deliveries yet.'));
    } catch (e) { toast(e.message, 'error'); }
  }
  async function remove(w) {
    if (!await confirmAction('Delete this webhook?', `No more events go to ${w.url}.`)) return;
    try {
      await api(`/webhooks/${enc(w.id)}`, { method: 'DELETE' });
      await p.load();
    } catch (e) { toast(e.message, 'error'); }
  }
  const status = h('p', { role: 'status' });
  const form = h('form', { class: 'grid', 'aria-label': 'Add a webhook' },
    h('label', { class: 'wide' }, 'URL', h('input', { name: 'url', type: 'url', required: true, placeholder: 'https://example.org/ragd-hook' })),
    h('fieldset', {}, h('legend', {}, 'Events'), EVENTS.map((ev) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'events', value: ev, checked: ev !== 'collection.deleted' }), ' ' + ev))),
    h('div', { class: 'buttons' }, h('button', { class: 'primary' }, 'Add webhook')), status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      const { webhook } = await api('/webhooks', { method: 'POST', body: { url: f.get('url'), events: f.getAll('events') } });
      status.textContent = '';
      form.reset();
      await p.load();
      await secretOnce('Webhook added: its signing secret', webhook.secret);
    } catch (err) { replace(status, errorBox(err)); }
  });
  p.load().catch((err) => replace(list, errorBox(err)));
  return h('section', { 'aria-labelledby': 'webhooks-title', id: 'webhooks' }, h('h2', { id: 'webhooks-title' }, 'Webhooks'), list, p.nav,
    h('h3', {}, 'Add a webhook'), form);
}

export async function opsPage(main, ctx) {
  const sections = await Promise.all([healthSection(ctx), usageSection(ctx)].map((p) => p.catch((e) => errorBox(e))));
  replace(main, h('h1', {}, 'Operations'), sections, logsSection(ctx),
    ctx.admin ? [keysSection(ctx), webhooksSection(ctx)] : h('p', { class: 'hint' }, 'API keys and webhooks need an admin key.'));
}
