// baton's dashboard: one page, no build step. The view is htm with Preact's standalone
// build (hooks included), the chart uPlot; both are served from node_modules by baton's
// control plane, so nothing comes from outside the machine. Everything is live: the page
// follows /api/events (Server-Sent Events) and reads /api/status once a second.
import { html, render, useEffect, useMemo, useRef, useState } from '/vendor/preact-htm.js';
import uPlot from '/vendor/uplot.js';

const api = async (path, init) => {
  const res = await fetch(path, init);
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
};

const fmtMs = (v) => (v === null || v === undefined ? '—' : v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`);
const fmtN = (v) => (v ?? 0).toLocaleString('en-US');
const ago = (ms) => (ms < 60_000 ? `${Math.round(ms / 1000)} s` : ms < 3_600_000 ? `${Math.round(ms / 60_000)} min` : `${(ms / 3_600_000).toFixed(1)} h`);
const statusClass = (s) => `s${Math.floor(s / 100)}`;
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#4d7c0f', '#be185d'];

/** The story of one generation: starting → healthy in X ms → serving → draining → stopped. */
function story(g) {
  const steps = ['starting'];
  if (g.healthyMs !== undefined) steps.push(html`healthy in <b>${g.healthyMs} ms</b>`);
  if (g.servingAt) steps.push('serving');
  if (g.drainingAt) steps.push('draining');
  if (['stopped', 'rejected', 'abandoned', 'crashed'].includes(g.state)) steps.push(html`<b>${g.state}</b>`);
  return steps.flatMap((s, i) => (i === 0 ? [s] : [' → ', s]));
}

/** One line per experiment finding on a generation: preview, verify and mirror reports, canary steps, analyses, a rollback. */
function Notes({ notes }) {
  if (!notes?.length) return '';
  const line = (n) => {
    switch (n.type) {
      case 'preview':
        return html`waits for promotion${n.url ? html` · preview <a href=${n.url} target="_blank">${n.url}</a>` : ''} · <code>${n.header}</code>`;
      case 'verified': {
        const what = n.source === 'mirror' ? 'mirrored' : 'replayed';
        const gate = n.passed === false ? html` · <b class="bad">gate: rejected</b>` : n.passed ? ' · gate: passed' : '';
        if (!n.differing.length) return html`${n.compared} ${what} requests answer the same${gate}`;
        return html`<span class="bad">${n.differing.length} of ${n.compared} ${what} differ</span>${gate}: ${n.differing.slice(0, 4).map((d) => `${d.method} ${d.target} ${d.status[0] === d.status[1] ? d.fields.join(', ') || d.headers.join(', ') : `${d.status[0]} → ${d.status[1]}`}`).join(' · ')}`;
      }
      case 'canary':
        return html`canary step ${n.step}/${n.steps}: <b>${n.weight} %</b>`;
      case 'analysis': {
        const who = n.phase === 'guard' ? 'guard' : `step ${n.step}`;
        const side = (w) => `${fmtN(w.requests)} req, ${w.successRate ?? '—'} % ok, p99 ${fmtMs(w.p99Ms)}`;
        return html`${who}: ${n.inconclusive ? 'no requests, unjudged' : n.passed ? html`<span class="good">passed</span>` : html`<b class="bad">failed: ${n.reason}</b>`} <span class="hint">(${side(n.candidate)}; baseline ${side(n.baseline)})</span>`;
      }
      case 'rolled-back':
        return html`<b class="bad">rolled back: ${n.reason}</b> → gen ${n.serving}`;
      default:
        return '';
    }
  };
  return html`<div class="notes">${notes.slice(-6).map((n) => html`<div>${line(n)}</div>`)}</div>`;
}

function Lane({ g, selected, onSelect }) {
  const errors = g.statuses['5xx'];
  return html`<div class="lane ${selected ? 'selected' : ''}" data-gen=${g.gen} onClick=${() => onSelect(g.gen)}>
    <span class="gen">gen ${g.gen}</span>
    <span><span class="pill ${g.state}">${g.state}${g.state === 'canary' && g.weight ? ` ${g.weight} %` : ''}</span></span>
    <span class="story">${story(g)}
      ${g.changes?.length ? html`<div class="changes">${g.changes.map((c) => `${c.file}: +${c.added} −${c.removed}`).join(' · ')}</div>` : ''}
      <${Notes} notes=${g.notes} />
      ${g.servingAt || g.requests ? html`<div class="numbers">${fmtN(g.requests)} req · <span class=${errors ? 'bad' : ''}>${fmtN(errors)} 5xx</span> · p50 ${fmtMs(g.p50Ms)} · p99 ${fmtMs(g.p99Ms)}</div>` : ''}</span>
    ${g.why ? html`<div class="why">${g.why}${g.output?.length ? html`<pre class="output">${g.output.slice(-8).join('\n')}</pre>` : ''}</div>` : ''}
  </div>`;
}

/** req/s, 5xx/s and p99 per generation over the last minutes, with the moments a generation started serving. */
function Chart({ samples, marks }) {
  const box = useRef(null);
  const plot = useRef(null);
  const gens = useMemo(() => [...new Set(samples.map((s) => s.gen))].sort((a, b) => a - b), [samples]);
  const data = useMemo(() => {
    const times = [...new Set(samples.map((s) => Math.round(s.t / 1000)))].sort((a, b) => a - b);
    const at = new Map(times.map((t, i) => [t, i]));
    const series = gens.flatMap(() => [new Array(times.length).fill(null), new Array(times.length).fill(null), new Array(times.length).fill(null)]);
    for (const s of samples) {
      const i = at.get(Math.round(s.t / 1000));
      const k = gens.indexOf(s.gen) * 3;
      series[k][i] = s.requests;
      series[k + 1][i] = s.errors;
      series[k + 2][i] = s.p99Ms;
    }
    return [times, ...series];
  }, [samples, gens]);
  const key = gens.join(',');
  useEffect(() => {
    if (!box.current) return undefined;
    const width = box.current.clientWidth || 600;
    const series = [{}];
    gens.forEach((gen, i) => {
      const stroke = COLORS[i % COLORS.length];
      series.push({ label: `gen ${gen} req/s`, stroke, width: 2, scale: 'n' });
      series.push({ label: `gen ${gen} 5xx/s`, stroke: '#dc2626', dash: [4, 3], scale: 'n' });
      series.push({ label: `gen ${gen} p99`, stroke, dash: [1, 3], scale: 'ms', value: (_, v) => fmtMs(v) });
    });
    const drawMarks = (u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.strokeStyle = '#f59e0b';
      ctx.setLineDash([5, 4]);
      for (const m of marks.current) {
        const x = u.valToPos(m / 1000, 'x', true);
        if (x < u.bbox.left || x > u.bbox.left + u.bbox.width) continue;
        ctx.beginPath();
        ctx.moveTo(x, u.bbox.top);
        ctx.lineTo(x, u.bbox.top + u.bbox.height);
        ctx.stroke();
      }
      ctx.restore();
    };
    plot.current?.destroy();
    plot.current = new uPlot(
      {
        width,
        height: 220,
        series,
        scales: { x: { time: true }, n: { auto: true }, ms: { auto: true } },
        axes: [{}, { scale: 'n', label: 'req/s · 5xx/s' }, { scale: 'ms', side: 1, label: 'p99 (ms)', grid: { show: false } }],
        hooks: { draw: [drawMarks] },
        legend: { live: false },
      },
      data,
      box.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key]);
  useEffect(() => plot.current?.setData(data), [data]);
  return html`<div class="chart" ref=${box}>${samples.length === 0 ? html`<p class="empty">Traffic shows here, one point a second, once requests arrive.</p>` : ''}</div>`;
}

function Diff({ gen }) {
  const [diff, setDiff] = useState(null);
  useEffect(() => {
    setDiff(null);
    if (gen === undefined) return;
    api(`/api/generations/${gen}/diff`).then(setDiff, () => setDiff({ missing: true }));
  }, [gen]);
  if (gen === undefined) return html`<p class="empty">Select a generation to see what changed in its files.</p>`;
  if (!diff) return html`<p class="empty">loading…</p>`;
  if (diff.missing || !diff.diff) return html`<p class="empty">Generation ${gen}: ${diff.missing ? 'no files kept' : gen === 1 ? 'the first generation: nothing to compare with' : 'the same files as the one before'}.</p>`;
  const lines = diff.diff.split('\n').map((l) => html`<span class=${l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : l.startsWith('@@') ? 'hunk' : ''}>${`${l}\n`}</span>`);
  const e = diff.endpoints;
  return html`<div>
    ${e && e.added.length + e.removed.length + e.changed.length > 0 ? html`<p>endpoints: ${[...e.added.map((x) => `+${x}`), ...e.removed.map((x) => `−${x}`), ...e.changed.map((x) => `~${x}`)].join(', ')}</p>` : ''}
    <pre class="diff">${lines}</pre>
  </div>`;
}

function Body({ body }) {
  if (!body) return html`<p class="empty">no body</p>`;
  const text = body.text ?? `(binary, ${body.size} bytes, base64)\n${body.base64}`;
  let shown = text;
  try {
    shown = JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    // not JSON: as it came
  }
  return html`<pre>${shown}${body.truncated ? '\n… (truncated)' : ''}</pre>`;
}

function Detail({ id, onReplayed }) {
  const [entry, setEntry] = useState(null);
  const [note, setNote] = useState('');
  useEffect(() => {
    setEntry(null);
    setNote('');
    api(`/api/requests/${id}`).then(setEntry, (err) => setNote(String(err)));
  }, [id]);
  const replay = async () => {
    setNote('replaying…');
    const res = await fetch(`/api/requests/${id}/replay`, { method: 'POST' });
    const body = await res.json();
    if (!res.ok) return setNote(body.error);
    setNote(`replayed as #${body.id} on gen ${body.gen}: ${body.status}`);
    onReplayed(body.id);
  };
  if (!entry) return html`<p class="empty">${note || 'loading…'}</p>`;
  const side = (title, part) => html`<div>
    <h3>${title}</h3>
    ${part ? html`<div class="kv"><div>${part.line}</div>${part.headers.map(([n, v]) => html`<div><span>${n}:</span> ${v}</div>`)}</div><${Body} body=${part.body} />` : html`<p class="empty">no answer</p>`}
  </div>`;
  return html`<div>
    <div class="toolbar"><b>#${entry.id}</b> ${entry.method} ${entry.target} → <span class=${statusClass(entry.status)}>${entry.status}</span> on gen ${entry.gen ?? '—'} in ${fmtMs(entry.ms)}
      <span class="spacer"></span><button class="replay" onClick=${replay}>Replay</button> <span>${note}</span></div>
    <div class="detail">${side('Request', entry.request)}${side('Response', entry.response)}</div>
  </div>`;
}

