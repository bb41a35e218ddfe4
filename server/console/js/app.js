// The console's shell: sign-in, navigation and a hash router, so that
// /console/ serves one index.html and every page has its own address
// (#/collections/docs, #/search, ...).

import { api, getKey, setKey, clearKey, isAdmin } from './api.js';
import { h, replace } from './ui.js';
import { collectionsPage, collectionPage, filePage } from './collections.js';
import { searchPage } from './search.js';
import { chatPage } from './chat.js';
import { opsPage } from './ops.js';

const main = document.getElementById('main');
const top = document.getElementById('top');

const routes = [
  [/^#\/collections$/, () => collectionsPage],
  [/^#\/collections\/([^/]+)$/, (m) => (el, ctx) => collectionPage(el, ctx, decodeURIComponent(m[1]), 'files')],
  [/^#\/collections\/([^/]+)\/items$/, (m) => (el, ctx) => collectionPage(el, ctx, decodeURIComponent(m[1]), 'items')],
  [/^#\/collections\/([^/]+)\/files\/([^/]+)$/, (m) => (el, ctx) => filePage(el, ctx, decodeURIComponent(m[1]), decodeURIComponent(m[2]))],
  [/^#\/search(\?.*)?$/, () => searchPage],
  [/^#\/chat(\?.*)?$/, () => chatPage],
  [/^#\/ops$/, () => opsPage],
];

let current = null; // the AbortController of the page shown

function signInPage(el, message) {
  top.hidden = true;
  const input = h('input', { id: 'key', name: 'key', type: 'password', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'key-help' });
  const status = h('p', { id: 'signin-status', role: 'alert', class: message ? 'error' : '' }, message || '');
  const button = h('button', { class: 'primary' }, 'Sign in');
  const form = h('form', { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to ragd'),
    h('label', { for: 'key' }, 'API key'), input,
    h('p', { id: 'key-help', class: 'hint' }, 'The key is kept in this tab only (session storage) and sent as a bearer token. ',
      'Create one with ', h('code', {}, 'ragd keys create --data-dir ./data'), '.'),
    button, status);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    status.className = '';
    status.textContent = 'Checking the key…';
    setKey(input.value.trim());
    try {
      await api('/vector_store?limit=1', { quiet: true });
      sessionStorage.removeItem('ragd.admin');
      await isAdmin();
      const back = sessionStorage.getItem('ragd.back');
      sessionStorage.removeItem('ragd.back');
      const target = back && back !== '#/signin' ? back : '#/collections';
      if (location.hash === target) route(); else location.hash = target;
    } catch (err) {
      clearKey();
      status.className = 'error';
      status.textContent = err.status === 401
        ? `This API key was not accepted: ${err.message}. Check that you copied the whole key (it starts with "ragd-").`
        : `Could not sign in: ${err.message}`;
      button.disabled = false;
      input.focus();
      input.select();
    }
  });
  replace(el, form);
  input.focus();
}

async function shell() {
  top.hidden = false;
  const admin = await isAdmin().catch(() => false);
  document.getElementById('who').textContent = admin ? 'admin key' : 'workspace key';
  for (const a of top.querySelectorAll('nav a')) {
    const on = location.hash.startsWith(a.getAttribute('href'));
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  return { admin };
}

async function route() {
  const hash = location.hash || '#/collections';
  if (!hash.startsWith('#/')) return; // an in-page link such as the skip link
  if (current) current.abort();
  current = new AbortController();
  if (hash === '#/signin' || !getKey()) {
    if (hash !== '#/signin') sessionStorage.setItem('ragd.back', hash);
    signInPage(main, sessionStorage.getItem('ragd.signin-message'));
    sessionStorage.removeItem('ragd.signin-message');
    return;
  }
  const found = routes.map(([re, page]) => [hash.match(re), page]).find(([m]) => m);
  const ctx = await shell();
  ctx.signal = current.signal;
  main.replaceChildren();
  if (!found) {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/collections' }, 'Go to the collections.')));
    return;
  }
  try {
    await found[1](found[0])(main, ctx);
  } catch (err) {
    if (err.name === 'AbortError') return;
    main.append(h('p', { class: 'error', role: 'alert' }, err.message));
  }
}

window.addEventListener('ragd:unauthorized', (e) => {
  clearKey();
  sessionStorage.setItem('ragd.signin-message', `Signed out: ${e.detail}`);
  location.hash = '#/signin';
});

document.getElementById('signout').addEventListener('click', () => {
  clearKey();
  location.hash = '#/signin';
});

window.addEventListener('hashchange', route);
if (!location.hash) history.replaceState(null, '', '#/collections');
route();
