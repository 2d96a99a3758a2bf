// The realm's IEC service settings: the editable ones in a form, the rest shown.
import * as api from '../api.js';
import { definitions, errorBox, field, h, link, replace } from '../dom.js';
import { loading, notice, pageTitle, routes, showError } from '../ui.js';

const TEXT_SETTINGS = [
  ['id_token_issuer', 'Registration ID token issuer', 'The iss gateways put in their registration ID tokens (the seed’s regIssuerName).'],
  ['id_token_audience', 'Registration ID token audience', 'The aud those ID tokens must contain (regAudienceName).'],
  ['default_script', 'Default script', 'The original’s default script setting.'],
];
const NUMBER_SETTINGS = [
  ['session_idle_timeout', 'Gateway session idle timeout (seconds)', 'A gateway session ends after this much inactivity.'],
  ['session_max_lifetime', 'Gateway session maximum lifetime (seconds)', 'A gateway session ends this long after it began.'],
  ['max_id_token_lifetime', 'Longest registration ID token (seconds)', 'Registration ID tokens may live at most this long (exp − iat).'],
];

export async function settingsView(ctx) {
  const { realm, main } = ctx;
  replace(main, pageTitle('Settings'), loading());
  let settings;
  let scripts;
  try {
    [settings, scripts] = await Promise.all([api.settings.get(realm), api.scripts.list(realm)]);
  } catch (error) {
    if (!ctx.isCurrent() || error.status === 401) return;
    const errors = errorBox('settings-error');
    replace(main, pageTitle('Settings'), errors);
    showError(errors, error, 'The settings could not be read');
    return;
  }
  if (!ctx.isCurrent()) return;
  render(ctx, settings, scripts.result || []);
}

function render(ctx, settings, scripts) {
  const { realm, main } = ctx;
  const errors = errorBox('settings-error');
  const controls = {};
  const fields = [];
  for (const [key, label, hint] of TEXT_SETTINGS) {
    controls[key] = h('input', { type: 'text', name: key, autocomplete: 'off', spellcheck: 'false', value: settings[key] ?? '' });
    fields.push(field(`setting-${key}`, label, controls[key], hint));
  }
  controls.vendor_secret = h('input', { type: 'password', name: 'vendor_secret', autocomplete: 'new-password', value: '' });
  fields.push(field('setting-vendor_secret', 'New vendor secret', controls.vendor_secret,
    `${settings.vendor_secret_set ? 'A vendor secret is set; it is never shown.' : 'No vendor secret is set.'} Leave this empty to keep it. At least 16 characters; gateways must be given the new one.`));
  const attestation = scripts.filter((script) => script.kind === 'attestation').map((script) => script.name);
  if (settings.attestation_script && !attestation.includes(settings.attestation_script)) attestation.push(settings.attestation_script);
  controls.attestation_script = h('select', { name: 'attestation_script' },
    h('option', { value: '', selected: !settings.attestation_script }, '(none: devices are not attested)'),
    attestation.map((name) => h('option', { value: name, selected: name === settings.attestation_script }, name)));
  fields.push(field('setting-attestation_script', 'Attestation script', controls.attestation_script, 'Runs for every REGISTER_DEVICE; scripts of kind attestation.'));
  for (const [key, label, hint] of NUMBER_SETTINGS) {
    controls[key] = h('input', { type: 'number', name: key, min: '1', step: '1', inputmode: 'numeric', value: settings[key] ?? '' });
    fields.push(field(`setting-${key}`, label, controls[key], hint));
  }

  const save = h('button', { type: 'submit', class: 'button primary', id: 'settings-save' }, 'Save settings');
  const form = h('form', { id: 'settings-form', class: 'settings-grid', novalidate: true }, fields, h('div', { class: 'span-all' }, errors, h('div', { class: 'form-buttons' }, save)));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    const changes = {};
    for (const [key] of TEXT_SETTINGS) {
      const value = controls[key].value.trim();
      if (value !== (settings[key] ?? '')) {
        if (!value && key !== 'default_script') return invalid(controls[key], `${labelOf(key)} cannot be empty.`);
        changes[key] = value;
      }
    }
    const secret = controls.vendor_secret.value;
    if (secret) {
      if (secret.length < 16) return invalid(controls.vendor_secret, 'The vendor secret must have at least 16 characters.');
      changes.vendor_secret = secret;
    }
    const chosen = controls.attestation_script.value || null;
    if (chosen !== (settings.attestation_script || null)) changes.attestation_script = chosen;
    for (const [key] of NUMBER_SETTINGS) {
      const text = controls[key].value.trim();
      const value = Number(text);
      if (!text || !Number.isFinite(value) || value < 1 || value > 31_536_000) {
        return invalid(controls[key], `${labelOf(key)} must be a number of seconds from 1 to 31536000.`);
      }
      if (value !== settings[key]) changes[key] = value;
    }
    const idle = changes.session_idle_timeout ?? settings.session_idle_timeout;
    const lifetime = changes.session_max_lifetime ?? settings.session_max_lifetime;
    if (idle > lifetime) return invalid(controls.session_idle_timeout, 'The idle timeout cannot be longer than the maximum lifetime.');
    if (Object.keys(changes).length === 0) {
      notice('Nothing changed.', 'info');
      return;
    }
    save.disabled = true;
    let updated;
    try {
      updated = await api.settings.put(realm, changes);
    } catch (error) {
      save.disabled = false;
      showError(errors, error, 'Not saved');
      return;
    }
    if (!ctx.isCurrent()) return;
    render(ctx, updated, scripts);
    notice(`Settings saved: ${Object.keys(changes).map(labelOf).join(', ')}.`);
    document.getElementById('settings-save')?.focus();
  });

  function invalid(control, message) {
    errors.show(message);
    control.setAttribute('aria-invalid', 'true');
    control.focus();
  }

  const mapped = Object.keys(settings.command_scripts || {}).length;
  replace(main,
    pageTitle('Settings'),
    h('p', { class: 'hint' }, `The IEC service settings of the realm ${realm}.`),
    h('section', { class: 'panel', 'aria-labelledby': 'editable-heading' }, h('h2', { id: 'editable-heading' }, 'Registration and sessions'), form),
    h('section', { class: 'panel', 'aria-labelledby': 'fixed-heading' },
      h('h2', { id: 'fixed-heading' }, 'Set by iec-am setup'),
      definitions([
        ['Challenge signing key id', h('span', { class: 'mono break' }, settings.challenge_key_id || '—')],
        ['Vendor secret set', settings.vendor_secret_set ? 'yes' : 'no'],
        ['Registration and authentication flows', yesNo(settings.create_reg_auth_flows)],
        ['Default registration scripts loaded', yesNo(settings.load_default_reg_scripts)],
        ['Default command scripts loaded', yesNo(settings.load_default_command_scripts)],
        ['Command mappings', [`${mapped} ${mapped === 1 ? 'command' : 'commands'}, edited under `, link(routes.scripts(realm), 'Scripts')]],
      ], { id: 'settings-fixed' })));
}

function yesNo(value) {
  return value === true ? 'yes' : value === false ? 'no' : '—';
}

function labelOf(key) {
  const all = [...TEXT_SETTINGS, ...NUMBER_SETTINGS];
  const found = all.find(([name]) => name === key);
  if (found) return found[1];
  return { vendor_secret: 'Vendor secret', attestation_script: 'Attestation script' }[key] || key;
}
