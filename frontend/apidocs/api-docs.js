// The API reference of the /docs page: renders the server's OpenAPI 3.1 and
// AsyncAPI 3 documents (/api/openapi.json, /api/asyncapi.json) into an
// <api-docs> element. Our own small renderer, loaded only by that page (the
// app's first load does not carry it), from this server alone (the CSP
// allows nothing else). Text goes in with textContent, never as HTML.

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c != null) el.append(c);
  return el;
};
const refName = (ref) => ref.split('/').pop();
const anchor = (kind, name) => `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;

/** A schema in a line or a nested list: types, references, one-ofs. */
function schemaView(s) {
  if (!s || typeof s !== 'object') return h('span', {}, 'any');
  if (s.$ref) return h('a', { href: `#${anchor('schema', refName(s.$ref))}` }, refName(s.$ref));
  if (s.const !== undefined) return h('code', {}, JSON.stringify(s.const));
  if (s.enum) return h('span', {}, 'one of ', s.enum.map((v, i) => [i ? ', ' : '', h('code', {}, JSON.stringify(v))]));
  const alts = s.oneOf ?? s.anyOf;
  if (alts) return h('ul', {}, alts.map((a) => h('li', {}, schemaView(a))));
  if (s.allOf && s.allOf.length === 1) return schemaView(s.allOf[0]);
  const type = [s.type].flat().filter(Boolean);
  if (type.includes('array')) return h('span', {}, 'array of ', schemaView(s.items));
  if (type.includes('object') || s.properties) {
    const props = Object.entries(s.properties ?? {});
    if (!props.length) return h('span', {}, 'object');
    const required = new Set(s.required ?? []);
    return h('ul', { class: 'api-docs__props' }, props.map(([name, p]) =>
      h('li', {}, h('code', {}, name), required.has(name) ? '' : ' (optional)', ': ', schemaView(p),
        p.description ? h('span', { class: 'api-docs__note' }, ` — ${p.description}`) : null)));
  }
  return h('span', {}, type.join(' or ') || 'any', s.format ? ` (${s.format})` : '');
}

const example = (value) =>
  h('pre', { class: 'api-docs__example', tabindex: '0' }, JSON.stringify(value, null, 2));

function operations(api) {
  const out = [];
  for (const [path, item] of Object.entries(api.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const id = anchor('op', op.operationId ?? `${method}${path}`);
      const who = (op.security ?? []).length ? `Identity: ${op.security.map((s) => Object.keys(s)[0]).join(', ')}` : 'Anyone';
      const params = (op.parameters ?? []).map((p) =>
        h('li', {}, h('code', {}, p.name), ` (${p.in}): `, schemaView(p.schema), p.description ? ` — ${p.description}` : ''));
      const body = op.requestBody?.content?.['application/json']?.schema;
      const responses = Object.entries(op.responses ?? {}).map(([status, r]) => {
        const schema = Object.values(r.content ?? {})[0]?.schema;
        return h('li', {}, h('strong', {}, status), ` ${r.description ?? ''}`, schema && schema.type !== 'string' ? [': ', schemaView(schema)] : null);
      });
      out.push(h('section', { class: 'card api-docs__item', id },
        h('h3', {}, h('code', {}, `${method.toUpperCase()} ${path}`)),
        h('p', {}, op.summary ?? ''),
        h('p', { class: 'api-docs__note' }, who),
        params.length ? [h('h4', {}, 'Parameters'), h('ul', {}, params)] : null,
        body ? [h('h4', {}, 'Body'), schemaView(body)] : null,
        h('h4', {}, 'Responses'), h('ul', {}, responses)));
    }
  }
  return out;
}

function channels(asyncapi) {
  return Object.entries(asyncapi.channels).map(([id, ch]) =>
    h('section', { class: 'card api-docs__item', id: anchor('channel', id) },
      h('h3', {}, ch.title ?? id, ' ', h('code', {}, ch.address)),
      h('p', {}, ch.description ?? ''),
      Object.values(ch.messages).map((ref) => {
        const m = asyncapi.components.messages[refName(ref.$ref)];
        return h('details', { class: 'api-docs__message' },
          h('summary', {}, h('code', {}, m.name), ` ${m.title.replace(/^\S+ /, '')}`),
          m.summary ? h('p', {}, m.summary) : null,
          schemaView(m.payload),
          (m.examples ?? []).map((e) => example(e.payload)));
      })));
}

function schemas(components) {
  return Object.entries(components).map(([name, s]) =>
    h('section', { class: 'api-docs__item', id: anchor('schema', name) },
      h('h3', {}, name), s.description ? h('p', {}, s.description) : null, schemaView(s)));
}

async function render(root) {
  root.replaceChildren(h('p', { role: 'status' }, 'Loading the API documents…'));
  try {
    const [api, asyncapi] = await Promise.all(
      ['/api/openapi.json', '/api/asyncapi.json'].map(async (u) => {
        const res = await fetch(u);
        if (!res.ok) throw new Error(`${u} answered ${res.status}`);
        return res.json();
      }));
    root.replaceChildren(...[
      h('p', {}, 'The documents themselves, for code generators and validators: ',
        h('a', { href: '/api/openapi.json' }, 'OpenAPI 3.1'), ' (HTTP) and ',
        h('a', { href: '/api/asyncapi.json' }, 'AsyncAPI 3'), ' (sockets and SSE).'),
      h('h2', {}, 'HTTP routes'), operations(api),
      h('h2', {}, 'Sockets and streams'), channels(asyncapi),
      h('h2', {}, 'Types'), schemas({ ...asyncapi.components.schemas, ...api.components.schemas }),
    ].flat(Infinity));
  } catch (e) {
    root.replaceChildren(h('p', { role: 'alert' }, `Could not load the API documents: ${e.message}`));
  }
}

document.head.append(h('link', { rel: 'stylesheet', href: new URL('api-docs.css', import.meta.url).pathname }));

customElements.define('api-docs', class extends HTMLElement {
  connectedCallback() {
    render(this);
  }
});
