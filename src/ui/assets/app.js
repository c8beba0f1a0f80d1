// grpcx ui: the page. It owns only the form; the server (src/ui/) owns
// protobuf: the method list, form schemas, templates, validation, calls.
'use strict';

const $ = (id) => document.getElementById(id);
const state = {
  info: null, services: [], method: null, schema: null, types: [],
  value: {}, metadata: [], call: null, checkTimer: 0,
};
const WKT = 'google.protobuf.';
const INT64 = ['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64'];
const INT32 = ['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32'];
const WRAPPERS = {
  DoubleValue: 'double', FloatValue: 'float', Int64Value: 'int64', UInt64Value: 'uint64',
  Int32Value: 'int32', UInt32Value: 'uint32', BoolValue: 'bool', StringValue: 'string',
  BytesValue: 'bytes',
};
let uid = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

// ---- the method list -------------------------------------------------------

async function loadServices() {
  try {
    const data = await api('/api/services');
    state.services = data.services;
    renderServices();
    for (const u of data.unresolved) {
      $('services').append(el('p', { class: 'error', text: `${u.name}: ${u.error}` }));
    }
  } catch (err) {
    $('services').replaceChildren(el('p', { class: 'error', role: 'alert', text: err.message }));
  }
}

function renderServices() {
  const filter = $('search').value.trim().toLowerCase();
  const list = $('services');
  list.replaceChildren();
  for (const service of state.services) {
    const methods = service.methods.filter((m) => !filter || m.path.toLowerCase().includes(filter));
    if (!methods.length) continue;
    const items = el('ul', { class: 'methods' });
    for (const m of methods) {
      const current = state.method && state.method.path === m.path;
      items.append(el('li', {},
        el('button', {
          type: 'button', class: 'method', 'aria-label': m.name, 'aria-current': current ? 'true' : null,
          title: m.comments || m.path, onclick: () => openMethod(m.path),
        }, el('span', { class: 'name', text: m.name }), el('span', { class: `kind ${m.kind}`, text: m.kind })),
        m.comments ? el('p', { class: 'comments', text: m.comments }) : null));
    }
    list.append(el('div', { role: 'listitem', class: 'service' },
      el('h3', { text: service.name, title: service.comments || null }), items));
  }
}

// ---- a method and its form -------------------------------------------------

async function openMethod(path, request, metadata) {
  let method;
  $('layout').setAttribute('aria-busy', 'true');
  try {
    method = await api(`/api/method?path=${encodeURIComponent(path)}`);
  } catch (err) {
    $('welcome').hidden = false;
    $('welcome').textContent = err.message;
    $('layout').setAttribute('aria-busy', 'false');
    return;
  }
  state.method = method;
  state.schema = method.input;
  state.types = method.types;
  state.value = request && typeof request === 'object' ? request : {};
  if (metadata) state.metadata = metadata.map(([k, v]) => [k, v]);
  $('welcome').hidden = true;
  $('method').hidden = false;
  $('method-name').textContent = method.path;
  $('method-kind').textContent = `${method.kind} · ${method.input.root} → ${method.output}`;
  $('method-comments').textContent = method.comments;
  const streamingIn = method.kind === 'client-streaming' || method.kind === 'bidi-streaming';
  $('send').hidden = !streamingIn;
  $('close').hidden = !streamingIn;
  clearResponse();
  $('command').hidden = true;
  renderServices();
  renderForm();
  renderMetadata();
  syncJson();
  $('layout').setAttribute('aria-busy', 'false');
}

function renderForm() {
  const form = $('form');
  const focused = document.activeElement && document.activeElement.id;
  form.replaceChildren();
  renderMessage(state.schema.root, state.value, form);
  if (focused && $(focused)) $(focused).focus();
}

function messageType(name) {
  return state.schema.messages[name];
}

function renderMessage(typeName, obj, container) {
  const type = messageType(typeName);
  if (!type) {
    container.append(el('p', { class: 'error', text: `unknown type ${typeName}` }));
    return;
  }
  const oneofsDone = new Set();
  for (const field of type.fields) {
    if (field.oneof) {
      if (oneofsDone.has(field.oneof)) continue;
      oneofsDone.add(field.oneof);
      renderOneof(type, field.oneof, obj, container);
      continue;
    }
    renderField(field, obj, container, false);
  }
}

