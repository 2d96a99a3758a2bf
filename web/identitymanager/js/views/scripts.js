// The realm's scripts, and which command runs which script (settings command_scripts).
import * as api from '../api.js';
import { errorBox, field, h, link, replace, time } from '../dom.js';
import { confirmDialog, loading, navigate, notice, pageTitle, routes, showError } from '../ui.js';

/** The commands a gateway sends (docs/protocol-am.md); offered when mapping. */
const KNOWN_COMMANDS = [
  'REGISTER_CLIENT', 'REGISTER_DEVICE', 'GET_IEC_CONFIG', 'GET_CLIENT_CONFIG', 'GET_CONFIG', 'GET_TOKENS',
  'GET_USER_CODE', 'GET_USER_TOKENS', 'INTROSPECT', 'HELLO_WORLD',
];

export const SCRIPT_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const COMMAND_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;

export async function scriptsView(ctx) {
  const { realm, main } = ctx;
  replace(main, pageTitle('Scripts'), loading());
  let scripts;
  let settings;
  try {
    [scripts, settings] = await Promise.all([api.scripts.list(realm), api.settings.get(realm)]);
  } catch (error) {
    if (!ctx.isCurrent() || error.status === 401) return;
    const errors = errorBox('scripts-error');
    replace(main, pageTitle('Scripts'), errors);
    showError(errors, error, 'The scripts could not be read');
    return;
  }
  if (!ctx.isCurrent()) return;
  render(ctx, scripts.result || [], settings.command_scripts || {});
}

async function reload(ctx, message) {
  try {
    const [scripts, settings] = await Promise.all([api.scripts.list(ctx.realm), api.settings.get(ctx.realm)]);
    if (!ctx.isCurrent()) return;
    render(ctx, scripts.result || [], settings.command_scripts || {});
    if (message) notice(message);
  } catch (error) {
    if (error.status !== 401) notice(error.message, 'error');
  }
}

function render(ctx, scripts, mapping) {
  const { realm, main } = ctx;
  const names = scripts.map((script) => script.name);

  // The scripts.
  const scriptsTable = h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'scripts-table' },
    h('caption', { class: 'visually-hidden' }, `Scripts of the realm ${realm}`),
    h('thead', null, h('tr', null, ['Name', 'Kind', 'Description', 'Commands', 'Updated'].map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', null, scripts.length === 0
      ? h('tr', null, h('td', { colspan: '5', class: 'empty' }, 'No scripts.'))
      : scripts.map((script) => h('tr', { 'data-name': script.name },
        h('td', null, link(routes.script(realm, script.name), script.name)),
        h('td', null, script.kind),
        h('td', null, script.description || h('span', { class: 'muted' }, '—')),
        h('td', null, (script.commands || []).length ? h('span', { class: 'mono' }, script.commands.join(', ')) : h('span', { class: 'muted' }, 'none')),
        h('td', null, time(script.updated)))))));

  const newName = h('input', { type: 'text', name: 'name', autocomplete: 'off', spellcheck: 'false', maxlength: '64', placeholder: 'MyScript' });
  const newErrors = errorBox('new-script-error');
  const newForm = h('form', { class: 'inline-form', id: 'new-script-form' },
    field('new-script-name', 'New script name', newName, 'Letters, digits, - and _ (at most 64).'),
    h('button', { type: 'submit', class: 'button', id: 'new-script-open' }, 'Write a new script'),
    newErrors);
  newForm.addEventListener('submit', (event) => {
    event.preventDefault();
    newErrors.clear();
    const name = newName.value.trim();
    if (!SCRIPT_NAME.test(name)) {
      newErrors.show('A script name is 1 to 64 letters, digits, - or _.');
      newName.focus();
      return;
    }
    if (names.includes(name)) {
      newErrors.show(`A script called ${name} exists already; open it from the list to edit it.`);
      newName.focus();
      return;
    }
    navigate(routes.script(realm, name));
  });

  // The command mappings.
  const mappingErrors = errorBox('mappings-error');
  const commands = Object.keys(mapping).sort();
  const mappingsTable = h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'mappings-table' },
    h('caption', { class: 'visually-hidden' }, 'Which script each command runs'),
    h('thead', null, h('tr', null, ['Command', 'Script', 'Action'].map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', null, commands.length === 0
      ? h('tr', null, h('td', { colspan: '3', class: 'empty' }, 'No command is mapped: gateways get “no script found for command”.'))
      : commands.map((command) => h('tr', { 'data-command': command },
        h('td', null, h('span', { class: 'mono' }, command)),
        h('td', null, names.includes(mapping[command])
          ? link(routes.script(realm, mapping[command]), mapping[command])
          : h('span', { class: 'warning-text' }, `${mapping[command]} (no such script)`)),
        h('td', null, h('button', {
          type: 'button', class: 'button small secondary', 'aria-label': `Remove the mapping of ${command}`,
          onclick: () => unmap(command),
        }, 'Remove')))))));

  const command = h('input', { type: 'text', name: 'command', list: 'known-commands', autocomplete: 'off', spellcheck: 'false', maxlength: '128', placeholder: 'HELLO_WORLD' });
  const script = h('select', { name: 'script' }, names.map((name) => h('option', { value: name }, name)));
  const mapForm = h('form', { class: 'inline-form', id: 'map-form' },
    field('map-command', 'Command', command, 'A command name a gateway sends, such as HELLO_WORLD.'),
    field('map-script', 'Runs the script', script),
    h('button', { type: 'submit', class: 'button primary', id: 'map-submit', disabled: names.length === 0 }, 'Map the command'),
    h('datalist', { id: 'known-commands' }, [...new Set([...KNOWN_COMMANDS, ...commands])].map((name) => h('option', { value: name }))));
  mapForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    mappingErrors.clear();
    const name = command.value.trim();
    if (!COMMAND_NAME.test(name)) {
      mappingErrors.show('Enter a command name: letters, digits, and _ . : - (at most 128).');
      command.focus();
      return;
    }
    await putMapping({ ...mapping, [name]: script.value }, `${name} now runs the script ${script.value}.`);
  });

  async function unmap(name) {
    const ok = await confirmDialog({
      title: `Remove the mapping of ${name}?`,
      body: h('p', null, `Gateways that send ${name} will get “no script found for command” until it is mapped again.`),
      confirmLabel: 'Remove the mapping',
    });
    if (!ok) return;
    const changed = { ...mapping };
    delete changed[name];
    await putMapping(changed, `${name} is no longer mapped.`);
  }

  async function putMapping(changed, message) {
    try {
      await api.settings.put(realm, { command_scripts: changed });
    } catch (error) {
      showError(mappingErrors, error, 'The mapping was not saved');
      return;
    }
    await reload(ctx, message);
  }

  replace(main,
    pageTitle('Scripts'),
    h('section', { class: 'panel', 'aria-labelledby': 'scripts-heading' },
      h('h2', { id: 'scripts-heading' }, 'Scripts'),
      h('p', { class: 'hint' }, 'JavaScript run in a sandbox for gateway commands and device attestation.'),
      scriptsTable, newForm),
    h('section', { class: 'panel', 'aria-labelledby': 'mappings-heading' },
      h('h2', { id: 'mappings-heading' }, 'Command mappings'),
      mappingErrors, mappingsTable, h('h3', null, 'Map a command to a script'), mapForm));
}
