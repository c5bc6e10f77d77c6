'use strict';
/*
 * control.js - the test-only control API of the imitation, under /_fake/ on the same port
 * (JSON in, JSON out; no auth: the imitation listens on loopback only).  It scripts faults,
 * configures status callbacks, triggers inbound webhooks and exposes what was recorded.
 * Reads that tests wait on (requests, webhooks) accept min_count + timeout_ms and answer as
 * soon as the condition holds: tests wait for events with a deadline, never sleep.
 * The full list of endpoints is in ../README.md.
 */
const webhooks = require('./webhooks');

const ACTIONS = new Set(['error', 'hang', 'reset', 'delay', 'close_after_reply']);

function reply(res, status, obj) {
  res.send(status, { 'Content-Type': 'application/json; charset=utf-8' }, JSON.stringify(obj));
}

function parseJson(req) {
  if (!req.body.length) return {};
  return JSON.parse(req.body.toString('utf8'));
}

/* Validates one script entry; returns the normalised script or throws. */
function normaliseScript(s) {
  const action = s.action || (s.status || s.code ? 'error' : null);
  if (!ACTIONS.has(action)) throw new Error('action must be one of ' + [...ACTIONS].join(', '));
  const count = s.count === undefined ? 1 : Number(s.count);
  if (!Number.isInteger(count)) throw new Error('count must be an integer (-1 = unlimited)');
  if (action === 'delay' && !(Number(s.delay_ms) >= 0)) throw new Error('delay needs delay_ms');
  return {
    action, to: s.to || null, remaining: count <= 0 ? Infinity : count,
    status: s.status ? Number(s.status) : undefined, code: s.code ? Number(s.code) : undefined,
    retry_after: s.retry_after, delay_ms: Number(s.delay_ms) || 0,
  };
}

/* Filters over recorded API requests, from the query string. */
function requestFilter(q) {
  const to = q.get('to');
  const token = q.get('token');
  const status = q.get('status');
  const since = Number(q.get('since') || 0);
  const path = q.get('path');
  const method = q.get('method');
  return (r) => (r.seq > since) && (!to || r.to === to) && (!token || r.token === token) &&
    (!status || String(r.response ? r.response.status : '') === status) &&
    (!path || r.path.includes(path)) && (!method || r.method === method);
}

function webhookFilter(q) {
  const kind = q.get('kind');
  const sid = q.get('message_sid');
  const since = Number(q.get('since') || 0);
  return (w) => w.seq > since && (!kind || w.kind === kind) &&
    (!sid || w.params.MessageSid === sid);
}

/*
 * Answers a read, waiting (long poll) until at least min_count entries match or timeout_ms
 * passes.  The answer says whether the wait timed out.
 */
function waitList(state, res, source, filter, q) {
  const min = Number(q.get('min_count') || 0);
  const timeout = Math.min(Number(q.get('timeout_ms') || 0), 600000);
  const limit = Number(q.get('limit') || 0);
  const answer = (timedOut) => {
    let items = source().filter(filter);
    const count = items.length;
    if (limit > 0) items = items.slice(-limit);
    reply(res, 200, { count, timed_out: timedOut, items });
  };
  const enough = () => {
    let n = 0;
    for (const x of source()) if (filter(x) && ++n >= min) return true;
    return n >= min;
  };
  if (min <= 0 || enough() || timeout <= 0) return answer(min > 0 && !enough());
  state.addWaiter(enough, timeout, (ok) => answer(!ok));
  return undefined;
}

function stats(state, q) {
  const byStatus = {};
  for (const r of state.requests) {
    const k = String(r.response ? r.response.status : 'pending');
    byStatus[k] = (byStatus[k] || 0) + 1;
  }
  const wh = { status: 0, inbound: 0, by_http_status: {} };
  for (const w of state.webhooks) {
    wh[w.kind]++;
    wh.by_http_status[w.status] = (wh.by_http_status[w.status] || 0) + 1;
  }
  const tokens = { distinct: state.tokens.size, with_send: 0, max_requests: 0, replays: 0 };
  const byToken = {};
  for (const [k, t] of state.tokens) {
    if (t.sid) tokens.with_send++;
    tokens.max_requests = Math.max(tokens.max_requests, t.requests);
    tokens.replays += t.replays;
    if (q.get('tokens')) byToken[k] = { requests: t.requests, sends: t.sid ? 1 : 0, replays: t.replays, sid: t.sid };
  }
  const out = {
    requests: state.requests.length, by_status: byStatus, sends: state.stats.sends,
    replays: state.stats.replays, messages: state.messages.size, tokens, webhooks: wh,
    scripts_pending: state.scripts.length, uptime_ms: Date.now() - state.started,
  };
  if (q.get('tokens')) out.by_token = byToken;
  return out;
}