function renderOneof(type, name, obj, container) {
  const members = type.fields.filter((f) => f.oneof === name);
  const chosen = members.find((f) => obj[f.json] !== undefined);
  const id = `f${++uid}`;
  const select = el('select', { id, onchange: () => {
    for (const f of members) delete obj[f.json];
    const pick = members.find((f) => f.name === select.value);
    if (pick) obj[pick.json] = defaultFor(pick.type);
    changed(true);
  } }, el('option', { value: '', text: '(none)' }));
  for (const f of members) select.append(el('option', { value: f.name, text: f.name, selected: f === chosen }));
  const box = el('fieldset', { class: 'oneof' }, el('legend', { text: `oneof ${name}` }),
    el('div', { class: 'field' }, el('label', { for: id, text: name }), select));
  if (chosen) renderField(chosen, obj, box, true);
  container.append(box);
}

function renderField(field, obj, container, keep) {
  if (field.map) return renderMap(field, obj, container);
  if (field.repeated) return renderList(field, obj, container);
  const set = (v) => {
    if (v === undefined && !keep) delete obj[field.json]; else obj[field.json] = v === undefined ? defaultFor(field.type) : v;
  };
  editor(field.type, field.name, () => obj[field.json], set, container, { keep: keep || field.optional, comments: field.comments });
}

function renderList(field, obj, container) {
  const box = el('fieldset', { class: 'list' }, el('legend', { text: `${field.name} (repeated)` }));
  const items = Array.isArray(obj[field.json]) ? obj[field.json] : [];
  items.forEach((_, i) => {
    const row = el('div', { class: 'item' });
    editor(field.type, `${field.name}[${i}]`, () => items[i], (v) => { items[i] = v; }, row, { keep: true });
    row.append(el('button', { type: 'button', class: 'remove', text: 'Remove', 'aria-label': `Remove ${field.name}[${i}]`,
      onclick: () => { items.splice(i, 1); if (!items.length) delete obj[field.json]; changed(true); } }));
    box.append(row);
  });
  box.append(el('button', { type: 'button', class: 'add', text: `Add ${field.name}`, onclick: () => {
    if (!Array.isArray(obj[field.json])) obj[field.json] = [];
    obj[field.json].push(defaultFor(field.type));
    changed(true, `${field.name}[${obj[field.json].length - 1}]`);
  } }));
  container.append(box);
}

function renderMap(field, obj, container) {
  const box = el('fieldset', { class: 'map' }, el('legend', { text: `${field.name} (map)` }));
  const map = obj[field.json] && typeof obj[field.json] === 'object' ? obj[field.json] : {};
  Object.keys(map).forEach((key, i) => {
    const row = el('div', { class: 'item' });
    const id = `f${++uid}`;
    const keyInput = el('input', { id, type: 'text', value: key, onchange: () => {
      const rebuilt = {};
      for (const [k, v] of Object.entries(map)) rebuilt[k === key ? keyInput.value : k] = v;
      obj[field.json] = rebuilt;
      changed(true);
    } });
    row.append(el('div', { class: 'field' }, el('label', { for: id, text: `${field.name}[${i}] key` }), keyInput));
    editor(field.value, `${field.name}[${i}] value`, () => map[key], (v) => { map[key] = v; }, row, { keep: true });
    row.append(el('button', { type: 'button', class: 'remove', text: 'Remove', 'aria-label': `Remove ${field.name}[${i}]`,
      onclick: () => { delete map[key]; if (!Object.keys(map).length) delete obj[field.json]; changed(true); } }));
    box.append(row);
  });
  box.append(el('button', { type: 'button', class: 'add', text: `Add ${field.name}`, onclick: () => {
    const target = obj[field.json] && typeof obj[field.json] === 'object' ? obj[field.json] : (obj[field.json] = {});
    target[freshKey(field.key, target)] = defaultFor(field.value);
    changed(true);
  } }));
  container.append(box);
}

function freshKey(kind, map) {
  if (kind === 'bool') return 'false' in map ? 'true' : 'false';
  if (kind === 'string') { let n = 1; while (`key${n}` in map) n++; return `key${n}`; }
  let n = 0; while (String(n) in map) n++; return String(n);
}

