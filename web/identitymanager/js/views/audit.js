// Recent admin and registration events of the realm, newest first.
import * as api from '../api.js';
import { errorBox, h, replace, time } from '../dom.js';
import { loading, navigate, pageTitle, showError } from '../ui.js';

const PAGE_SIZE = 50;

export async function auditView(ctx) {
  const { realm, main, query } = ctx;
  const before = /^\d+$/.test(query.get('before') || '') ? query.get('before') : '';
  // Administrators' sign-ins are events of the realm root.
  const ofRoot = query.get('of') === 'root';
  const source = ofRoot ? 'root' : realm;
  const base = `#/r/${encodeURIComponent(realm)}/audit${ofRoot ? '?of=root' : ''}`;
  const switcher = h('p', { class: 'view-switch' }, ofRoot
    ? h('a', { href: `#/r/${encodeURIComponent(realm)}/audit`, id: 'audit-realm-events' }, `Show the events of the realm ${realm}`)
    : h('a', { href: `#/r/${encodeURIComponent(realm)}/audit?of=root`, id: 'audit-admin-events' }, 'Show administrator sign-ins (realm root)'));
  const errors = errorBox('audit-error');
  const refresh = h('button', { type: 'button', class: 'button secondary', id: 'audit-refresh', onclick: () => ctx.rerender() }, 'Refresh');
  replace(main, pageTitle(ofRoot ? 'Audit: administrator sign-ins' : 'Audit', h('div', { class: 'title-actions' }, refresh)), switcher, errors, loading('Loading events…'));
  let answer;
  try {
    answer = await api.audit.list(source, { _pageSize: PAGE_SIZE, before });
  } catch (error) {
    if (!ctx.isCurrent()) return;
    main.querySelector('.loading')?.remove();
    showError(errors, error, 'The events could not be read');
    return;
  }
  if (!ctx.isCurrent()) return;
  const events = answer.result || [];
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'data', id: 'audit-table' },
    h('caption', { class: 'visually-hidden' }, `Recent events of the realm ${source}, newest first`),
    h('thead', null, h('tr', null, ['Time', 'Actor', 'Action', 'Target', 'Outcome', 'Details'].map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', null, events.length === 0
      ? h('tr', null, h('td', { colspan: '6', class: 'empty' }, before ? 'No older events.' : 'No events yet.'))
      : events.map((event) => h('tr', { 'data-sequence': String(event.sequence) },
        h('td', null, time(event.time)),
        h('td', null, h('span', { class: 'break' }, event.actor)),
        h('td', null, h('span', { class: 'mono' }, event.action)),
        h('td', null, h('span', { class: 'break' }, event.target)),
        h('td', null, h('span', { class: `badge ${event.outcome === 'success' ? 'badge-ok' : 'badge-disabled'}` }, event.outcome)),
        h('td', null, details(event.details)))))));
  const next = answer.pagedResultsCookie;
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of events' },
    h('button', { type: 'button', class: 'button secondary', id: 'audit-newest', disabled: !before, onclick: () => navigate(base) }, 'Newest'),
    h('button', {
      type: 'button', class: 'button secondary', id: 'audit-older', disabled: !next,
      onclick: () => navigate(`${base}${ofRoot ? '&' : '?'}before=${encodeURIComponent(next)}`),
    }, 'Older events'));
  main.querySelector('.loading')?.remove();
  main.append(h('p', { class: 'hint' }, ofRoot
    ? 'Administrators’ sign-ins and sign-outs, and changes to administrators and clients of the realm root.'
    : `Registrations, sign-ins of gateways and changes made by administrators in the realm ${realm}.`), table, pager);
}

function details(value) {
  if (!value || (typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 0)) return h('span', { class: 'muted' }, '—');
  return h('code', { class: 'details' }, JSON.stringify(value));
}
