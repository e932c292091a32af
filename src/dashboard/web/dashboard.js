// Tributary dashboard: polls the binary's JSON API and draws the selected runs with uPlot.
// URL parameters: token (when the dashboard listens beyond loopback), runs (ids to select,
// comma-separated), interval (poll period in ms, default 2000).
'use strict';

const params = new URLSearchParams(location.search);
const token = params.get('token');
const pollMs = Math.max(200, Number(params.get('interval')) || 2000);
const palette = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2',
                 '#17becf', '#7f7f7f', '#bcbd22'];
const MB = 1e-6;

const state = {
  runs: [],          // the latest /api/runs listing
  selected: [],      // run ids, in the order they were picked
  data: {},          // id -> {rows, participation, lastRound}
  firstListing: true,
  charts: {},        // chart id -> uPlot instance
};

// Each chart: what goes on x, and one or more fields on y (each drawn for every selected run).
const xAxes = {
  round: {label: 'round', value: r => r.round},
  bytes_total: {label: 'bytes up + down, cumulative (MB)', log: true,
                value: r => num(r.bytes_up_total) !== null && num(r.bytes_down_total) !== null ?
                  (r.bytes_up_total + r.bytes_down_total) * MB : null},
  sim_time: {label: 'simulated time (s)', value: r => num(r.sim_time_seconds)},
};
const charts = [
  {id: 'accuracy-round', title: 'Test accuracy (%)', x: 'round', ys: [{field: 'test_accuracy', scale: 100}]},
  {id: 'loss-round', title: 'Test loss', x: 'round', ys: [{field: 'test_loss'}]},
  {id: 'accuracy-bytes', title: 'Test accuracy (%) against bytes', x: 'bytes_total',
   ys: [{field: 'test_accuracy', scale: 100}]},
  {id: 'accuracy-simtime', title: 'Test accuracy (%) against simulated time', x: 'sim_time',
   ys: [{field: 'test_accuracy', scale: 100}]},
  {id: 'bytes-cumulative', title: 'Cumulative bytes (MB)', x: 'round',
   ys: [{field: 'bytes_up_total', scale: MB, name: 'up'}, {field: 'bytes_down_total', scale: MB, name: 'down', dash: [6, 4]}]},
  {id: 'bytes-round', title: 'Bytes per round (MB), stacked: up, then up + down', x: 'round',
   ys: [{field: 'bytes_up', scale: MB, name: 'up', fill: true},
        {field: 'bytes_down', scale: MB, name: 'up + down', stackOn: 'bytes_up', dash: [6, 4]}]},
  {id: 'clients-round', title: 'Clients per round', x: 'round',
   ys: [{field: 'clients', name: 'aggregated'}, {field: 'clients_dropped', name: 'dropped', dash: [2, 3]},
        {field: 'stragglers', name: 'stragglers', dash: [8, 3]},
        {field: 'clients_rejected', name: 'rejected', dash: [1, 5]},
        {field: 'byzantine_clients', name: 'Byzantine', dash: [10, 2, 2, 2]}]},
  {id: 'train-seconds', title: 'Local training time per client, mean (s)', x: 'round',
   ys: [{field: 'train_seconds_full'}]},
  {id: 'bytes-per-client', title: 'Upload per client, mean (MB)', x: 'round',
   ys: [{field: 'bytes_up_per_full_client', scale: MB}]},
  {id: 'perplexity-round', title: 'Test perplexity', x: 'round', ys: [{field: 'test_perplexity'}], optional: true},
  {id: 'tokens-round', title: 'Tokens trained on', x: 'round', ys: [{field: 'tokens_trained_total'}], optional: true},
  {id: 'participation', title: 'Rounds each client took part in', participation: true},
];

// Axis labels of large counts (tokens, bytes) in k / M / G, so they fit the axis.
function compact(v) {
  if (v === null || v === undefined) return '';
  const a = Math.abs(v);
  for (const [from, scale, suffix] of [[1e9, 1e9, 'G'], [1e6, 1e6, 'M'], [1e4, 1e3, 'k']]) {
    if (a >= from) return +(v / scale).toPrecision(3) + suffix;
  }
  return v.toLocaleString();
}