function defaultFor(type) {
  if (typeof type === 'string') {
    if (type === 'bool') return false;
    if (type === 'string' || type === 'bytes') return '';
    return INT64.includes(type) ? '0' : 0;
  }
  if (type.enum) {
    if (type.enum === `${WKT}NullValue`) return null;
    return (state.schema.enums[type.enum] || [0])[0];
  }
  const name = type.message;
  if (name === `${WKT}Timestamp`) return '1970-01-01T00:00:00Z';
  if (name === `${WKT}Duration`) return '0s';
  if (name === `${WKT}FieldMask`) return '';
  if (name === `${WKT}ListValue`) return [];
  if (name === `${WKT}Value`) return null;
  if (name.startsWith(WKT) && WRAPPERS[name.slice(WKT.length)]) return defaultFor(WRAPPERS[name.slice(WKT.length)]);
  return {};
}

// One value's input: scalars, enums, well-known types, nested messages.
// `get` reads the value, `set(undefined)` clears it (when not `keep`).
function editor(type, label, get, set, container, opts = {}) {
  const id = `f${++uid}`;
  const wrap = el('div', { class: 'field' });
  const labelEl = el('label', { for: id, text: label });
  const note = opts.comments ? el('small', { class: 'comments', text: opts.comments }) : '';
  const update = (v) => { set(v); changed(false); };
  const value = get();
  if (typeof type === 'string') {
    if (type === 'bool') {
      const box = el('input', { id, type: 'checkbox', checked: value === true,
        onchange: () => update(box.checked || opts.keep ? box.checked : undefined) });
      wrap.classList.add('check');
      wrap.append(box, labelEl, note);
    } else {
      const input = el('input', { id, type: 'text', value: value === undefined ? '' : String(value),
        inputmode: INT32.includes(type) || INT64.includes(type) ? 'numeric' : (type === 'float' || type === 'double' ? 'decimal' : null),
        placeholder: type === 'bytes' ? 'base64' : type,
        oninput: () => update(scalar(type, input.value, opts.keep)) });
      wrap.append(labelEl, input);
      if (type === 'bytes') {
        const fileId = `f${++uid}`;
        const file = el('input', { id: fileId, type: 'file', onchange: () => {
          const reader = new FileReader();
          reader.onload = () => { input.value = String(reader.result).split(',')[1] || ''; update(input.value); };
          if (file.files[0]) reader.readAsDataURL(file.files[0]);
        } });
        wrap.append(el('label', { for: fileId, class: 'file', text: `${label} from a file` }), file);
      }
      wrap.append(note);
    }
    container.append(wrap);
    return;
  }
  if (type.enum) {
    const values = state.schema.enums[type.enum] || [];
    const select = el('select', { id, onchange: () => {
      update(select.value === values[0] && !opts.keep ? undefined : select.value);
    } });
    for (const v of values) select.append(el('option', { value: v, text: v, selected: v === value }));
    wrap.append(labelEl, select, note);
    container.append(wrap);
    return;
  }
  const name = type.message;
  const short = name.startsWith(WKT) ? name.slice(WKT.length) : null;
  if (short && WRAPPERS[short]) {
    return editor(WRAPPERS[short], label, get, set, container, { keep: false, comments: opts.comments });
  }
  if (['Timestamp', 'Duration', 'FieldMask'].includes(short)) {
    const hint = { Timestamp: '2024-01-31T12:00:00Z', Duration: '1.5s', FieldMask: 'a,b.c' }[short];
    const input = el('input', { id, type: 'text', value: value === undefined ? '' : value, placeholder: hint,
      oninput: () => update(input.value === '' ? undefined : input.value) });
    wrap.append(labelEl, input);
    if (short === 'Timestamp') {
      wrap.append(el('button', { type: 'button', text: 'Now', 'aria-label': `${label}: now`, onclick: () => {
        input.value = new Date().toISOString(); update(input.value);
      } }));
    }
    wrap.append(note);
    container.append(wrap);
    return;
  }
  if (['Struct', 'Value', 'ListValue'].includes(short)) {
    const area = el('textarea', { id, rows: 3, spellcheck: 'false', placeholder: short === 'ListValue' ? '[ ]' : '{ }' });
    area.value = value === undefined ? '' : JSON.stringify(value);
    area.addEventListener('input', () => {
      if (area.value.trim() === '') { area.removeAttribute('aria-invalid'); update(undefined); return; }
      try { update(JSON.parse(area.value)); area.removeAttribute('aria-invalid'); } catch { area.setAttribute('aria-invalid', 'true'); }
    });
    wrap.append(labelEl, area, note);
    container.append(wrap);
    return;
  }
  // A message: set on request, so that recursive types stay finite.
  if (value === undefined || value === null || typeof value !== 'object') {
    wrap.append(el('span', { class: 'unset', text: `${label}: not set` }),
      el('button', { type: 'button', text: `Set ${label}`, onclick: () => { set({}); changed(true); } }), note);
    container.append(wrap);
    return;
  }
  const box = el('fieldset', { class: 'message' }, el('legend', { text: `${label} (${short || name.split('.').pop()})` }));
  if (!opts.keep) {
    box.append(el('button', { type: 'button', class: 'remove', text: 'Remove', 'aria-label': `Remove ${label}`,
      onclick: () => { set(undefined); changed(true); } }));
  }
  if (note) box.append(note);
  if (short === 'Any') renderAny(value, box, label);
  else if (short === 'Empty') box.append(el('small', { text: '(no fields)' }));
  else renderMessage(name, value, box);
  container.append(box);
}

