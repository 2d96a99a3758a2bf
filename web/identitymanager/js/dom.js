// Small DOM helpers. Everything that comes from the server or the user is put
// into the page as text (text nodes, textContent, attribute values): never as
// HTML. No inline style either: the Content-Security-Policy forbids it.

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'hidden', 'selected', 'readOnly', 'required', 'multiple']);

/**
 * Makes an element. `props`: attributes (strings), `class`, `text`,
 * `on<event>` listeners, and the DOM properties above. Children: nodes, or
 * anything else, which becomes a text node; arrays are flattened; null,
 * undefined and false are skipped.
 */
export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') element.className = value;
    else if (key === 'text') element.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) element[key] = value;
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

export function append(parent, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** Replaces the children of `parent` with `children`. */
export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

/** A link inside the app (a `#/...` route). */
export function link(route, label, props = {}) {
  return h('a', { href: route, ...props }, label);
}

/** A <time> for seconds since 1970, shown in local time; "—" when absent. */
export function time(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds <= 0) return h('span', { class: 'muted' }, '—');
  const date = new Date(seconds * 1000);
  return h('time', { datetime: date.toISOString(), title: date.toISOString() }, formatDate(date));
}

export function formatDate(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** Pretty JSON as text in a <pre>. */
export function jsonBlock(value, props = {}) {
  return h('pre', { class: 'json', ...props }, JSON.stringify(value === undefined ? null : value, null, 2));
}

/** A labelled form field: label + control (+ hint, wired with aria-describedby). */
export function field(id, label, control, hint) {
  control.id = id;
  const parts = [h('label', { for: id }, label), control];
  if (hint) {
    const hintId = id + '-hint';
    control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), hintId].filter(Boolean).join(' '));
    parts.push(h('p', { class: 'hint', id: hintId }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

/** An error area (role=alert) that starts empty; `.show(text)`, `.clear()`. */
export function errorBox(id) {
  const box = h('div', { class: 'error-box', id, role: 'alert', hidden: true });
  box.show = (message) => {
    replace(box, h('span', { class: 'error-icon', 'aria-hidden': 'true' }, '!'), ' ', String(message));
    box.hidden = false;
  };
  box.clear = () => {
    box.replaceChildren();
    box.hidden = true;
  };
  return box;
}

export function badge(text, kind) {
  return h('span', { class: `badge badge-${kind}` }, text);
}

export const TYPE_LABELS = { iec: 'Gateway', client: 'Client', device: 'Device' };

export function typeBadge(type) {
  return badge(TYPE_LABELS[type] || String(type), 'type-' + (TYPE_LABELS[type] ? type : 'other'));
}

export function statusBadge(status) {
  return badge(String(status), status === 'disabled' ? 'disabled' : status === 'registered' ? 'ok' : 'other');
}

/** A definition list from [term, description] pairs. */
export function definitions(pairs, props = {}) {
  return h('dl', { class: 'definitions', ...props }, pairs.map(([term, description]) => [h('dt', null, term), h('dd', null, description)]));
}
