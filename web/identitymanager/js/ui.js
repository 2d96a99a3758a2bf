// What every view shares: routes, the status notice, the confirmation dialog.
import { append, h, replace } from './dom.js';

const seg = encodeURIComponent;

/** Hash routes of the app. */
export const routes = {
  signIn: () => '#/signin',
  identities: (realm, query) => withQuery(`#/r/${seg(realm)}/identities`, query),
  identity: (realm, id) => `#/r/${seg(realm)}/identities/${seg(id)}`,
  scripts: (realm) => `#/r/${seg(realm)}/scripts`,
  script: (realm, name) => `#/r/${seg(realm)}/scripts/${seg(name)}`,
  settings: (realm) => `#/r/${seg(realm)}/settings`,
  audit: (realm) => `#/r/${seg(realm)}/audit`,
};

function withQuery(route, query) {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(name, String(value));
  }
  const text = params.toString();
  return text ? `${route}?${text}` : route;
}

export function navigate(route) {
  if (window.location.hash === route) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = route;
}

// --- the status notice ------------------------------------------------------------------

let noticeTimer = null;

/** A short message in the status area (announced by screen readers). */
export function notice(message, kind = 'success') {
  const box = document.getElementById('notice');
  clearTimeout(noticeTimer);
  box.className = `notice notice-${kind}`;
  replace(box, String(message));
  noticeTimer = setTimeout(() => {
    box.replaceChildren();
    box.className = 'notice';
  }, 8000);
}

/** A notice for the page about to be shown (`navigate` follows): shown once it is drawn. */
let pending = null;

export function flash(message, kind = 'success') {
  pending = { message, kind };
}

/** Called on each navigation: clears the last page's notice, shows a pending one. */
export function showPendingNotice() {
  clearNotice();
  if (pending) {
    notice(pending.message, pending.kind);
    pending = null;
  }
}

export function clearNotice() {
  const box = document.getElementById('notice');
  clearTimeout(noticeTimer);
  box.replaceChildren();
  box.className = 'notice';
}

// --- the confirmation dialog ------------------------------------------------------------

/**
 * A modal confirmation (a native <dialog>: focus stays inside, Escape cancels).
 * `body`: nodes or text; resolves to true when confirmed.
 */
export function confirmDialog({ title, body, confirmLabel = 'Confirm', danger = true }) {
  const dialog = document.getElementById('confirm-dialog');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  replace(document.getElementById('confirm-title'), title);
  replace(document.getElementById('confirm-body'), body);
  ok.textContent = confirmLabel;
  ok.className = danger ? 'button danger' : 'button';
  return new Promise((resolve) => {
    const finish = (value) => {
      ok.removeEventListener('click', onOK);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onOK = (event) => {
      event.preventDefault();
      finish(true);
    };
    const onCancel = (event) => {
      event.preventDefault();
      finish(false);
    };
    ok.addEventListener('click', onOK);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    cancel.focus();
  });
}

/** A page heading that takes the focus after navigation (for keyboard and screen-reader users). */
export function pageTitle(text, extra) {
  return h('div', { class: 'page-title' }, h('h1', { tabindex: '-1', id: 'page-heading' }, text), extra || null);
}

/** Shows `error` in `box`, or reports it when the session ended (the sign-in page takes over). */
export function showError(box, error, what) {
  if (error && error.status === 401) return;
  box.show(what ? `${what}: ${error.message}` : error.message);
}

/** A "Loading…" placeholder. */
export function loading(text = 'Loading…') {
  return h('p', { class: 'loading', role: 'status' }, text);
}

export { append };
