// The Edge Identity Manager: sign-in, the page frame and the hash router.
import * as api from './api.js';
import { h, replace } from './dom.js';
import { clearNotice, navigate, notice, routes, showPendingNotice } from './ui.js';
import { signInView } from './views/signin.js';
import { identitiesView } from './views/identities.js';
import { identityView } from './views/identity.js';
import { scriptsView } from './views/scripts.js';
import { scriptView } from './views/script.js';
import { settingsView } from './views/settings.js';
import { auditView } from './views/audit.js';

const main = document.getElementById('main');
const topbar = document.getElementById('topbar');
const realmSelect = document.getElementById('realm-select');
let realmNames = [];
/** The page to go back to after signing in again (when a session ended mid-way). */
let returnTo = null;
/** Increases with every navigation, so that a slow answer for an old page is dropped. */
let generation = 0;

const SESSION_ENDED = 'Your session has ended: it timed out or was signed out. Sign in again to continue.';

api.onSessionEnded(() => {
  const hash = window.location.hash;
  if (hash && !hash.startsWith('#/signin')) returnTo = hash;
  showSignIn({ message: SESSION_ENDED });
});

function showSignIn({ message, error } = {}) {
  generation += 1;
  topbar.hidden = true;
  document.title = 'Sign in — Edge Identity Manager';
  const realm = realmOfHash(returnTo || window.location.hash) || api.session.realm || '';
  if (window.location.hash !== routes.signIn()) {
    window.history.replaceState(null, '', routes.signIn());
  }
  signInView(main, {
    message, error, realm,
    onSignedIn: async () => {
      clearNotice();
      await loadRealms();
      const target = returnTo || routes.identities(api.session.realm || realmNames[0] || 'edge');
      returnTo = null;
      navigate(target);
    },
  });
}

function realmOfHash(hash) {
  const parts = splitHash(hash || '').parts;
  return parts[0] === 'r' ? parts[1] : null;
}

function splitHash(hash) {
  const raw = (hash || '').replace(/^#/, '');
  const mark = raw.indexOf('?');
  const path = mark >= 0 ? raw.slice(0, mark) : raw;
  const queryText = mark >= 0 ? raw.slice(mark + 1) : '';
  let parts;
  try {
    parts = path.split('/').filter((part) => part !== '').map(decodeURIComponent);
  } catch (error) {
    parts = [];
  }
  return { parts, query: new URLSearchParams(queryText) };
}

async function loadRealms() {
  try {
    realmNames = await api.realms();
  } catch (error) {
    realmNames = [];
  }
}

function updateFrame(realm, view) {
  topbar.hidden = false;
  document.getElementById('signed-in-as').textContent = api.session.username || '';
  const names = realmNames.includes(realm) ? realmNames : [...realmNames, realm];
  replace(realmSelect, names.map((name) => h('option', { value: name, selected: name === realm }, name)));
  const links = {
    identities: routes.identities(realm), scripts: routes.scripts(realm),
    settings: routes.settings(realm), audit: routes.audit(realm),
  };
  for (const [name, route] of Object.entries(links)) {
    const anchor = document.getElementById(`nav-${name}`);
    anchor.setAttribute('href', route);
    if (name === view) anchor.setAttribute('aria-current', 'page');
    else anchor.removeAttribute('aria-current');
  }
}

const TITLES = { identities: 'Identities', scripts: 'Scripts', settings: 'Settings', audit: 'Audit' };

async function route() {
  if (!api.session.csrf) {
    const hash = window.location.hash;
    if (hash && !hash.startsWith('#/signin')) returnTo = hash;
    showSignIn();
    return;
  }
  const { parts, query } = splitHash(window.location.hash);
  if (parts[0] !== 'r' || !parts[1]) {
    const realm = api.session.realm || realmNames[0];
    if (!realm) {
      topbar.hidden = false;
      replace(main, h('h1', { tabindex: '-1', id: 'page-heading' }, 'No realm'),
        h('p', null, 'There is no realm to manage yet. Make one with iec-am setup.'));
      return;
    }
    window.history.replaceState(null, '', routes.identities(realm));
    return route();
  }
  const realm = parts[1];
  api.session.realm = realm;
  const view = parts[2] || 'identities';
  const detail = parts[3];
  generation += 1;
  const mine = generation;
  const context = { realm, query, main, isCurrent: () => mine === generation, rerender: () => route() };
  updateFrame(realm, view);
  showPendingNotice();
  document.title = `${detail ? detail + ' — ' : ''}${TITLES[view] || 'Not found'} — ${realm} — Edge Identity Manager`;
  let rendering;
  switch (view) {
    case 'identities': rendering = detail ? identityView(context, detail) : identitiesView(context); break;
    case 'scripts': rendering = detail ? scriptView(context, detail) : scriptsView(context); break;
    case 'settings': rendering = settingsView(context); break;
    case 'audit': rendering = auditView(context); break;
    default:
      replace(main, h('h1', { tabindex: '-1', id: 'page-heading' }, 'Page not found'),
        h('p', null, h('a', { href: routes.identities(realm) }, 'Go to the identities')));
  }
  // Views draw their heading at once; move the focus there (keyboard and screen-reader users start at the top).
  const heading = document.getElementById('page-heading');
  if (heading) heading.focus({ preventScroll: false });
  try {
    await rendering;
  } catch (error) {
    if (error && error.status === 401) return;
    if (context.isCurrent()) notice(error.message || String(error), 'error');
  }
}

realmSelect.addEventListener('change', () => navigate(routes.identities(realmSelect.value)));

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await api.signOut();
  } catch (error) {
    // The session is gone either way.
  }
  returnTo = null;
  showSignIn({ message: 'You have signed out.' });
});

window.addEventListener('hashchange', () => {
  route();
});

async function start() {
  try {
    if (await api.resume()) await loadRealms();
  } catch (error) {
    showSignIn({ error: error.message });
    return;
  }
  route();
}

start();
