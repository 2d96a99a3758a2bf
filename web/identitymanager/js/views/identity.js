// One identity: what is known of it, its configuration (a JSON editor that
// validates before saving), its children, and the admin actions.
import * as api from '../api.js';
import { definitions, errorBox, h, jsonBlock, link, replace, statusBadge, time, typeBadge, TYPE_LABELS } from '../dom.js';
import { confirmDialog, flash, loading, navigate, notice, pageTitle, routes, showError } from '../ui.js';

const MAX_CONFIGURATION_BYTES = 64 * 1024;

export async function identityView(ctx, id) {
  const { realm, main } = ctx;
  replace(main, pageTitle(id), loading());
  let node;
  try {
    node = await api.identities.get(realm, id);
  } catch (error) {
    if (!ctx.isCurrent() || error.status === 401) return;
    const errors = errorBox('identity-error');
    replace(main, pageTitle(id), errors, h('p', null, link(routes.identities(realm), 'Back to the identities')));
    showError(errors, error.status === 404 ? { message: `There is no identity called “${id}” in the realm ${realm}.` } : error);
    return;
  }
  if (!ctx.isCurrent()) return;
  render(ctx, node);
}

async function reload(ctx, id, message) {
  let node;
  try {
    node = await api.identities.get(ctx.realm, id);
  } catch (error) {
    if (error.status !== 401) notice(error.message, 'error');
    return;
  }
  if (!ctx.isCurrent()) return;
  render(ctx, node);
  if (message) notice(message);
}