function Inspector({ requests, selected, onSelect, filter, setFilter }) {
  return html`<div>
    <div class="toolbar">
      <input class="filter" placeholder="filter: a path, a status (404, 5xx) or gen:3" value=${filter} onInput=${(e) => setFilter(e.target.value)} />
      <a href="/api/requests.har" download="baton.har">Download HAR</a>
    </div>
    ${requests.length === 0
      ? html`<p class="empty">No request ${filter ? 'matches' : 'yet'}.</p>`
      : html`<div class="table-box"><table class="requests"><thead><tr><th>#</th><th>gen</th><th>method</th><th>target</th><th>status</th><th>time</th><th>out</th></tr></thead><tbody>
        ${requests.map((r) => html`<tr class="row ${selected === r.id ? 'selected' : ''}" data-id=${r.id} onClick=${() => onSelect(r.id)}>
          <td>${r.id}</td><td>${r.gen ?? '—'}</td><td>${r.method}</td><td class="target">${r.target}</td>
          <td class=${statusClass(r.status)}>${r.status || '—'}${r.own ? html`<span class="own">baton</span>` : ''}${r.replayOf ? html`<span class="own">replay</span>` : ''}</td>
          <td>${fmtMs(r.ms)}</td><td>${fmtN(r.bytesOut)} B</td></tr>`)}
      </tbody></table></div>`}
  </div>`;
}