function renderAny(obj, box, label) {
  const id = `f${++uid}`;
  const url = obj['@type'] || '';
  const current = url.slice(url.lastIndexOf('/') + 1);
  const select = el('select', { id, onchange: async () => {
    for (const k of Object.keys(obj)) delete obj[k];
    if (select.value) {
      try {
        const schema = await api(`/api/type?name=${encodeURIComponent(select.value)}`);
        Object.assign(state.schema.messages, schema.messages);
        Object.assign(state.schema.enums, schema.enums);
        obj['@type'] = `type.googleapis.com/${select.value}`;
        if (select.value.startsWith(WKT) && !['Any', 'Empty'].includes(select.value.slice(WKT.length))) {
          obj.value = defaultFor({ message: select.value });
        }
      } catch (err) { showError(err.message); }
    }
    changed(true);
  } }, el('option', { value: '', text: '(choose a type)' }));
  for (const name of state.types) select.append(el('option', { value: name, text: name, selected: name === current }));
  box.append(el('div', { class: 'field' }, el('label', { for: id, text: `${label} @type` }), select));
  if (!current) return;
  if (current.startsWith(WKT) && !['Any', 'Empty'].includes(current.slice(WKT.length))) {
    editor({ message: current }, `${label} value`, () => obj.value, (v) => { obj.value = v; }, box, { keep: true });
  } else if (messageType(current)) {
    renderMessage(current, obj, box);
  } else {
    // The type's form schema comes with the next change; ask now.
    api(`/api/type?name=${encodeURIComponent(current)}`).then((schema) => {
      Object.assign(state.schema.messages, schema.messages);
      Object.assign(state.schema.enums, schema.enums);
      renderForm();
    }).catch((err) => showError(err.message));
  }
}

function scalar(type, text, keep) {
  if (text === '') return keep ? defaultFor(type) : undefined;
  if (INT32.includes(type) && /^-?\d+$/.test(text)) return Number(text);
  if ((type === 'float' || type === 'double') && text.trim() !== '' && !Number.isNaN(Number(text))) return Number(text);
  return text; // int64s stay strings; anything else is for the server to judge
}

// The form changed: `structural` re-renders it; then the JSON follows.
function changed(structural, focusLabel) {
  if (structural) renderForm();
  if (focusLabel) {
    const label = [...$('form').querySelectorAll('label')].find((l) => l.textContent === focusLabel);
    if (label && $(label.htmlFor)) $(label.htmlFor).focus();
  }
  syncJson();
}

function syncJson() {
  $('json').value = JSON.stringify(state.value, null, 2);
  $('json').removeAttribute('aria-invalid');
  $('json-error').textContent = '';
  updateShare();
}

// The JSON editor: checked by the server as `call` would parse it, then the
// form follows (the server's canonical JSON keeps 64-bit integers whole).
function jsonEdited() {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(async () => {
    const text = $('json').value;
    try {
      const result = await api('/api/check', { method: state.method.path, message: text.trim() || '{}' });
      if (result.ok) {
        state.value = JSON.parse(result.json);
        $('json').removeAttribute('aria-invalid');
        $('json-error').textContent = '';
        renderForm();
        updateShare();
      } else {
        $('json').setAttribute('aria-invalid', 'true');
        $('json-error').textContent = result.error;
      }
    } catch (err) { showError(err.message); }
  }, 250);
}

