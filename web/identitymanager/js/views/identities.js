// The identities of a realm: search, filters, and server-side paging
// (_pageSize, _pagedResultsCookie; totalCount counted once per search).
import * as api from '../api.js';
import { errorBox, field, h, link, replace, statusBadge, time, typeBadge } from '../dom.js';
import { loading, navigate, pageTitle, routes, showError } from '../ui.js';

const PAGE_SIZES = [25, 50, 100, 200];
const DEFAULT_PAGE_SIZE = 50;

/**
 * Per search (realm + filters): the cookie of each page seen, for "Previous",
 * and the total counted on its first page (later pages skip the count).
 */
const trails = new Map();

export async function identitiesView(ctx) {
  const { realm, query, main } = ctx;
  const filters = {
    q: (query.get('q') || '').slice(0, 128),
    type: ['iec', 'client', 'device'].includes(query.get('type')) ? query.get('type') : '',
    status: ['registered', 'disabled'].includes(query.get('status')) ? query.get('status') : '',
    size: PAGE_SIZES.includes(Number(query.get('size'))) ? Number(query.get('size')) : DEFAULT_PAGE_SIZE,
  };
  const page = Math.max(0, Math.min(1e6, parseInt(query.get('page') || '0', 10) || 0));
  const after = page > 0 ? query.get('after') || '' : '';
  const key = JSON.stringify([realm, filters.q, filters.type, filters.status, filters.size]);
  let trail = trails.get(key);
  if (!trail || page === 0) {
    trail = { cookies: [''], total: null };
    trails.set(key, trail);
  }
  trail.cookies[page] = after;

  // The search form.
  const q = h('input', { type: 'search', name: 'q', value: filters.q, autocomplete: 'off', spellcheck: 'false', maxlength: '128', placeholder: 'Part of a name' });
  const type = h('select', { name: 'type' },
    option('', 'Any type', filters.type), option('iec', 'Gateway (iec)', filters.type),
    option('client', 'Client', filters.type), option('device', 'Device', filters.type));
  const status = h('select', { name: 'status' },
    option('', 'Any status', filters.status), option('registered', 'Registered', filters.status),
    option('disabled', 'Disabled', filters.status));
  const size = h('select', { name: 'size' }, PAGE_SIZES.map((n) => option(String(n), String(n), String(filters.size))));
  const form = h('form', { id: 'identities-form', class: 'filters', role: 'search', 'aria-label': 'Search identities' },
    field('filter-q', 'Search by name', q),
    field('filter-type', 'Type', type),
    field('filter-status', 'Status', status),
    field('filter-size', 'Per page', size),
    h('div', { class: 'filter-buttons' },
      h('button', { type: 'submit', class: 'button primary', id: 'filter-submit' }, 'Search'),
      (filters.q || filters.type || filters.status)
        ? h('a', { class: 'button secondary', id: 'filter-clear', href: routes.identities(realm, { size: filters.size === DEFAULT_PAGE_SIZE ? '' : filters.size }) }, 'Clear')
        : null));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    navigate(routes.identities(realm, {
      q: q.value.trim(), type: type.value, status: status.value,
      size: Number(size.value) === DEFAULT_PAGE_SIZE ? '' : size.value,
    }));
  });

  const errors = errorBox('identities-error');
  const summary = h('p', { id: 'identities-summary', class: 'summary', role: 'status' });
  const body = h('tbody');
  const table = h('table', { id: 'identities-table', class: 'data' },
    h('caption', { class: 'visually-hidden' }, `Identities of the realm ${realm}`),
    h('thead', null, h('tr', null, ['Name', 'Type', 'Status', 'Parent', 'Registered'].map((label) => h('th', { scope: 'col' }, label)))),
    body);
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of identities' });
  replace(main, pageTitle('Identities'), form, errors, summary, h('div', { class: 'table-wrap' }, table), pager);
  replace(body, h('tr', null, h('td', { colspan: '5' }, loading('Loading identities…'))));

  let answer;
  try {
    answer = await api.identities.list(realm, {
      q: filters.q, type: filters.type, status: filters.status, _pageSize: filters.size,
      _pagedResultsCookie: after, _totalCount: trail.total === null ? '' : 'false',
    });
  } catch (error) {
    if (!ctx.isCurrent()) return;
    replace(body);
    showError(errors, error, 'The identities could not be listed');
    return;
  }
  if (!ctx.isCurrent()) return;
  if (typeof answer.totalCount === 'number') trail.total = answer.totalCount;
  const items = answer.result || [];

  if (items.length === 0) {
    replace(body, h('tr', null, h('td', { colspan: '5', class: 'empty' },
      page > 0 ? 'No more identities.' : 'No identity matches this search.')));
  } else {
    replace(body, items.map((node) => h('tr', { 'data-id': node.id },
      h('td', null, link(routes.identity(realm, node.id), node.id, { class: 'identity-link' })),
      h('td', null, typeBadge(node.type)),
      h('td', null, statusBadge(node.status)),
      h('td', null, node.parent ? link(routes.identity(realm, node.parent), node.parent) : h('span', { class: 'muted' }, '—')),
      h('td', null, time(node.registrationTime)))));
  }

  const from = page * filters.size + (items.length ? 1 : 0);
  const to = page * filters.size + items.length;
  const total = trail.total;
  const pages = total === null ? null : Math.max(1, Math.ceil(total / filters.size));
  replace(summary, total === null
    ? `Showing ${from.toLocaleString('en')}–${to.toLocaleString('en')}`
    : total === 0 ? 'No identities.'
      : `Showing ${from.toLocaleString('en')}–${to.toLocaleString('en')} of ${total.toLocaleString('en')} ${total === 1 ? 'identity' : 'identities'}`);

  const base = { q: filters.q, type: filters.type, status: filters.status, size: filters.size === DEFAULT_PAGE_SIZE ? '' : filters.size };
  const previousCookie = page > 0 ? trail.cookies[page - 1] : undefined;
  const next = answer.pagedResultsCookie;
  replace(pager,
    h('button', { type: 'button', class: 'button secondary', id: 'page-first', disabled: page === 0, onclick: () => navigate(routes.identities(realm, base)) }, 'First'),
    h('button', {
      type: 'button', class: 'button secondary', id: 'page-prev', disabled: page === 0 || previousCookie === undefined,
      onclick: () => navigate(routes.identities(realm, { ...base, page: page - 1 || '', after: page - 1 ? previousCookie : '' })),
    }, 'Previous'),
    h('span', { class: 'page-number', id: 'page-number' }, pages === null ? `Page ${page + 1}` : `Page ${page + 1} of ${pages.toLocaleString('en')}`),
    h('button', {
      type: 'button', class: 'button secondary', id: 'page-next', disabled: !next,
      onclick: () => navigate(routes.identities(realm, { ...base, page: page + 1, after: next })),
    }, 'Next'));
}

function option(value, label, current) {
  return h('option', { value, selected: value === current }, label);
}