/** The filter box: `gen:3`, a status or class (`404`, `5xx`), else text in the target. */
function query(filter) {
  const q = new URLSearchParams({ limit: '200' });
  for (const word of filter.trim().split(/\s+/).filter(Boolean)) {
    if (/^gen:\d+$/.test(word)) q.set('gen', word.slice(4));
    else if (/^([1-5]xx|\d{3})$/i.test(word)) q.set('status', word);
    else q.set('path', word);
  }
  return q.toString();
}

function App() {
  const [status, setStatus] = useState(null);
  const [samples, setSamples] = useState([]);
  const [requests, setRequests] = useState([]);
  const [live, setLive] = useState(false);
  const [gen, setGen] = useState(undefined);
  const [selected, setSelected] = useState(undefined);
  const [filter, setFilter] = useState('');
  const marks = useRef([]);
  const filterRef = useRef(filter);
  filterRef.current = filter;

  const refresh = async () => {
    const [s, r] = await Promise.all([api('/api/status'), api(`/api/requests?${query(filterRef.current)}`)]);
    setStatus(s);
    setRequests(r);
  };
  useEffect(() => {
    void refresh();
    api('/api/metrics').then(setSamples, () => {});
    const timer = setInterval(() => {
      void refresh().catch(() => {});
      api('/api/metrics').then(setSamples, () => {});
    }, 1000);
    const source = new EventSource('/api/events');
    let pending;
    source.onopen = () => setLive(true);
    source.onerror = () => setLive(false);
    source.onmessage = (m) => {
      const event = JSON.parse(m.data);
      if (event.type === 'serving') marks.current = [...marks.current, Date.parse(event.time)].slice(-50);
      if (event.type === 'output') return;
      clearTimeout(pending);
      pending = setTimeout(() => void refresh().catch(() => {}), 50);
    };
    return () => {
      clearInterval(timer);
      source.close();
    };
  }, []);
  useEffect(() => void refresh().catch(() => {}), [filter]);

  if (!status) return html`<p class="loading">baton: loading…</p>`;
  const gens = [...status.generations].reverse();
  const reload = () => fetch('/api/reload', { method: 'POST' });
  const act = (what) => () => void fetch(`/api/${what}`, { method: 'POST' }).then(refresh);
  const x = status.experiments ?? {};
  const candidate = x.waiting ?? x.canary?.gen ?? null;
  return html`
    <header>
      <h1>baton</h1>
      <div class="meta">
        <span>${status.url}</span>
        ${status.tls ? html`<span class="tls" title="certificate ${status.tls.certificate} (from ${status.tls.from})">HTTPS + HTTP/2</span>` : ''}
        ${status.sidePorts.map((side) => html`<span class="side" title="side port ${side.name}: follows the serving generation">${side.name} ${side.url}</span>`)}
        ${status.upstreamTls ? html`<span class="upstream-tls" title="baton talks TLS to the gateway instances">TLS to the gateway</span>` : ''}
        <span class="serving">${status.serving === null ? 'nothing serving' : `gen ${status.serving} serving`}</span>
        <span>up ${ago(status.uptimeMs)}</span>
        <span>${status.command.join(' ')}</span>
      </div>
      <span class="spacer"></span>
      <span class="live ${live ? 'on' : ''}">${live ? 'live' : 'reconnecting…'}</span>
      ${x.canary ? html`<span class="canary-now" title="the share set for this step, and the share of requests gen ${x.canary.gen} really got in it so far">canary step ${x.canary.step}/${x.canary.steps}: set <b>${x.canary.weight} %</b>, got <b>${x.canary.actualWeight === null ? '—' : `${x.canary.actualWeight} %`}</b></span>` : ''}
      ${candidate === null ? '' : html`<button class="promote" onClick=${act('promote')} title="promote gen ${candidate} now (p)${x.canary ? ', skipping the canary steps left' : ''}">Promote gen ${candidate}</button>
        <button class="abort" onClick=${act('abort')} title="stop gen ${candidate} (a)">Abort</button>`}
      ${x.previous ? html`<button class="rollback" onClick=${act('rollback')} title="switch back to gen ${x.previous.gen} (b)">Rollback to gen ${x.previous.gen} · ${Math.ceil(x.previous.untilMs / 1000)} s</button>` : ''}
      <button class="reload" onClick=${reload}>Reload</button>
    </header>
    <main>
      <section class="wide"><h2>Traffic <span class="hint">req/s (solid), 5xx/s (red), p99 (dotted, right axis) per generation; dashed orange: a generation started serving</span></h2>
        <${Chart} samples=${samples} marks=${marks} /></section>
      <section><h2>Generations <span class="hint">newest first; click one for its diff</span></h2>
        <div class="lanes">${gens.map((g) => html`<${Lane} g=${g} selected=${gen === g.gen} onSelect=${setGen} />`)}</div></section>
      <section><h2>Config diff ${gen === undefined ? '' : html`<span class="hint">gen ${gen} against the one before</span>`}</h2><${Diff} gen=${gen} /></section>
      <section class="wide"><h2>Requests <span class="hint">${fmtN(status.inspector.kept)} kept in ${(status.inspector.bytes / 1048576).toFixed(1)} of ${(status.inspector.capBytes / 1048576).toFixed(0)} MiB</span></h2>
        <${Inspector} requests=${requests} selected=${selected} onSelect=${setSelected} filter=${filter} setFilter=${setFilter} />
        ${selected === undefined ? '' : html`<${Detail} id=${selected} onReplayed=${(id) => setSelected(id)} />`}</section>
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