async function postStatusNow(state, body, res) {
  const sid = body.message_sid;
  if (!state.messages.has(sid)) return reply(res, 404, { error: 'unknown message_sid' });
  const url = body.url || state.callbackUrls.get(sid) || state.callbackBase;
  if (!url) return reply(res, 400, { error: 'no url: the message had no StatusCallback' });
  if (!body.status) return reply(res, 400, { error: 'status required' });
  const entry = await webhooks.postStatus(state, sid, url,
    { status: body.status, error_code: body.error_code }, { sign: body.sign, signUrl: body.sign_url });
  return reply(res, 200, entry);
}

function configureCallbacks(state, body) {
  if (body.mode !== undefined) {
    if (!['auto', 'off'].includes(body.mode)) throw new Error('mode must be auto or off');
    state.callbackMode = body.mode;
  }
  if (body.to !== undefined) {
    if (body.sequence === null) state.callbackScripts.delete(body.to);
    else {
      if (!Array.isArray(body.sequence) || !body.sequence.every((s) => s && s.status)) {
        throw new Error('sequence must be a list of {status, error_code?}');
      }
      state.callbackScripts.set(body.to, body.sequence);
    }
    if (body.before_reply !== undefined) {
      if (body.before_reply) state.callbackFirst.add(body.to);
      else state.callbackFirst.delete(body.to);
    }
  }
  return { mode: state.callbackMode, scripted: Object.fromEntries(state.callbackScripts) };
}

/* Routes one /_fake/ request.  Returns false if the path is not ours. */
function handle(state, req, res) {
  if (!req.path.startsWith('/_fake/')) return false;
  const route = req.method + ' ' + req.path.slice('/_fake'.length);
  let body;
  try {
    body = req.method === 'GET' ? {} : parseJson(req);
  } catch (e) {
    reply(res, 400, { error: 'invalid JSON: ' + e.message });
    return true;
  }
  try {
    switch (route) {
      case 'GET /health': return reply(res, 200, { ok: true }), true;
      case 'POST /reset': state.reset(); return reply(res, 200, { ok: true }), true;
      case 'POST /script': {
        const list = (body.scripts || [body]).map(normaliseScript);
        state.scripts.push(...list);
        return reply(res, 200, { pending: state.scripts.length }), true;
      }
      case 'DELETE /script': state.scripts.length = 0; return reply(res, 200, { pending: 0 }), true;
      case 'GET /scripts':
        return reply(res, 200, state.scripts.map((s) => Object.assign({}, s,
          { remaining: s.remaining === Infinity ? -1 : s.remaining }))), true;
      case 'POST /unsubscribed':
        for (const n of body.numbers || []) state.unsubscribed.add(n);
        return reply(res, 200, { numbers: [...state.unsubscribed] }), true;
      case 'DELETE /unsubscribed':
        state.unsubscribed.clear();
        return reply(res, 200, { numbers: [] }), true;
      case 'POST /callbacks': return reply(res, 200, configureCallbacks(state, body)), true;
      case 'POST /status': postStatusNow(state, body, res); return true;
      case 'POST /inbound':
        if (!body.to_url || !body.from || !body.to) throw new Error('to_url, from and to are required');
        webhooks.inbound(state, body).then((r) => reply(res, 200, r));
        return true;
      case 'GET /requests':
        return waitList(state, res, () => state.requests, requestFilter(req.query), req.query), true;
      case 'GET /webhooks':
        return waitList(state, res, () => state.webhooks, webhookFilter(req.query), req.query), true;
      case 'GET /messages': {
        const to = req.query.get('to');
        const all = [...state.messages.values()].map((j) => JSON.parse(j));
        return reply(res, 200, all.filter((m) => !to || m.to === to)), true;
      }
      case 'GET /stats': return reply(res, 200, stats(state, req.query)), true;
      default: return reply(res, 404, { error: 'no such control endpoint: ' + route }), true;
    }
  } catch (e) {
    reply(res, 400, { error: e.message });
    return true;
  }
}

module.exports = { handle };