// ---- metadata, links -------------------------------------------------------

function renderMetadata() {
  const box = $('metadata');
  box.replaceChildren();
  state.metadata.forEach((pair, i) => {
    const nameId = `f${++uid}`;
    const valueId = `f${++uid}`;
    const name = el('input', { id: nameId, type: 'text', value: pair[0], placeholder: 'x-name', oninput: () => { pair[0] = name.value; updateShare(); } });
    const value = el('input', { id: valueId, type: 'text', value: pair[1], placeholder: 'value', oninput: () => { pair[1] = value.value; updateShare(); } });
    box.append(el('div', { class: 'item' },
      el('label', { for: nameId, text: `Metadata name ${i + 1}` }), name,
      el('label', { for: valueId, text: `Metadata value ${i + 1}` }), value,
      el('button', { type: 'button', class: 'remove', text: 'Remove', 'aria-label': `Remove metadata ${i + 1}`,
        onclick: () => { state.metadata.splice(i, 1); renderMetadata(); updateShare(); } })));
  });
}

function updateShare() {
  if (!state.method) return;
  const params = new URLSearchParams();
  params.set('method', state.method.path);
  params.set('request', JSON.stringify(state.value));
  if (state.metadata.length) params.set('metadata', JSON.stringify(state.metadata));
  const hash = `#${params.toString()}`;
  $('share').href = `${location.origin}/${hash}`;
  history.replaceState(null, '', `/${hash}`);
}

async function openFromHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const path = params.get('method');
  if (!path) return;
  let request = {};
  let metadata = [];
  try { request = JSON.parse(params.get('request') || '{}'); } catch { /* an empty form */ }
  try { metadata = JSON.parse(params.get('metadata') || '[]'); } catch { /* none */ }
  await openMethod(path, request, metadata);
}

// ---- calls -----------------------------------------------------------------

function requestBody() {
  const metadata = state.metadata.filter(([k]) => k.trim());
  const deadline = $('deadline').value.trim();
  return {
    method: state.method.path,
    messages: [JSON.stringify(state.value)],
    metadata,
    timeout: deadline ? Number(deadline) : null,
  };
}

function clearResponse() {
  $('status').textContent = '';
  $('status').className = '';
  $('details').hidden = true;
  $('messages').replaceChildren();
  $('headers').replaceChildren();
  $('trailers').replaceChildren();
}

function showError(text) {
  $('status').textContent = text;
  $('status').className = 'failed';
}

function fillTable(table, pairs) {
  table.replaceChildren(...pairs.map(([k, v]) => el('tr', {}, el('th', { scope: 'row', text: k }), el('td', { text: v }))));
}

async function startCall() {
  if ($('json').getAttribute('aria-invalid') === 'true') {
    showError('The request JSON is not valid: fix it first.');
    return;
  }
  const streamingIn = state.method.kind === 'client-streaming' || state.method.kind === 'bidi-streaming';
  const body = { ...requestBody(), close: !streamingIn };
  clearResponse();
  $('status').textContent = 'Calling…';
  $('call').disabled = true;
  $('cancel').disabled = false;
  let response;
  try {
    response = await fetch('/api/call', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  } catch (err) {
    endCall(); showError(err.message); return;
  }
  if (!response.ok) {
    const data = await response.json().catch(() => ({ error: response.statusText }));
    endCall(); showError(data.error); return;
  }
  if (streamingIn) addSent(1, body.messages[0]);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) name = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      onEvent(name, JSON.parse(data));
    }
  }
  endCall();
  loadHistory();
}

function onEvent(name, data) {
  if (name === 'call') {
    state.call = { id: data.id, sent: 1 };
    $('send').disabled = false;
    $('close').disabled = false;
    $('status').textContent = 'Running…';
  } else if (name === 'headers') {
    fillTable($('headers'), data);
  } else if (name === 'message') {
    const n = $('messages').children.length + 1;
    $('messages').append(el('li', { class: 'received' },
      el('span', { class: 'when', text: `#${n} · ${data.ms} ms` }),
      el('pre', { text: JSON.stringify(data.message, null, 2) })));
  } else if (name === 'trailers') {
    fillTable($('trailers'), data);
  } else if (name === 'status') {
    const ok = data.code === 'OK';
    $('status').className = ok ? 'ok' : 'failed';
    $('status').textContent = `${data.code}${data.message ? `: ${data.message}` : ''} · ${data.elapsedMs} ms`;
    if (data.details && data.details.length) {
      $('details').hidden = false;
      $('details').textContent = JSON.stringify(data.details, null, 2);
    }
  }
}

