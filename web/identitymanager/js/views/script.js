// One script: view and edit its source (the server compiles it before saving).
import * as api from '../api.js';
import { definitions, errorBox, field, h, link, replace, time } from '../dom.js';
import { confirmDialog, flash, loading, navigate, notice, pageTitle, routes, showError } from '../ui.js';
import { SCRIPT_NAME } from './scripts.js';

export async function scriptView(ctx, name) {
  const { realm, main } = ctx;
  replace(main, pageTitle(`Script ${name}`), loading());
  if (!SCRIPT_NAME.test(name)) {
    const errors = errorBox('script-error');
    replace(main, pageTitle('Script'), errors, h('p', null, link(routes.scripts(realm), 'Back to the scripts')));
    errors.show('A script name is 1 to 64 letters, digits, - or _.');
    return;
  }
  let script = null;
  try {
    script = await api.scripts.get(realm, name);
  } catch (error) {
    if (!ctx.isCurrent() || error.status === 401) return;
    if (error.status !== 404) {
      const errors = errorBox('script-error');
      replace(main, pageTitle(`Script ${name}`), errors);
      showError(errors, error, 'The script could not be read');
      return;
    }
  }
  if (!ctx.isCurrent()) return;
  render(ctx, name, script);
}

function render(ctx, name, script) {
  const { realm, main } = ctx;
  const exists = script !== null;
  const errors = errorBox('script-error');
  const kind = h('select', { name: 'kind' },
    ['command', 'attestation'].map((value) => h('option', { value, selected: (script ? script.kind : 'command') === value }, value)));
  const description = h('input', { type: 'text', name: 'description', autocomplete: 'off', maxlength: '500', value: script ? script.description || '' : '' });
  const source = h('textarea', {
    name: 'source', class: 'code', rows: '20', spellcheck: 'false', autocomplete: 'off', autocapitalize: 'none', wrap: 'off',
  });
  source.value = script ? script.source : '// The sandbox gives: identity (getName(), getType(), getConfiguration(), ...), params, command, builtin(params).\nresponse = { hello: identity.getName(), params: params };\n';
  const save = h('button', { type: 'submit', class: 'button primary', id: 'script-save' }, exists ? 'Save script' : 'Create script');

  const form = h('form', { id: 'script-form', class: 'stacked' },
    field('script-kind', 'Kind', kind, 'command: runs for the commands mapped to it; attestation: checks REGISTER_DEVICE.'),
    field('script-description', 'Description', description),
    field('script-source', 'Source (JavaScript)', source, 'Compiled by the server when you save; a syntax error is shown here and nothing is saved.'),
    errors,
    h('div', { class: 'form-buttons' }, save,
      exists ? h('button', { type: 'button', class: 'button danger', id: 'script-delete', onclick: () => remove() }, 'Delete script…') : null,
      link(routes.scripts(realm), 'Back to the scripts', { class: 'button secondary' })));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    errors.clear();
    save.disabled = true;
    let saved;
    try {
      saved = await api.scripts.put(realm, name, { source: source.value, kind: kind.value, description: description.value });
    } catch (error) {
      save.disabled = false;
      showError(errors, error, 'Not saved');
      source.focus();
      return;
    }
    let fresh = saved;
    try {
      fresh = await api.scripts.get(realm, name);
    } catch (error) {
      // The saved answer will do.
    }
    if (!ctx.isCurrent()) return;
    render(ctx, name, fresh);
    notice(exists ? `The script ${name} is saved.` : `The script ${name} is created.`);
    document.getElementById('script-save')?.focus();
  });

  async function remove() {
    errors.clear();
    const mapped = script.commands || [];
    const ok = await confirmDialog({
      title: `Delete the script ${name}?`,
      body: [h('p', null, 'This cannot be undone.'),
        mapped.length ? h('p', null, `It is mapped to ${mapped.join(', ')}: those commands will fail until they are mapped to another script.`) : null],
      confirmLabel: 'Delete script',
    });
    if (!ok) return;
    try {
      await api.scripts.remove(realm, name);
    } catch (error) {
      showError(errors, error, 'Not deleted');
      return;
    }
    flash(`The script ${name} is deleted.`);
    navigate(routes.scripts(realm));
  }

  replace(main,
    h('p', { class: 'breadcrumbs' }, link(routes.scripts(realm), 'Scripts'), ' / ', h('span', null, name)),
    pageTitle(`Script ${name}`),
    exists
      ? definitions([
        ['Commands mapped to it', (script.commands || []).length ? h('span', { class: 'mono', id: 'script-commands' }, script.commands.join(', ')) : h('span', { class: 'muted', id: 'script-commands' }, 'none')],
        ['Updated', time(script.updated)],
      ])
      : h('p', { class: 'hint', id: 'script-new' }, 'This script does not exist yet: saving creates it.'),
    h('section', { class: 'panel' }, form));
}
