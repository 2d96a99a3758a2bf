// The sign-in page: an administrator's user name and password (the same
// accounts as AM's admin console), and optionally the realm to open.
import * as api from '../api.js';
import { errorBox, field, h, replace } from '../dom.js';

export function signInView(main, { message, error, realm, onSignedIn }) {
  const username = h('input', { type: 'text', name: 'username', autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true });
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const realmInput = h('input', { type: 'text', name: 'realm', autocomplete: 'off', spellcheck: 'false', value: realm || '' });
  const errors = errorBox('signin-error');
  const submit = h('button', { type: 'submit', class: 'button primary', id: 'signin-submit' }, 'Sign in');
  const info = h('p', { class: 'signin-message', id: 'signin-message', role: 'status', hidden: !message }, message || '');

  const form = h('form', { id: 'signin-form', class: 'signin-form', novalidate: true },
    field('signin-username', 'User name', username),
    field('signin-password', 'Password', password),
    field('signin-realm', 'Realm (optional)', realmInput, 'The realm to open, such as edge. You can switch realms after signing in.'),
    errors,
    h('div', { class: 'form-buttons' }, submit));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    info.hidden = true;
    if (!username.value.trim() || !password.value) {
      errors.show('Enter your user name and password.');
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await api.signIn(username.value.trim(), password.value, realmInput.value.trim());
    } catch (failure) {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      password.value = '';
      if (failure.status === 401) errors.show('The user name or password is wrong.');
      else if (failure.status === 429) errors.show(`${capitalize(failure.message)}.`);
      else errors.show(capitalize(failure.message));
      password.focus();
      return;
    }
    await onSignedIn();
  });

  replace(main,
    h('section', { class: 'signin', 'aria-labelledby': 'page-heading' },
      h('div', { class: 'signin-card' },
        h('div', { class: 'signin-brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Edge Identity Manager'),
        h('h1', { id: 'page-heading', tabindex: '-1' }, 'Sign in'),
        h('p', { class: 'muted' }, 'Administrators of the identity server sign in here to manage gateways, clients and devices.'),
        info,
        error ? h('p', { class: 'error-box', role: 'alert' }, error) : null,
        form)));
  username.focus();
}

function capitalize(text) {
  const value = String(text || '');
  return value ? value[0].toUpperCase() + value.slice(1) : value;
}