function render(ctx, node) {
  const { realm, main } = ctx;
  const errors = errorBox('identity-error');
  const children = Array.isArray(node.children) ? node.children : [];
  const disabled = node.status === 'disabled';

  const title = pageTitle(node.id, h('div', { class: 'title-badges' }, typeBadge(node.type), ' ', h('span', { id: 'identity-status' }, statusBadge(node.status))));

  const summary = definitions([
    ['Type', `${TYPE_LABELS[node.type] || node.type} (${node.type})`],
    ['Status', node.status],
    ['Parent', node.parent ? link(routes.identity(realm, node.parent), node.parent, { id: 'identity-parent' }) : h('span', { class: 'muted' }, 'none (a gateway is the root of its tree)')],
    ['Registered', time(node.registrationTime)],
    ['Paired user', node.pairedUser ? h('span', { id: 'paired-user' }, node.pairedUser) : h('span', { class: 'muted', id: 'paired-user' }, 'none')],
    ['Children', String(children.length)],
  ], { id: 'identity-summary' });

  // Actions.
  const actionButtons = h('div', { class: 'actions', role: 'group', 'aria-label': 'Actions' },
    disabled
      ? h('button', { type: 'button', class: 'button', id: 'action-enable', onclick: () => act('enable') }, 'Enable')
      : h('button', { type: 'button', class: 'button warning', id: 'action-disable', onclick: () => act('disable') }, 'Disable'),
    h('button', { type: 'button', class: 'button secondary', id: 'action-revoke', onclick: () => revoke() }, 'Revoke tokens'),
    h('button', { type: 'button', class: 'button danger', id: 'action-delete', onclick: () => remove() }, 'Delete…'));

  async function act(action) {
    errors.clear();
    try {
      await api.identities.action(realm, node.id, action);
    } catch (error) {
      showError(errors, error, `Could not ${action} ${node.id}`);
      return;
    }
    await reload(ctx, node.id, action === 'disable'
      ? `${node.id} is disabled: its sessions have ended and its tokens no longer work.`
      : `${node.id} is enabled again.`);
    document.getElementById(action === 'disable' ? 'action-enable' : 'action-disable')?.focus();
  }

  async function revoke() {
    errors.clear();
    const ok = await confirmDialog({
      title: 'Revoke the tokens?',
      body: h('p', null, `Every access and refresh token of ${node.id} stops working, and its sessions end. It can get new tokens unless it is disabled.`),
      confirmLabel: 'Revoke tokens',
    });
    if (!ok) return;
    try {
      await api.identities.action(realm, node.id, 'revokeTokens');
    } catch (error) {
      showError(errors, error, `Could not revoke the tokens of ${node.id}`);
      return;
    }
    notice(`The tokens of ${node.id} are revoked.`);
  }

  async function remove() {
    errors.clear();
    const button = document.getElementById('action-delete');
    button.disabled = true;
    let tree;
    try {
      tree = await descendants(realm, node);
    } catch (error) {
      button.disabled = false;
      showError(errors, error, 'Could not list the children');
      return;
    }
    button.disabled = false;
    const shown = tree.nodes.slice(0, 50);
    const body = [
      h('p', null, tree.nodes.length === 0
        ? `This deletes ${node.id}, with its keys, configuration and OAuth2 client. It cannot be undone.`
        : `This deletes ${node.id} and ${tree.complete ? '' : 'at least '}${tree.nodes.length} ${tree.nodes.length === 1 ? 'identity' : 'identities'} below it, with their keys, configuration and OAuth2 clients. It cannot be undone.`),
      tree.nodes.length ? h('ul', { id: 'confirm-list', class: 'confirm-list' },
        shown.map((child) => h('li', null, h('span', { class: 'mono' }, child.id), ' ', typeBadge(child.type))),
        tree.nodes.length > shown.length || !tree.complete
          ? h('li', { class: 'muted' }, `…and ${tree.complete ? tree.nodes.length - shown.length : 'more'} not listed here`) : null) : null,
    ];
    const ok = await confirmDialog({
      title: `Delete ${node.id}?`, body,
      confirmLabel: tree.nodes.length ? `Delete ${tree.complete ? tree.nodes.length + 1 : 'all'} identities` : 'Delete',
    });
    if (!ok) {
      button.focus();
      return;
    }
    let answer;
    try {
      answer = await api.identities.remove(realm, node.id);
    } catch (error) {
      showError(errors, error, `Could not delete ${node.id}`);
      return;
    }
    const deleted = Array.isArray(answer.deleted) ? answer.deleted : [node.id];
    flash(deleted.length === 1 ? `${node.id} is deleted.` : `${deleted.length} identities are deleted: ${deleted.join(', ')}.`);
    navigate(routes.identities(realm));
  }

  const sections = [
    configurationEditor(ctx, node),
    h('section', { class: 'panel', 'aria-labelledby': 'user-config-heading' },
      h('h2', { id: 'user-config-heading' }, 'User configuration'),
      h('p', { class: 'hint' }, 'Set by the command scripts on behalf of the device’s user; read only here.'),
      jsonBlock(node.userConfiguration ?? {}, { id: 'user-config' })),
    h('section', { class: 'panel', 'aria-labelledby': 'attributes-heading' },
      h('h2', { id: 'attributes-heading' }, 'Attributes'),
      attributesOf(node.attributes)),
    h('section', { class: 'panel', 'aria-labelledby': 'keys-heading' },
      h('h2', { id: 'keys-heading' }, 'Public keys'),
      publicKeys(node.publicKeys)),
    h('section', { class: 'panel', 'aria-labelledby': 'children-heading' },
      h('h2', { id: 'children-heading' }, `Children (${children.length})`),
      children.length === 0
        ? h('p', { class: 'muted', id: 'children-none' }, 'No children.')
        : h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'children-table' },
          h('caption', { class: 'visually-hidden' }, `Children of ${node.id}`),
          h('thead', null, h('tr', null, ['Name', 'Type', 'Status'].map((label) => h('th', { scope: 'col' }, label)))),
          h('tbody', null, children.map((child) => h('tr', { 'data-id': child.id },
            h('td', null, link(routes.identity(realm, child.id), child.id)),
            h('td', null, typeBadge(child.type)),
            h('td', null, statusBadge(child.status)))))))),
  ];

  replace(main,
    h('p', { class: 'breadcrumbs' }, link(routes.identities(realm), 'Identities'), ' / ', h('span', null, node.id)),
    title, errors, h('div', { class: 'detail-top' }, summary, actionButtons), ...sections);
}

/** Everything below `node` (children first listed as found), within a budget of requests. */
async function descendants(realm, node) {
  const nodes = [];
  const queue = [...(node.children || [])];
  let requests = 0;
  let complete = (node.children || []).length < 1000;
  while (queue.length > 0) {
    const child = queue.shift();
    nodes.push(child);
    if (child.type === 'device') continue; // devices are leaves
    if (requests >= 50 || nodes.length >= 500) {
      complete = false;
      continue;
    }
    requests += 1;
    const detail = await api.identities.get(realm, child.id);
    const grandchildren = detail.children || [];
    if (grandchildren.length >= 1000) complete = false;
    queue.push(...grandchildren);
  }
  return { nodes, complete };
}

function attributesOf(attributes) {
  const entries = attributes && typeof attributes === 'object' && !Array.isArray(attributes) ? Object.entries(attributes) : [];
  if (entries.length === 0) return h('p', { class: 'muted', id: 'attributes' }, 'No attributes.');
  return definitions(entries.map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]), { id: 'attributes' });
}

