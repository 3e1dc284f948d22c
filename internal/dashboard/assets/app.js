// Parapet dashboard. Plain JavaScript, no dependencies. Everything shown
// comes from the admin API; text from events (paths, User-Agents, reasons)
// is attacker-controlled and is only ever inserted with textContent.
'use strict';
(function () {
  const API = '/_parapet/api';
  const EVENTS_PAGE = 50; // rows rendered: the newest page only, whatever the rate
  const DECISIONS = ['allow', 'block', 'challenge', 'throttle', 'other'];

  let csrf = '';
  let view = 'overview';
  let loggedIn = false;
  const state = {
    filter: {}, cursor: '', next: '', live: true, selected: '', page: [],
    window: '1h', status: null, inflight: {},
  };

  const $ = (id) => document.getElementById(id);

  // el builds an element; children are nodes or strings (set as text).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }
  const SVG = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  class ApiError extends Error {
    constructor(status, message, body) { super(message); this.status = status; this.body = body; }
  }

  async function api(method, path, body, accept) {
    const headers = { Accept: accept || 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
    const res = await fetch(API + path, {
      method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (accept && res.ok) return res;
    let data = null;
    if ((res.headers.get('Content-Type') || '').includes('json')) data = await res.json().catch(() => null);
    if (res.status === 401 && path !== '/session') {
      showLogin('Your session has ended; log in again.');
    }
    if (!res.ok) {
      let msg = (data && data.error) || res.status + ' ' + res.statusText;
      if (data && Array.isArray(data.errors) && data.errors.length) {
        msg = data.errors.map((e) => (e.field ? e.field + ': ' : '') + e.reason).join('; ');
      }
      throw new ApiError(res.status, msg, data);
    }
    return data;
  }

  function flash(msg, bad) {
    const f = $('flash');
    f.textContent = msg;
    f.classList.toggle('bad', !!bad);
    f.hidden = false;
    clearTimeout(flash.t);
    flash.t = setTimeout(() => { f.hidden = true; }, bad ? 8000 : 4000);
  }

  // ---- session ----

  function showLogin(msg) {
    loggedIn = false;
    csrf = '';
    $('app').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = msg || '';
    $('token').focus();
  }

  function showApp(session) {
    loggedIn = true;
    csrf = session.csrf;
    $('actor').textContent = session.actor ? 'as ' + session.actor : '';
    $('login').hidden = true;
    $('app').hidden = false;
    route();
    refreshStatus();
  }

  $('login-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = $('token').value;
    try {
      const s = await api('POST', '/session', { token });
      $('token').value = '';
      showApp(s);
    } catch (e) {
      $('login-error').textContent = e.status === 401 || e.status === 403 ? 'That token is not valid.' : e.message;
    }
  });

  $('logout').addEventListener('click', async () => {
    try { await api('DELETE', '/session'); } catch (e) { /* gone already */ }
    showLogin('Logged out.');
  });

  // ---- routing and polling ----

  function route() {
    const name = (location.hash || '#overview').slice(1);
    view = ['overview', 'events', 'bans', 'rules', 'status'].includes(name) ? name : 'overview';
    for (const s of document.querySelectorAll('.view')) s.hidden = s.id !== 'view-' + view;
    for (const a of document.querySelectorAll('header nav a')) a.classList.toggle('active', a.dataset.view === view);
    refreshView();
  }
  window.addEventListener('hashchange', route);

  const REFRESH = { overview: 5000, events: 2000, bans: 10000, rules: 15000, status: 10000 };

  // once runs fn unless the same kind of fetch is still under way, so a
  // slow server never piles up requests.
  async function once(kind, fn) {
    if (state.inflight[kind]) return;
    state.inflight[kind] = true;
    try { await fn(); } finally { state.inflight[kind] = false; }
  }

  function refreshView() {
    if (!loggedIn) return;
    switch (view) {
      case 'overview': return once('stats', loadStats);
      case 'events': return once('events', loadEvents);
      case 'bans': return once('bans', loadBans);
      case 'rules': return once('rules', loadRules);
      case 'status': return once('status', refreshStatus);
    }
  }

  let lastView = 0;
  let lastStatus = 0;
  setInterval(() => {
    if (!loggedIn || document.hidden) return;
    const now = Date.now();
    if (now - lastView >= REFRESH[view] && !(view === 'events' && !state.live)) {
      lastView = now;
      refreshView();
    }
    if (now - lastStatus >= 10000) {
      lastStatus = now;
      once('status', refreshStatus);
    }
  }, 500);

  // ---- status and under-attack ----

  async function refreshStatus() {
    let s;
    try { s = await api('GET', '/status'); } catch (e) { return; }
    state.status = s;
    const chips = $('health');
    chips.replaceChildren();
    if (s.store) {
      chips.append(el('span', { class: 'chip ' + (s.store.healthy ? 'ok' : 'bad'), text: 'store ' + s.store.type + (s.store.healthy ? '' : ' down') }));
    }
    for (const f of s.feeds || []) {
      if (f.error) chips.append(el('span', { class: 'chip bad', text: 'feed ' + f.name + ' failing' }));
    }
    if (s.mode) chips.append(el('span', { class: 'chip', text: s.mode }));
    const ua = s.under_attack || {};
    const b = $('ua-toggle');
    b.classList.toggle('on', !!ua.on);
    b.textContent = 'Under attack: ' + (ua.on ? 'ON' + (ua.until ? ' until ' + fmtTime(ua.until) : '') : 'off');
    b.title = ua.reason || '';
    if (view === 'status') renderStatus(s);
  }

  $('ua-toggle').addEventListener('click', async () => {
    const on = state.status && state.status.under_attack && state.status.under_attack.on;
    if (!on) { $('ua-form').hidden = false; return; }
    try {
      await api('POST', '/under-attack', { on: false });
      flash('Under-attack mode is off.');
    } catch (e) { flash('Could not turn under-attack mode off: ' + e.message, true); }
    refreshStatus();
  });
  $('ua-cancel').addEventListener('click', () => { $('ua-form').hidden = true; });
  $('ua-on-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      await api('POST', '/under-attack', { on: true, for: $('ua-for').value });
      $('ua-form').hidden = true;
      flash('Under-attack mode is on for ' + $('ua-for').value + '.');
    } catch (e) { flash('Could not turn under-attack mode on: ' + e.message, true); }
    refreshStatus();
  });

  function renderStatus(s) {
    const dl = el('dl');
    const row = (k, v) => dl.append(el('dt', { text: k }), el('dd', {}, v));
    row('Version', s.version || '');
    row('Config hash', el('span', { class: 'mono', text: s.config_hash || '' }));
    row('Mode', s.mode || '');
    row('Uptime', fmtDuration(s.uptime_seconds || 0));
    if (s.store) row('Store', s.store.type + ' — ' + (s.store.healthy ? 'healthy' : 'UNREACHABLE'));
    const ua = s.under_attack || {};
    row('Under attack', ua.on ? 'on' + (ua.until ? ' until ' + fmtTime(ua.until) : '') + (ua.reason ? ' (' + ua.reason + ')' : '') : 'off');
    const inst = el('ul');
    for (const i of s.instances || []) inst.append(el('li', {}, el('span', { class: 'mono', text: i.id }), ' last seen ' + fmtTime(i.last_seen)));
    row('Instances', inst);
    if (Array.isArray(s.feeds)) {
      const fl = el('ul');
      for (const f of s.feeds) {
        const state = f.error ? 'failing (' + f.error + ')' : f.ok ? 'ok' : 'loading';
        fl.append(el('li', {}, f.name + ': ' + state + (f.updated ? ', updated ' + fmtTime(f.updated) : '') + ', ' + (f.entries || 0) + ' entries (' + (f.source || 'none') + ')'));
      }
      row('Feeds', fl);
    }
    $('status').replaceChildren(dl);
  }

  // ---- overview: stats and charts ----

  $('window').addEventListener('change', () => { state.window = $('window').value; once('stats', loadStats); });

  async function loadStats() {
    let st;
    try { st = await api('GET', '/stats?window=' + encodeURIComponent(state.window)); } catch (e) { return; }
    const step = parseDuration(st.step) || 60;
    drawDecisions($('chart-decisions'), $('legend-decisions'), st.buckets, step);
    drawRules($('chart-rules'), $('legend-rules'), st.buckets, st.by_rule || {}, step);
    const last = st.buckets.length > 1 ? st.buckets[st.buckets.length - 2] : st.buckets[0];
    if (last) {
      const total = DECISIONS.reduce((n, d) => n + (last[d] || 0), 0);
      $('rates').textContent = 'last full ' + st.step + ': ' + rate(total / step) + ' requests/s, ' +
        rate(((last.block || 0) + (last.challenge || 0) + (last.throttle || 0)) / step) + ' refused/s';
    }
    const top = st.top || {};
    for (const k of ['ips', 'countries', 'asns', 'paths', 'user_agents']) renderTop(k, top[k] || []);
  }

  function drawDecisions(box, legend, buckets, step) {
    const W = Math.max(box.clientWidth, 300), H = 220, L = 48, B = 20, T = 8;
    const n = buckets.length || 1;
    const totals = buckets.map((b) => DECISIONS.reduce((s, d) => s + (b[d] || 0), 0) / step);
    const max = niceMax(Math.max(...totals, 0));
    const bw = (W - L) / n;
    const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'requests per second by decision' });
    axes(g, W, H, L, B, T, max, buckets, n, bw);
    buckets.forEach((b, i) => {
      let y = H - B;
      for (const d of DECISIONS) {
        const v = (b[d] || 0) / step;
        if (!v) continue;
        const h = (v / max) * (H - B - T);
        y -= h;
        g.append(svg('rect', { class: d, x: L + i * bw + 0.5, y, width: Math.max(bw - 1, 1), height: h },
          svg('title', {}, `${fmtTime(b.t)} ${d}: ${rate(v)}/s (${b[d]})`)));
      }
    });
    box.replaceChildren(g);
    legend.replaceChildren(...DECISIONS.map((d) => el('span', {}, el('i', { class: 'sw-' + d }), d)));
  }

  function drawRules(box, legend, buckets, byRule, step) {
    const W = Math.max(box.clientWidth, 300), H = 220, L = 48, B = 20, T = 8;
    const rules = Object.entries(byRule).sort((a, b) => b[1] - a[1]).slice(0, 5).map((e) => e[0]);
    const n = buckets.length || 1;
    const bw = (W - L) / n;
    let maxV = 0;
    const series = rules.map((r) => buckets.map((b) => { const v = ((b.rules || {})[r] || 0) / step; maxV = Math.max(maxV, v); return v; }));
    const max = niceMax(maxV);
    const g = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'refusals per second by rule' });
    axes(g, W, H, L, B, T, max, buckets, n, bw);
    series.forEach((vals, si) => {
      const d = vals.map((v, i) => (i ? 'L' : 'M') + (L + i * bw + bw / 2).toFixed(1) + ' ' + (H - B - (v / max) * (H - B - T)).toFixed(1)).join(' ');
      g.append(svg('path', { class: 'line s' + si, d }, svg('title', {}, rules[si])));
    });
    if (!rules.length) g.append(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no refusals in this window'));
    box.replaceChildren(g);
    legend.replaceChildren(...rules.map((r, i) => el('span', {}, el('i', { class: 's' + i }), r + ' (' + byRule[r] + ')')));
  }

  function axes(g, W, H, L, B, T, max, buckets, n, bw) {
    g.append(svg('line', { class: 'axis', x1: L, y1: H - B, x2: W, y2: H - B }));
    for (const f of [0.5, 1]) {
      const y = H - B - f * (H - B - T);
      g.append(svg('line', { class: 'axis', x1: L, y1: y, x2: W, y2: y }));
      g.append(svg('text', { x: L - 4, y: y + 3, 'text-anchor': 'end' }, rate(max * f) + '/s'));
    }
    const every = Math.max(1, Math.ceil(n / 6));
    buckets.forEach((b, i) => {
      if (i % every) return;
      g.append(svg('text', { x: L + i * bw, y: H - 6 }, new Date(b.t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })));
    });
  }

  function renderTop(kind, list) {
    const t = $('top-' + kind);
    const rows = list.map((kc) => {
      const acts = el('td', { class: 'acts' });
      if (kind === 'ips') {
        acts.append(el('button', { class: 'link small', type: 'button', text: 'events', onclick: () => showEventsFor({ ip: kc.key }) }));
        acts.append(el('button', { class: 'link small', type: 'button', text: 'ban 1h', 'aria-label': 'ban ' + kc.key + ' for 1h', onclick: () => banIP(kc.key, '1h', 'from the dashboard top list') }));
      } else if (kind === 'paths') {
        acts.append(el('button', { class: 'link small', type: 'button', text: 'events', onclick: () => showEventsFor({ path: kc.key }) }));
      }
      return el('tr', {}, el('td', { class: 'key', text: kc.key }), acts, el('td', { class: 'count', text: String(kc.count) }));
    });
    if (!rows.length) rows.push(el('tr', {}, el('td', { class: 'muted', text: 'none' })));
    t.replaceChildren(...rows);
  }

  // ---- events ----

  function showEventsFor(f) {
    const form = $('filters');
    for (const name of ['ip', 'rule', 'decision', 'path', 'since']) form.elements[name].value = f[name] || '';
    readFilter();
    location.hash = '#events';
  }

  function readFilter() {
    const form = $('filters');
    state.filter = {};
    for (const name of ['ip', 'rule', 'decision', 'path', 'since']) {
      const v = form.elements[name].value.trim();
      if (v) state.filter[name] = v;
    }
    state.cursor = '';
  }

  function query(extra) {
    const p = new URLSearchParams(state.filter);
    for (const [k, v] of Object.entries(extra || {})) if (v) p.set(k, v);
    return p.toString();
  }

  $('filters').addEventListener('submit', (ev) => {
    ev.preventDefault();
    readFilter();
    once('events', loadEvents);
  });
  $('live').addEventListener('change', () => {
    state.live = $('live').checked;
    if (state.live) { state.cursor = ''; once('events', loadEvents); }
  });
  $('older').addEventListener('click', () => {
    if (!state.next) return;
    state.cursor = state.next;
    state.live = false;
    $('live').checked = false;
    once('events', loadEvents);
  });
  $('export').addEventListener('click', async () => {
    try {
      const res = await api('GET', '/events?' + query(), undefined, 'application/x-ndjson');
      const blob = await res.blob();
      const a = el('a', { href: URL.createObjectURL(blob), download: 'parapet-events.ndjson' });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 10000);
    } catch (e) { $('events-error').textContent = e.message; }
  });

  async function loadEvents() {
    let p;
    try {
      p = await api('GET', '/events?' + query({ limit: String(EVENTS_PAGE), cursor: state.cursor }));
      $('events-error').textContent = '';
    } catch (e) {
      $('events-error').textContent = e.message;
      return;
    }
    state.page = p.events || [];
    state.next = p.next || '';
    $('older').hidden = !state.next;
    const rows = state.page.map((e) => {
      const tr = el('tr', { 'data-id': e.request_id, onclick: () => showDetail(e, tr) },
        el('td', { text: fmtTime(e.time), title: e.time }),
        el('td', {}, badge(e)),
        el('td', { text: e.status ? String(e.status) : '' }),
        el('td', { class: 'mono', text: e.client_ip || '' }),
        el('td', { text: e.country || '' }),
        el('td', { text: e.method || '' }),
        el('td', { class: 'mono', text: e.kind === 'request' ? e.path : e.message, title: e.kind === 'request' ? e.path : e.message }),
        el('td', { text: e.rule || (e.kind !== 'request' ? e.kind : '') }));
      if (e.request_id && e.request_id === state.selected) tr.classList.add('sel');
      return tr;
    });
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 8, class: 'muted', text: 'No events match.' })));
    $('events').tBodies[0].replaceChildren(...rows);
  }

  function badge(e) {
    if (e.kind !== 'request') return el('span', { class: 'badge', text: e.kind });
    const monitored = e.mode === 'monitor';
    return el('span', { class: 'badge ' + (monitored ? 'monitor' : e.decision), text: e.decision + (monitored ? ' (monitor)' : '') });
  }

  // explain reads what the deciding stage wrote in the reason: for attack
  // detection, "<engine>: CRS score N of T; 942100 msg [ARGS:q]; ...;
  // analyzer sqli/high via <decoding>: why on <field>".
  function explain(e) {
    const out = [];
    const rule = e.rule || '';
    if (!rule) return out;
    if (rule.startsWith('detect-')) {
      const m = /^([a-z+]+):/.exec(e.reason || '');
      out.push(['Engine', 'attack detection' + (m ? ' (' + m[1] + ')' : '')]);
      const hits = [];
      const re = /(\d{6}) ([^;[]+?)(?: \[([^\]]+)\])?(?=;|$)/g;
      let h;
      while ((h = re.exec(e.reason || '')) && hits.length < 10) hits.push(h);
      if (hits.length) {
        const ul = el('ul');
        for (const x of hits) ul.append(el('li', {}, el('b', { text: x[1] }), ' ' + x[2] + (x[3] ? ' — field ' + x[3] : '')));
        out.push(['CRS rules', ul]);
      }
      const a = /analyzer ([a-z_-]+)\/([a-z]+)(?: via ([^:;]+))?.*? on (\S+)$/.exec(e.reason || '') ||
        /^analyzer: ([a-z_-]+)\/([a-z]+)(?: via ([^:;]+))?.*? on (\S+)$/.exec(e.reason || '');
      if (a) {
        out.push(['Analyzer', a[1] + ' (' + a[2] + ' confidence)']);
        out.push(['Field', a[4]]);
        if (a[3]) out.push(['Decoding', a[3]]);
      }
      if (!a && hits.length && hits[0][3]) out.push(['Field', hits[0][3]]);
    } else {
      out.push(['Stage', stageOf(rule)]);
    }
    return out;
  }

  function stageOf(rule) {
    const prefixes = [['rl-', 'rate limit'], ['ua-', 'User-Agent rule'], ['path-', 'path rule'], ['edge-', 'edge guard'],
      ['ban', 'ban'], ['auto-ban', 'auto ban'], ['under-attack', 'under-attack mode'], ['leak', 'leak guard'], ['harden', 'response hardening']];
    for (const [p, s] of prefixes) if (rule.startsWith(p)) return s;
    return 'access rule';
  }

  function showDetail(e, tr) {
    state.selected = e.request_id || '';
    for (const r of $('events').tBodies[0].rows) r.classList.remove('sel');
    if (tr) tr.classList.add('sel');
    const d = $('detail');
    const dl = el('dl');
    const row = (k, v) => { if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && !v.length)) dl.append(el('dt', { text: k }), el('dd', {}, v instanceof Node ? v : Array.isArray(v) ? v.join(', ') : String(v))); };
    row('Time', e.time);
    row('Kind', e.kind);
    row('Decision', e.decision ? e.decision + (e.mode ? ' (' + e.mode + ')' : '') : '');
    row('Rule', e.rule);
    for (const [k, v] of explain(e)) row(k, v);
    row('Reason', e.reason);
    row('Message', e.message);
    row('Actor', e.actor);
    row('Status', e.status);
    row('Client', e.client_ip);
    row('Country', e.country);
    row('ASN', e.asn ? 'AS' + e.asn : '');
    row('Method', e.method);
    row('Host', e.host);
    row('Path', e.path);
    row('User-Agent', e.user_agent);
    row('Tags', e.tags);
    row('Monitored', e.monitored);
    row('Matched rules', e.matched_rules);
    row('Error', e.error);
    row('Duration', e.duration_ms !== undefined ? e.duration_ms + ' ms' + (e.detect_ms ? ' (detection ' + e.detect_ms + ' ms)' : '') : '');
    row('Request id', e.request_id);
    row('Instance', e.instance);
    const actions = el('p');
    if (e.client_ip) {
      actions.append(el('button', { type: 'button', class: 'danger small', text: 'Ban ' + e.client_ip + ' for 1h', onclick: () => banIP(e.client_ip, '1h', 'from event ' + (e.request_id || '')) }), ' ');
      actions.append(el('button', { type: 'button', class: 'ghost small', text: 'Events from this IP', onclick: () => showEventsFor({ ip: e.client_ip }) }));
    }
    d.replaceChildren(el('h3', { text: 'Event' }), dl, actions,
      el('button', { type: 'button', class: 'link', text: 'Close', onclick: () => { d.hidden = true; state.selected = ''; } }));
    d.hidden = false;
  }

  // ---- bans ----

  async function banIP(ip, dur, reason) {
    try {
      await api('POST', '/bans', { ip, for: dur, reason });
      flash('Banned ' + ip + ' for ' + dur + '.');
      if (view === 'bans') loadBans();
    } catch (e) {
      flash('Could not ban ' + ip + ': ' + e.message, true);
    }
  }

  $('ban-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target;
    const body = { ip: f.elements.ip.value.trim(), for: f.elements.for.value, reason: f.elements.reason.value.trim() };
    try {
      await api('POST', '/bans', body);
      $('bans-error').textContent = '';
      flash('Banned ' + body.ip + ' for ' + body.for + '.');
      f.reset();
      loadBans();
    } catch (e) {
      $('bans-error').textContent = e.message;
    }
  });

  async function loadBans() {
    let data;
    try { data = await api('GET', '/bans'); } catch (e) { $('bans-error').textContent = e.message; return; }
    const rows = (data.bans || []).map((b) => el('tr', {},
      el('td', { class: 'mono', text: b.ip }),
      el('td', { text: b.reason || '' }),
      el('td', { text: b.until ? fmtTime(b.until) : 'never' }),
      el('td', { text: b.source || '' }),
      el('td', {}, el('button', { type: 'button', class: 'ghost small', text: 'Remove', 'aria-label': 'remove ban of ' + b.ip, onclick: () => unban(b.ip) }))));
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 5, class: 'muted', text: 'No bans.' })));
    $('bans').tBodies[0].replaceChildren(...rows);
  }

  async function unban(ip) {
    try {
      await api('DELETE', '/bans/' + encodeURIComponent(ip));
      flash('Lifted the ban of ' + ip + '.');
    } catch (e) { flash('Could not lift the ban of ' + ip + ': ' + e.message, true); }
    loadBans();
  }

  // ---- rules ----

  async function loadRules() {
    let data;
    try { data = await api('GET', '/rules'); $('rules-error').textContent = ''; } catch (e) { $('rules-error').textContent = e.message; return; }
    const rows = (data.rules || []).map((r) => {
      const next = r.mode === 'monitor' ? 'enforce' : 'monitor';
      return el('tr', { 'data-rule': r.id, 'data-kind': r.kind },
        el('td', { class: 'mono', text: r.id }),
        el('td', { text: r.kind || '' }),
        el('td', { text: r.source || '' }),
        el('td', {}, el('span', { class: 'badge ' + (r.mode === 'monitor' ? 'monitor' : 'block'), text: r.mode || 'enforce' })),
        el('td', {}, el('button', { type: 'button', class: 'ghost small', text: 'Set ' + next, 'aria-label': 'set ' + r.id + ' to ' + next, onclick: () => setMode(r.id, r.kind, next) })));
    });
    if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 5, class: 'muted', text: 'No rules.' })));
    $('rules').tBodies[0].replaceChildren(...rows);
  }

  async function setMode(id, kind, mode) {
    try {
      await api('PATCH', '/rules/' + encodeURIComponent(id) + (kind ? '?kind=' + encodeURIComponent(kind) : ''), { mode });
      flash('Rule ' + id + ' is now in ' + mode + ' mode.');
    } catch (e) { $('rules-error').textContent = id + ': ' + e.message; }
    loadRules();
  }

  // ---- formatting ----

  function fmtTime(t) {
    if (!t) return '';
    const d = new Date(t);
    if (isNaN(d)) return String(t);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString() : d.toLocaleString();
  }
  function fmtDuration(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + 'd ' : '') + (h ? h + 'h ' : '') + m + 'm';
  }
  function rate(v) {
    if (v >= 100) return v.toFixed(0);
    if (v >= 10) return v.toFixed(1);
    return v.toFixed(2).replace(/\.?0+$/, '') || '0';
  }
  function niceMax(v) {
    if (!(v > 0)) return 1;
    const p = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }
  // parseDuration reads Go's time.Duration.String() ("1m0s", "10s", "24m0s") in seconds.
  function parseDuration(s) {
    let total = 0;
    const re = /(\d+(?:\.\d+)?)(h|m|s)/g;
    let m;
    while ((m = re.exec(s || ''))) total += parseFloat(m[1]) * { h: 3600, m: 60, s: 1 }[m[2]];
    return total;
  }

  // ---- start ----

  api('GET', '/session').then(showApp, () => showLogin(''));
})();
