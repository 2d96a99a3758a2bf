// Talks to iec-am: the Identity Manager's session API and the admin REST API
// (docs/protocol-am.md). The session is an HttpOnly cookie the page cannot
// read; every request that changes something carries the session's CSRF token
// in X-CSRF-Token.

export class APIError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/** The signed-in administrator (null fields when signed out). */
export const session = { username: null, csrf: null, realm: null, expiresIn: null };

let sessionEnded = () => {};

/** Called with an APIError when a request answers 401: the session timed out or was ended. */
export function onSessionEnded(handler) {
  sessionEnded = handler;
}

function clearSession() {
  session.username = null;
  session.csrf = null;
  session.expiresIn = null;
}

function adopt(answer) {
  session.username = answer.username;
  session.csrf = answer.csrfToken;
  session.expiresIn = answer.expiresIn;
  if (answer.realm && !session.realm) session.realm = answer.realm;
}

/**
 * One request. `query`: parameters (empty and null values left out); `body`:
 * sent as JSON. Resolves to the parsed answer; rejects with an APIError whose
 * message is readable (the server's `message`, or a description of the failure).
 */
export async function request(method, path, { query, body, signIn = false } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
  }
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && session.csrf) headers['X-CSRF-Token'] = session.csrf;
  let response;
  try {
    response = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin', cache: 'no-store', redirect: 'error',
    });
  } catch (error) {
    throw new APIError(0, 'The server could not be reached. Check the connection and try again.');
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      data = null;
    }
  }
  if (!response.ok) {
    const message = (data && typeof data.message === 'string' && data.message)
      || (data && typeof data.error_description === 'string' && data.error_description)
      || `The server answered ${response.status} ${response.statusText}`.trim();
    const error = new APIError(response.status, message, data);
    if (response.status === 401 && !signIn) {
      clearSession();
      sessionEnded(error);
    }
    throw error;
  }
  return data;
}

// --- the Identity Manager's session --------------------------------------------------

export async function signIn(username, password, realm) {
  const body = { username, password };
  if (realm) body.realm = realm;
  const answer = await request('POST', '/identitymanager/api/session', { body, signIn: true });
  session.realm = answer.realm || null;
  adopt(answer);
  return answer;
}

/** Restores the session of a reloaded page; false when the cookie holds none. */
export async function resume() {
  const answer = await request('GET', '/identitymanager/api/session', { signIn: true });
  if (!answer || !answer.valid) {
    clearSession();
    return false;
  }
  adopt(answer);
  return true;
}

export async function signOut() {
  try {
    await request('DELETE', '/identitymanager/api/session', { signIn: true });
  } finally {
    clearSession();
  }
}

export async function realms() {
  const answer = await request('GET', '/identitymanager/api/realms');
  return (answer.result || []).map((realm) => realm.name);
}

// --- the IEC service's admin API ------------------------------------------------------

const seg = encodeURIComponent;

function iec(realm, path) {
  return `/json/realms/root/realms/${seg(realm)}/iec${path}`;
}

export const identities = {
  list: (realm, query) => request('GET', iec(realm, '/identities'), { query }),
  get: (realm, id) => request('GET', iec(realm, `/identities/${seg(id)}`)),
  configure: (realm, id, configuration) => request('PUT', iec(realm, `/identities/${seg(id)}/configuration`), { body: configuration }),
  action: (realm, id, action) => request('POST', iec(realm, `/identities/${seg(id)}`), { query: { _action: action } }),
  remove: (realm, id) => request('DELETE', iec(realm, `/identities/${seg(id)}`)),
};

export const scripts = {
  list: (realm) => request('GET', iec(realm, '/scripts')),
  get: (realm, name) => request('GET', iec(realm, `/scripts/${seg(name)}`)),
  put: (realm, name, script) => request('PUT', iec(realm, `/scripts/${seg(name)}`), { body: script }),
  remove: (realm, name) => request('DELETE', iec(realm, `/scripts/${seg(name)}`)),
};

export const settings = {
  get: (realm) => request('GET', iec(realm, '/settings')),
  put: (realm, changes) => request('PUT', iec(realm, '/settings'), { body: changes }),
};

export const audit = {
  list: (realm, query) => request('GET', iec(realm, '/audit'), { query }),
};