function publicKeys(set) {
  const keys = set && Array.isArray(set.keys) ? set.keys : null;
  if (!keys) return jsonBlock(set ?? null, { id: 'public-keys' });
  if (keys.length === 0) return h('p', { class: 'muted', id: 'public-keys' }, 'No keys.');
  return h('div', { id: 'public-keys', class: 'keys' }, keys.map((key, index) => h('div', { class: 'key' },
    h('h3', null, `Key ${index + 1}: ${[key.kty, key.crv].filter(Boolean).join(' ')}`),
    definitions(Object.entries(key).map(([name, value]) => [name, h('span', { class: 'mono break' }, typeof value === 'string' ? value : JSON.stringify(value))])))));
}

// --- the configuration editor ---------------------------------------------------------

/** Parses the editor's text: { value } or { message, position }. */
export function checkConfiguration(text) {
  if (!text.trim()) return { message: 'The configuration is empty. Write a JSON object, such as {}.' };
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const match = /position (\d+)/.exec(error.message);
    const position = match ? Number(match[1]) : null;
    let where = '';
    if (position !== null && !/line \d+/.test(error.message)) {
      const before = text.slice(0, position).split('\n');
      where = ` (line ${before.length}, column ${before[before.length - 1].length + 1})`;
    }
    return { message: `This is not valid JSON: ${error.message}${where}.`, position };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { message: 'The configuration must be a JSON object: { … }, not ' + (Array.isArray(value) ? 'an array.' : value === null ? 'null.' : `a ${typeof value}.`) };
  }
  const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
  if (bytes > MAX_CONFIGURATION_BYTES) return { message: `The configuration is ${bytes} bytes; at most ${MAX_CONFIGURATION_BYTES} are allowed.` };
  return { value };
}

function configurationEditor(ctx, node) {
  const original = JSON.stringify(node.configuration ?? {}, null, 2);
  const editor = h('textarea', {
    id: 'config-editor', class: 'code', rows: String(Math.min(24, Math.max(8, original.split('\n').length + 2))),
    spellcheck: 'false', autocomplete: 'off', autocapitalize: 'none', wrap: 'off',
    'aria-describedby': 'config-hint config-status',
  });
  editor.value = original;
  const status = h('p', { id: 'config-status', class: 'validation', 'aria-live': 'polite' });
  const errors = errorBox('config-error');
  let timer = null;

  function validate(showResult) {
    const result = checkConfiguration(editor.value);
    editor.setAttribute('aria-invalid', result.message ? 'true' : 'false');
    if (showResult || result.message) {
      status.className = result.message ? 'validation invalid' : 'validation valid';
      replace(status, result.message ? result.message : 'Valid JSON.');
    } else {
      status.className = 'validation';
      replace(status, editor.value === original ? '' : 'Valid JSON (not saved yet).');
    }
    return result;
  }

  editor.addEventListener('input', () => {
    errors.clear();
    clearTimeout(timer);
    timer = setTimeout(() => validate(false), 300);
  });

  async function save() {
    clearTimeout(timer);
    errors.clear();
    const result = validate(true);
    if (result.message) {
      errors.show(`Not saved. ${result.message}`);
      editor.focus();
      if (result.position !== null && result.position !== undefined) editor.setSelectionRange(result.position, Math.min(editor.value.length, result.position + 1));
      return;
    }
    saveButton.disabled = true;
    try {
      await api.identities.configure(ctx.realm, node.id, result.value);
    } catch (error) {
      saveButton.disabled = false;
      showError(errors, error, 'Not saved');
      return;
    }
    await reload(ctx, node.id, `The configuration of ${node.id} is saved.`);
    document.getElementById('config-save')?.focus();
  }

  const saveButton = h('button', { type: 'button', class: 'button primary', id: 'config-save', onclick: save }, 'Save configuration');
  return h('section', { class: 'panel', 'aria-labelledby': 'config-heading' },
    h('h2', { id: 'config-heading' }, 'Configuration'),
    h('label', { for: 'config-editor' }, 'Configuration (JSON object)'),
    h('p', { class: 'hint', id: 'config-hint' }, 'What the gateway receives for this node (GET_CONFIG, GET_CLIENT_CONFIG, GET_IEC_CONFIG). Checked as JSON before it is saved; at most 64 KiB.'),
    editor, status, errors,
    h('div', { class: 'form-buttons' },
      saveButton,
      h('button', { type: 'button', class: 'button secondary', id: 'config-check', onclick: () => validate(true) }, 'Check JSON'),
      h('button', {
        type: 'button', class: 'button secondary', id: 'config-format',
        onclick: () => {
          const result = validate(true);
          if (!result.message) editor.value = JSON.stringify(result.value, null, 2);
        },
      }, 'Format'),
      h('button', {
        type: 'button', class: 'button secondary', id: 'config-reset',
        onclick: () => {
          editor.value = original;
          errors.clear();
          validate(false);
        },
      }, 'Undo changes')));
}
