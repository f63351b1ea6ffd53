// The /admin page's figures: an <admin-overview> element that asks
// GET /api/admin/access, and for admins GET /api/admin/overview, and shows
// the safety escalations per day and level, what is open now and the
// credits granted. Loaded by that page only (the app's first load does not
// carry it), from this server alone (the CSP allows nothing else). The app
// sets its `token` property; text goes in with textContent, never as HTML.

const h = (tag, attrs = {}, ...children) => {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c != null) el.append(c);
  return el;
};

function table(caption, head, rows) {
  return h('div', { class: 'md-table' },
    h('table', {},
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, String(c))))))),
    rows.length ? null : h('p', { class: 'field__hint' }, 'None yet.'));
}

class AdminOverview extends HTMLElement {
  #token = '';

  get token() { return this.#token; }

  set token(t) {
    const changed = t !== this.#token;
    this.#token = t;
    if (changed && this.isConnected) this.load();
  }

  connectedCallback() {
    // Set by the app before this script defined the element: take it over.
    if (Object.prototype.hasOwnProperty.call(this, 'token')) {
      const t = this.token;
      delete this.token;
      this.#token = t;
    }
    this.load();
  }

  async get(path) {
    const res = await fetch(path, { headers: { authorization: `Bearer ${this.#token}` } });
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) throw new Error('Your sign-in has expired: sign in again.');
    if (!res.ok) throw new Error(body.error ?? `The server answered ${res.status}.`);
    return body;
  }

  async load() {
    if (!this.#token) return;
    this.replaceChildren(h('p', { class: 'field__hint' }, 'Loading…'));
    try {
      const { admin } = await this.get('/api/admin/access');
      if (!admin) {
        this.replaceChildren(h('section', { class: 'banner banner--info', role: 'note' },
          h('p', {}, 'This page is for admins. An operator can make you one with ',
            h('code', {}, 'chorus users promote NAME'), '.')));
        return;
      }
      const o = await this.get('/api/admin/overview');
      const refresh = h('button', { class: 'btn', type: 'button' }, 'Refresh');
      refresh.addEventListener('click', () => this.load());
      this.replaceChildren(
        refresh,
        h('h2', {}, 'Safety escalations'),
        table('Escalations per day and level', ['Day', 'Level', 'Count'],
          o.escalations.map((e) => [e.day, e.risk_level, e.count])),
        h('h2', {}, 'Open now'),
        h('p', {}, `${o.running_streams} generations running.`),
        table('Open sockets and SSE streams', ['Transport', 'Protocol', 'Open'],
          o.live.map((l) => [l.transport, l.protocol, l.open])),
        h('h2', {}, 'Credits granted'),
        h('p', {}, `${o.credits.total} credits in ${o.credits.grants} grants.`));
    } catch (e) {
      this.replaceChildren(h('p', { class: 'banner banner--info', role: 'alert' }, e.message));
    }
  }
}

customElements.define('admin-overview', AdminOverview);