function addSent(n, text) {
  $('messages').append(el('li', { class: 'sent' },
    el('span', { class: 'when', text: `sent #${n}` }), el('pre', { text })));
}

function endCall() {
  state.call = null;
  $('call').disabled = false;
  $('cancel').disabled = true;
  $('send').disabled = true;
  $('close').disabled = true;
}

async function sendMore() {
  if (!state.call) return;
  const text = JSON.stringify(state.value);
  try {
    const result = await api('/api/call/send', { id: state.call.id, message: text });
    addSent(result.sent, text);
  } catch (err) { showError(err.message); }
}

async function closeRequests() {
  if (state.call) await api('/api/call/close', { id: state.call.id }).catch((err) => showError(err.message));
  $('send').disabled = true;
  $('close').disabled = true;
}

async function cancelCall() {
  if (state.call) await api('/api/call/cancel', { id: state.call.id }).catch((err) => showError(err.message));
}

async function copyCommand() {
  try {
    const result = await api('/api/command', requestBody());
    const text = result.curl ? `${result.grpcx}\n${result.curl}` : result.grpcx;
    $('command').textContent = text;
    $('command').hidden = false;
    if (navigator.clipboard) navigator.clipboard.writeText(text).catch(() => {});
  } catch (err) { showError(err.message); }
}

// ---- history ---------------------------------------------------------------

async function loadHistory() {
  let data;
  try { data = await api('/api/history'); } catch { return; }
  const list = $('history');
  list.replaceChildren();
  for (const entry of data.entries.slice(0, 50)) {
    const when = new Date(entry.time).toLocaleTimeString();
    const short = entry.method.split('/').pop();
    const request = () => { try { return JSON.parse(entry.messages[0] || '{}'); } catch { return {}; } };
    list.append(el('li', {},
      el('button', { type: 'button', class: 'entry', title: entry.messages.join('\n'),
        onclick: () => openMethod(entry.method, request(), entry.metadata) },
      el('span', { class: 'name', text: short }), ' ',
      el('span', { class: `code ${entry.status === 'OK' ? 'ok' : 'failed'}`, text: entry.status }), ' ',
      el('span', { class: 'when', text: when })),
      el('button', { type: 'button', class: 'rerun', text: '↻', 'aria-label': `Run again: ${short} at ${when}`,
        onclick: async () => { await openMethod(entry.method, request(), entry.metadata); startCall(); } })));
  }
  if (!data.entries.length) list.append(el('li', { class: 'empty', text: 'No calls yet.' }));
}

// ---- start -----------------------------------------------------------------

async function init() {
  $('search').addEventListener('input', renderServices);
  $('json').addEventListener('input', jsonEdited);
  $('template').addEventListener('click', () => {
    state.value = JSON.parse(JSON.stringify(state.method.template));
    renderForm(); syncJson();
  });
  $('clear').addEventListener('click', () => { state.value = {}; renderForm(); syncJson(); });
  $('add-metadata').addEventListener('click', () => {
    state.metadata.push(['', '']);
    renderMetadata();
    const inputs = $('metadata').querySelectorAll('input');
    if (inputs.length) inputs[inputs.length - 2].focus();
  });
  $('call').addEventListener('click', startCall);
  $('send').addEventListener('click', sendMore);
  $('close').addEventListener('click', closeRequests);
  $('cancel').addEventListener('click', cancelCall);
  $('copy').addEventListener('click', copyCommand);
  try {
    state.info = await api('/api/info');
    const info = state.info;
    $('target').textContent = info.target
      ? `${info.target}${info.bundled ? ' (the bundled server)' : ''} · ${info.protocol}`
      : 'schema only (no server to call)';
  } catch (err) { showError(err.message); }
  await loadServices();
  loadHistory();
  await openFromHash();
}

init();
