// docket dashboard page. Plain browser JavaScript, no build step, no dependencies.
// Every value from a queue reaches the page through text nodes or attributes, never as HTML.
'use strict';
(function () {
  var token = document.querySelector('meta[name="docket-token"]').getAttribute('content');
  var actionsOn = document.querySelector('meta[name="docket-actions"]').getAttribute('content') === 'true';
  var main = document.getElementById('main');
  var live = document.getElementById('live');
  var overview = { queues: [] };
  var shown = ''; // what main shows now, as JSON: re-rendered only when it changes
  var STATES = ['ready', 'delayed', 'reserved', 'buried'];
  var PAGE = 20;

  function h(tag, props) {
    var el = document.createElement(tag);
    for (var key in props || {}) {
      var value = props[key];
      if (value === undefined || value === null || value === false) continue;
      if (key.slice(0, 2) === 'on') el.addEventListener(key.slice(2), value);
      else if (key === 'class') el.className = value;
      else el.setAttribute(key, String(value));
    }
    for (var i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, child) {
    if (child === undefined || child === null || child === false) return;
    if (Array.isArray(child)) return child.forEach(function (c) { add(el, c); });
    el.append(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }

  function toast(text) {
    var t = document.getElementById('toast');
    t.textContent = text;
    t.className = 'toast show';
    clearTimeout(toast.timer);
    toast.timer = setTimeout(function () { t.className = 'toast'; }, 2500);
  }
  function ms(value) {
    if (value === undefined || value === null) return '—';
    if (value === 0) return '0 ms';
    if (value < 1) return value.toFixed(2) + ' ms';
    if (value < 1000) return Math.round(value) + ' ms';
    return (value / 1000).toFixed(value < 10000 ? 2 : 1) + ' s';
  }
  function when(t) { return t === undefined || t === null ? '—' : new Date(t).toLocaleString(); }
  function num(n) { return n === undefined || n === null ? '—' : String(n); }
  function rate(r) { return r === undefined || r === null ? '—' : (r < 10 ? r.toFixed(1) : Math.round(r)) + '/s'; }
  function pct(p) { return p && p.count > 0 ? ms(p.p50) + ' / ' + ms(p.p99) : '—'; }
  function qpath(name) { return 'api/queues/' + encodeURIComponent(name); }

  function getJson(url) {
    return fetch(url, { headers: { accept: 'application/json' } }).then(function (res) {
      return res.json().then(function (body) { return { status: res.status, body: body }; });
    });
  }
  function post(url, body, done) {
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-docket-token': token }, body: JSON.stringify(body || {}) })
      .then(function (res) { return res.json().then(function (b) { return { ok: res.ok, body: b }; }); })
      .then(function (r) {
        toast(r.ok ? done + (r.body.count !== undefined && r.body.count !== 1 ? ' (' + r.body.count + ')' : '') : r.body.error || 'failed');
        refresh(true);
      })
      .catch(function () { toast('request failed'); });
  }
  function button(label, onclick, extra) {
    return h('button', Object.assign({ type: 'button', onclick: onclick }, extra || {}), label);
  }
  function confirmThen(question, action) { return function () { if (window.confirm(question)) action(); }; }

  // ── routes: #/ · #/queue/NAME/STATE/PAGE · #/queue/NAME/job/ID ──
  function route() {
    var parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    if (parts[0] === 'queue' && parts[2] === 'job') return { view: 'job', queue: parts[1], id: parts[3] };
    if (parts[0] === 'queue') return { view: 'queue', queue: parts[1], state: STATES.indexOf(parts[2]) >= 0 ? parts[2] : 'ready', page: Math.max(0, parseInt(parts[3], 10) || 0) };
    return { view: 'overview' };
  }
  function link(r) {
    if (r.view === 'job') return '#/queue/' + encodeURIComponent(r.queue) + '/job/' + r.id;
    if (r.view === 'queue') return '#/queue/' + encodeURIComponent(r.queue) + '/' + r.state + '/' + (r.page || 0);
    return '#/';
  }
  function summaryOf(name) { return overview.queues.filter(function (q) { return q.name === name; })[0]; }

  function show(key, build) {
    if (key === shown) return;
    shown = key;
    main.replaceChildren(build());
  }

  function renderOverview() {
    show(JSON.stringify(['overview', overview]), function () {
      var rows = overview.queues.map(function (q) {
        return h('tr', { 'data-testid': 'queue-row', 'data-queue': q.name },
          h('td', null, h('a', { href: link({ view: 'queue', queue: q.name, state: 'ready' }) }, q.name), q.paused ? [' ', h('span', { class: 'badge paused' }, 'paused')] : null),
          STATES.map(function (s) {
            return h('td', { class: 'num count-' + s + (q.counts[s] > 0 ? ' nonzero' : ''), 'data-testid': 'count-' + s },
              h('a', { href: link({ view: 'queue', queue: q.name, state: s }) }, String(q.counts[s])));
          }),
          h('td', { class: 'num', 'data-testid': 'count-completed' }, num(q.completed)),
          h('td', { class: 'num' }, num(q.failed)),
          h('td', { class: 'num', 'data-testid': 'throughput' }, rate(q.throughput.completedPerSecond !== undefined ? q.throughput.completedPerSecond : q.throughput.addedPerSecond)),
          h('td', { class: 'num' }, pct(q.waitTime)),
          h('td', { class: 'num' }, pct(q.runTime)),
          h('td', null, actionsOn
            ? button(q.paused ? 'Resume' : 'Pause', function () { post(qpath(q.name) + '/' + (q.paused ? 'resume' : 'pause'), {}, q.paused ? 'resumed' : 'paused'); }, { 'data-testid': 'pause-toggle' })
            : null));
      });
      return h('div', null, h('h1', null, 'Queues'),
        h('table', { 'data-testid': 'queues' },
          h('thead', null, h('tr', null, ['queue', 'ready', 'delayed', 'reserved', 'buried', 'completed', 'failed', 'throughput', 'wait p50 / p99', 'run p50 / p99', ''].map(function (t, i) {
            return h('th', { class: i > 0 && i < 10 ? 'num' : '' }, t);
          }))),
          h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 11, class: 'muted' }, 'No queues.')))));
    });
  }

  function renderQueue(r) {
    var q = summaryOf(r.queue);
    if (!q) return show('missing' + r.queue, function () { return h('p', null, 'No queue named ', h('b', null, r.queue), '.'); });
    getJson(qpath(r.queue) + '/jobs?state=' + r.state + '&offset=' + r.page * PAGE + '&limit=' + PAGE).then(function (res) {
      if (JSON.stringify(route()) !== JSON.stringify(r)) return; // navigated away meanwhile
      var page = res.body;
      show(JSON.stringify(['queue', r, q.counts, q.paused, page]), function () {
        var caps = q.capabilities;
        var tools = [];
        if (actionsOn && r.state === 'buried') tools.push(button('Redrive all', function () { post(qpath(r.queue) + '/redrive-dead', {}, 'redriven'); }, { 'data-testid': 'redrive-all' }));
        if (actionsOn && r.state === 'buried') tools.push(button('Remove all', confirmThen('Delete every dead letter of ' + r.queue + '?', function () { post(qpath(r.queue) + '/remove-dead', {}, 'removed'); }), { class: 'danger' }));
        if (actionsOn && (r.state === 'ready' || r.state === 'delayed')) tools.push(button('Purge ' + r.state, confirmThen('Delete every ' + r.state + ' job of ' + r.queue + '?', function () { post(qpath(r.queue) + '/purge', { state: r.state }, 'purged'); }), { class: 'danger' }));
        var rows = (page.jobs || []).map(function (j) {
          return h('tr', { 'data-testid': 'job-row', 'data-job': j.id },
            h('td', null, h('a', { href: link({ view: 'job', queue: r.queue, id: j.id }) }, '#' + j.id)),
            h('td', { class: 'num' }, num(j.priority)),
            h('td', { class: 'num' }, j.attemptsMade === undefined ? '—' : j.attemptsMade + (j.maxAttempts !== undefined ? ' / ' + j.maxAttempts : '')),
            h('td', null, when(j.createdOn)),
            h('td', null, r.state === 'buried' ? (j.deadReason || '—') : r.state === 'delayed' || r.state === 'reserved' ? when(j.dueAt) : ''),
            h('td', { class: 'preview' }, j.lastError ? h('div', { class: 'error-title' }, j.lastError) : null, j.preview));
        });
        var pages = Math.max(1, Math.ceil(page.total / PAGE));
        return h('div', null,
          h('h1', null, r.queue, ' ', q.paused ? h('span', { class: 'badge paused' }, 'paused') : null),
          h('nav', { class: 'tabs' }, STATES.map(function (s) {
            return h('a', { href: link({ view: 'queue', queue: r.queue, state: s }), class: s === r.state ? 'current' : '', 'data-testid': 'tab-' + s }, s + ' (' + q.counts[s] + ')');
          })),
          tools.length ? h('div', { class: 'toolbar' }, tools) : null,
          caps.list === 'first' && !(r.state === 'buried' && caps.deadLetterList) ? h('p', { class: 'muted' }, 'This queue shows only the next ' + r.state + ' job (its home offers no listing).') : null,
          res.status !== 200 ? h('p', { class: 'muted' }, page.error) :
          h('table', { 'data-testid': 'jobs' },
            h('thead', null, h('tr', null, ['id', 'priority', 'attempts', 'created', r.state === 'buried' ? 'reason' : r.state === 'delayed' ? 'due' : r.state === 'reserved' ? 'lease ends' : '', 'payload'].map(function (t, i) {
              return h('th', { class: i === 1 || i === 2 ? 'num' : '' }, t);
            }))),
            h('tbody', null, rows.length ? rows : h('tr', null, h('td', { colspan: 6, class: 'muted' }, 'No ' + r.state + ' jobs.')))),
          (caps.list === 'all' || (r.state === 'buried' && caps.deadLetterList)) && pages > 1 ? h('div', { class: 'pager' },
            r.page > 0 ? h('a', { href: link({ view: 'queue', queue: r.queue, state: r.state, page: r.page - 1 }) }, '← newer') : null,
            h('span', { class: 'muted' }, 'page ' + (r.page + 1) + ' of ' + pages),
            r.page + 1 < pages ? h('a', { href: link({ view: 'queue', queue: r.queue, state: r.state, page: r.page + 1 }), 'data-testid': 'next-page' }, 'older →') : null) : null);
      });
    });
  }

  function field(label, value) { return [h('dt', null, label), h('dd', null, value)]; }

  function renderJob(r) {
    var q = summaryOf(r.queue);
    getJson(qpath(r.queue) + '/jobs/' + encodeURIComponent(r.id)).then(function (res) {
      if (JSON.stringify(route()) !== JSON.stringify(r)) return;
      var job = res.body;
      show(JSON.stringify(['job', r, res]), function () {
        var back = h('p', null, h('a', { href: link({ view: 'queue', queue: r.queue, state: job.state || 'ready' }) }, '← ' + r.queue));
        if (res.status !== 200) return h('div', null, back, h('h1', null, 'Job #' + r.id), h('p', { 'data-testid': 'job-missing' }, job.error));
        var caps = q ? q.capabilities : {};
        var base = qpath(r.queue) + '/jobs/' + job.id;
        var tools = [];
        if (actionsOn && job.state === 'buried') tools.push(button('Redrive', function () { post(base + '/redrive', {}, 'redriven'); }, { 'data-testid': 'redrive' }));
        if (actionsOn && job.state === 'delayed') tools.push(button('Run now', function () { post(base + '/kick', {}, 'kicked'); }, { 'data-testid': 'kick' }));
        if (actionsOn && caps.priority && job.state !== undefined) {
          var input = h('input', { type: 'number', min: 0, value: job.priority, 'aria-label': 'priority', 'data-testid': 'priority-input', class: 'narrow' });
          tools.push(h('span', null, input, ' ', button('Set priority', function () { post(base + '/priority', { priority: Number(input.value) }, 'priority set'); })));
        }
        if (actionsOn && job.state !== 'reserved') tools.push(button('Remove', confirmThen('Delete job #' + job.id + '?', function () { post(base + '/remove', {}, 'removed'); }), { class: 'danger', 'data-testid': 'remove' }));
        var p = job.payload;
        var payload = p.kind === 'bytes'
          ? [h('p', { class: 'muted' }, p.size + ' bytes' + (p.truncated ? ' (first part shown)' : '')), h('pre', { 'data-testid': 'payload-hex' }, p.hex), h('h2', null, 'as text'), h('pre', { 'data-testid': 'payload' }, p.text)]
          : [h('pre', { 'data-testid': 'payload' }, p.text), p.truncated ? h('p', { class: 'muted' }, 'truncated') : null];
        var errors = (job.errors || []).map(function (e) {
          return h('div', { 'data-testid': 'error' },
            h('div', { class: 'error-title' }, 'Attempt ' + e.attempt + ' · ' + e.name + (e.code ? ' (' + e.code + ')' : '') + ': ' + e.message, h('span', { class: 'muted' }, ' · ' + when(e.at))),
            e.stack ? h('pre', { class: 'stack', 'data-testid': 'stack' }, e.stack) : null);
        });
        var durations = ['ttr', 'timeout', 'ttl', 'delay'];
        var options = Object.keys(job.options).map(function (k) {
          var v = job.options[k];
          return field(k, v === null ? 'none' : durations.indexOf(k) >= 0 ? ms(v) : String(v));
        });
        var attempts = Object.keys(job.attempts).map(function (k) { return field(k, String(job.attempts[k])); });
        return h('div', null, back,
          h('h1', null, 'Job #' + job.id, ' ', job.state ? h('span', { class: 'badge ' + job.state, 'data-testid': 'job-state' }, job.state) : null,
            job.deadReason ? [' ', h('span', { class: 'badge buried', 'data-testid': 'dead-reason' }, job.deadReason)] : null),
          tools.length ? h('div', { class: 'toolbar' }, tools) : null,
          h('h2', null, 'Payload'), payload,
          h('div', { class: 'grid' },
            h('div', { class: 'card' }, h('h2', null, 'Options'), h('dl', null, options)),
            h('div', { class: 'card' }, h('h2', null, 'Attempts'), h('dl', null, attempts)),
            h('div', { class: 'card' }, h('h2', null, 'Timeline'), h('dl', { 'data-testid': 'timeline' }, job.timeline.map(function (t) { return field(when(t.at), t.what); })))),
          job.progress ? [h('h2', null, 'Progress'), h('pre', { 'data-testid': 'progress' }, job.progress.value + '  (' + when(job.progress.at) + ')')] : null,
          h('h2', null, 'Errors (' + errors.length + ')'), errors.length ? errors : h('p', { class: 'muted' }, 'None.'));
      });
    });
  }

  function refresh(force) {
    if (force) shown = '';
    var r = route();
    if (r.view === 'job') renderJob(r);
    else if (r.view === 'queue') renderQueue(r);
    else renderOverview();
  }

  function fillSearch() {
    var select = document.getElementById('search-queue');
    var names = overview.queues.map(function (q) { return q.name; });
    if (JSON.stringify(names) === select.getAttribute('data-names')) return;
    select.setAttribute('data-names', JSON.stringify(names));
    select.replaceChildren.apply(select, names.map(function (n) { return h('option', { value: n }, n); }));
  }
  document.getElementById('search').addEventListener('submit', function (event) {
    event.preventDefault();
    var id = document.getElementById('search-id').value.trim();
    var queue = document.getElementById('search-queue').value;
    if (/^[0-9]+$/.test(id) && queue) location.hash = link({ view: 'job', queue: queue, id: id });
    else toast('Enter a job id (a number).');
  });

  window.addEventListener('hashchange', function () { refresh(true); });
  var events = new EventSource('api/events');
  events.onmessage = function (event) {
    overview = JSON.parse(event.data);
    live.textContent = 'live';
    live.className = 'live on';
    fillSearch();
    refresh(false);
  };
  events.onerror = function () { live.textContent = 'reconnecting…'; live.className = 'live'; };
})();