function num(v) { return typeof v === 'number' && isFinite(v) ? v : null; }

function api(path) {
  const url = path + (token ? (path.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : '');
  return fetch(url).then(async res => {
    if (!res.ok) {
      let message = res.status + ' ' + res.statusText;
      try { message = (await res.json()).error || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return path.startsWith('/api/config') ? res.text() : res.json();
  });
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function formatBytes(b) {
  if (!b) return '0 B';
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (b >= 1000 && i < units.length - 1) { b /= 1000; i++; }
  return b.toFixed(b >= 100 || i === 0 ? 0 : 1) + ' ' + units[i];
}

function percent(v) { return v === null || v === undefined ? '' : (100 * v).toFixed(2) + '%'; }

function nameOf(id) {
  const run = state.runs.find(r => r.id === id);
  return run && run.name ? run.name : id;
}

function colorOf(id) { return palette[state.selected.indexOf(id) % palette.length]; }

function showMessages(list) {
  const box = document.getElementById('messages');
  box.replaceChildren(...list.map(m => el('div', {class: m.error ? 'error' : ''}, m.text)));
}

function setup(run) {
  const c = run.config || {};
  const parts = [c.strategy, c.model, c.dataset && (c.dataset + (c.partition ? ' ' + c.partition : '')),
                 c.num_clients !== undefined && (c.clients_per_round + '/' + c.num_clients + ' clients'),
                 c.uplink && c.uplink !== 'fp32' && ('up ' + c.uplink),
                 c.downlink && c.downlink !== 'fp32' && ('down ' + c.downlink),
                 c.privacy && c.privacy !== 'off' && ('DP ' + c.privacy), c.secagg === true && 'SecAgg'];
  return parts.filter(Boolean).join(' · ');
}

function renderRuns() {
  const body = document.querySelector('#runs tbody');
  body.replaceChildren(...state.runs.map(run => {
    const selected = state.selected.includes(run.id);
    const box = el('input', {type: 'checkbox', 'data-run': run.id});
    box.checked = selected;
    box.addEventListener('change', () => toggle(run.id, box.checked));
    const planned = run.config && run.config.rounds_planned;
    const name = el('td', {title: run.id});
    if (selected) name.append(el('span', {class: 'swatch', style: 'background:' + colorOf(run.id)}));
    name.append(run.name || run.id);
    const status = el('span', {class: 'status ' + run.status, title: run.error || ''}, run.status);
    const last = run.last_perplexity !== null ? run.last_perplexity.toFixed(1) + ' ppl' : percent(run.last_accuracy);
    return el('tr', {class: selected ? 'selected' : '', 'data-run': run.id},
              el('td', {}, box), name, el('td', {}, status),
              el('td', {}, run.rounds_done + (planned ? ' / ' + planned : '') + (run.partial_line ? ' +' : '')),
              el('td', {}, percent(run.best_accuracy)), el('td', {}, last),
              el('td', {}, formatBytes(run.bytes_up_total)), el('td', {}, formatBytes(run.bytes_down_total)),
              el('td', {}, setup(run)));
  }));
}

function toggle(id, on) {
  state.selected = state.selected.filter(s => s !== id);
  if (on) state.selected.push(id);
  renderRuns();
  refreshSelected().then(draw);
  renderConfig();
}

async function refreshSelected() {
  const messages = [];
  await Promise.all(state.selected.map(async id => {
    const run = state.runs.find(r => r.id === id);
    let data = state.data[id];
    // A run overwritten by a new one starts its rounds again.
    if (data && run && run.rounds_done < data.lastRound) data = undefined;
    if (!data) data = state.data[id] = {rows: [], participation: [], lastRound: -1, version: 0};
    try {
      const since = data.lastRound >= 0 ? '&since=' + data.lastRound : '';  // first poll: round 0 too
      const reply = await api('/api/metrics?run=' + encodeURIComponent(id) + since);
      if (reply.rows.length > 0) {
        data.rows = data.rows.concat(reply.rows);
        data.lastRound = data.rows[data.rows.length - 1].round;
        data.version++;
      }
      if (JSON.stringify(reply.participation) !== JSON.stringify(data.participation)) {
        data.participation = reply.participation;
        data.version++;
      }
    } catch (e) {
      messages.push({error: true, text: id + ': ' + e.message});
    }
  }));
  return messages;
}

// One table per (run, field): the points where both x and y exist.
function tablesFor(chart) {
  const tables = [];
  const series = [];
  for (const id of state.selected) {
    const data = state.data[id];
    if (!data) continue;
    if (chart.participation) {
      tables.push([data.participation.map(p => p[0]), data.participation.map(p => p[1])]);
      series.push({id, label: nameOf(id), raw: data.participation.map(p => p[1])});
      continue;
    }
    const x = xAxes[chart.x];
    for (const spec of chart.ys) {
      const xs = [], ys = [], raw = [];
      for (const row of data.rows) {
        const xv = x.value(row);
        let yv = num(row[spec.field]);
        if (yv !== null && spec.stackOn) {
          const base = num(row[spec.stackOn]);
          yv = base === null ? null : yv + base;
        }
        if (xv === null || yv === null || (x.log && xv <= 0)) continue;
        xs.push(xv);
        ys.push(yv * (spec.scale || 1));
        raw.push(num(row[spec.field]));
      }
      tables.push([xs, ys]);
      series.push({id, spec, label: nameOf(id) + (spec.name ? ' ' + spec.name : ''), raw});
    }
  }
  return {tables, series};
}

// uPlot wants one shared, sorted x: merge the tables, leaving gaps where a series has no point.
function join(tables) {
  const xs = Array.from(new Set(tables.flatMap(t => t[0]))).sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const data = [xs];
  for (const [tx, ty] of tables) {
    const ys = new Array(xs.length).fill(null);
    tx.forEach((x, i) => { ys[index.get(x)] = ty[i]; });
    data.push(ys);
  }
  return data;
}

function drawChart(chart, container) {
  const {tables, series} = tablesFor(chart);
  const points = series.map(s => s.raw.length);
  container.setAttribute('data-series', JSON.stringify(series.map(s => s.label)));
  container.setAttribute('data-points', JSON.stringify(points));
  container.setAttribute('data-last', JSON.stringify(series.map(s => s.raw.length ? s.raw[s.raw.length - 1] : null)));
  const plot = container.querySelector('.plot');
  if (state.charts[chart.id]) { state.charts[chart.id].destroy(); delete state.charts[chart.id]; }
  plot.replaceChildren();
  if (points.every(n => n === 0)) {
    plot.append(el('div', {class: 'empty'}, state.selected.length ? 'no values in the selected runs' : 'select a run'));
    return;
  }
  const x = chart.participation ? {label: 'client id'} : xAxes[chart.x];
  const opts = {
    width: Math.max(300, container.clientWidth - 16), height: 260,
    scales: {x: {time: false, distr: x.log ? 3 : 1}},
    // Rounds and client ids are whole numbers: no ticks between them.
    axes: [chart.x === 'round' || chart.participation ? {label: x.label, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000]}
                                                      : {label: x.label},
           {values: (u, splits) => splits.map(compact)}],
    legend: {live: false},
    series: [{label: x.label}].concat(series.map(s => {
      const color = colorOf(s.id);
      const out = {label: s.label, stroke: color, width: 1.5, spanGaps: true,
                   points: {show: chart.participation || s.raw.length < 60, size: chart.participation ? 4 : 5}};
      if (chart.participation) out.paths = () => null;
      if (s.spec && s.spec.dash) out.dash = s.spec.dash;
      if (s.spec && s.spec.fill) out.fill = color + '33';
      return out;
    })),
  };
  state.charts[chart.id] = new uPlot(opts, join(tables), plot);
}

function draw() {
  const box = document.getElementById('charts');
  for (const chart of charts) {
    let container = document.getElementById('chart-' + chart.id);
    const wanted = !chart.optional || state.selected.some(id => {
      const d = state.data[id];
      return d && d.rows.some(r => num(r[chart.ys[0].field]) !== null);
    });
    if (!wanted) { if (container) container.remove(); continue; }
    if (!container) {
      container = el('div', {class: 'chart', id: 'chart-' + chart.id}, el('h3', {}, chart.title), el('div', {class: 'plot'}));
      box.append(container);
    }
    const version = state.selected.map(id => id + ':' + (state.data[id] ? state.data[id].version : 0)).join(',');
    if (container.getAttribute('data-version') === version) continue;
    container.setAttribute('data-version', version);
    drawChart(chart, container);
  }
}

// Resolved configs are "[section]" and "key = value" lines: compare them key by key.
function configKeys(text) {
  const keys = new Map();
  let section = '';
  for (const line of text.split('\n')) {
    const header = line.match(/^\s*\[([^\]]+)\]/);
    if (header) { section = header[1] + '.'; continue; }
    const pair = line.match(/^\s*([A-Za-z0-9_]+)\s*=\s*(.*)$/);
    if (pair) keys.set(section + pair[1], pair[2].trim());
  }
  return keys;
}

async function renderConfig() {
  const pre = document.getElementById('config');
  const diff = document.getElementById('config-diff');
  const ids = state.selected.slice(0, 2);
  if (ids.length === 0) { pre.textContent = ''; diff.replaceChildren(); return; }
  try {
    const texts = await Promise.all(ids.map(id => api('/api/config?run=' + encodeURIComponent(id))));
    pre.textContent = '# ' + ids[0] + '/config.toml\n' + texts[0];
    if (ids.length < 2) { diff.replaceChildren(); return; }
    const [a, b] = texts.map(configKeys);
    const keys = Array.from(new Set([...a.keys(), ...b.keys()])).sort()
        .filter(k => a.get(k) !== b.get(k) && k !== 'run.name');
    diff.replaceChildren(el('h3', {}, 'Differences: ' + nameOf(ids[0]) + ' against ' + nameOf(ids[1])),
        el('table', {id: 'config-diff-table'}, el('tr', {}, el('th', {}, 'key'), el('th', {}, nameOf(ids[0])), el('th', {}, nameOf(ids[1]))),
           ...keys.map(k => el('tr', {}, el('td', {}, k), el('td', {}, a.get(k) ?? '(absent)'), el('td', {}, b.get(k) ?? '(absent)')))));
    if (keys.length === 0) diff.append(el('p', {}, 'the configs agree (apart from run.name)'));
  } catch (e) {
    pre.textContent = 'config: ' + e.message;
  }
}

function renderLive(reply) {
  const live = document.getElementById('live');
  if (!reply.live) { live.textContent = ''; return; }
  const status = reply.live_status || {};
  const parts = Object.entries(status).map(([k, v]) => k.replace(/_/g, ' ') + ': ' + v);
  live.textContent = 'live: ' + reply.live + (parts.length ? ' — ' + parts.join(', ') : '');
}

async function poll() {
  let messages = [];
  try {
    const reply = await api('/api/runs');
    state.runs = reply.runs;
    const ids = new Set(state.runs.map(r => r.id));
    state.selected = state.selected.filter(id => ids.has(id));
    if (state.firstListing) {
      state.firstListing = false;
      const wanted = (params.get('runs') || '').split(',').filter(id => ids.has(id));
      state.selected = wanted.length ? wanted : reply.live && ids.has(reply.live) ? [reply.live]
                                               : state.runs.slice(0, 2).map(r => r.id);
      renderConfig();
    }
    for (const root of reply.empty_roots) {
      messages.push({text: 'no runs under ' + root + ' (a run folder holds metrics.jsonl)'});
    }
    for (const run of state.runs) {
      if (run.problem) messages.push({error: true, text: run.id + ': ' + run.problem});
      if (run.bad_lines) messages.push({text: run.id + ': ' + run.bad_lines + ' unreadable lines in metrics.jsonl skipped'});
    }
    renderLive(reply);
    renderRuns();
    messages = messages.concat(await refreshSelected());
    draw();
    document.getElementById('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
    document.body.setAttribute('data-polls', String(Number(document.body.getAttribute('data-polls') || 0) + 1));
  } catch (e) {
    messages.push({error: true, text: 'cannot reach the dashboard: ' + e.message});
  }
  showMessages(messages);
  setTimeout(poll, pollMs);
}

poll();
