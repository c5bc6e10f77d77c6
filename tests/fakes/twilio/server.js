#!/usr/bin/env node
'use strict';
/*
 * server.js - entry point of the imitation Twilio (Programmable Messaging) used by Backpack's
 * tests and benchmarks.  No real SMS provider is reachable from the test machines, so this
 * process plays Twilio: the Messages REST API (messages.js), status callbacks and inbound
 * webhooks signed like Twilio (webhooks.js, sign.js), and a control API for tests (control.js).
 *
 *   node server.js --port 0 --account-sid AC... --auth-token T
 *                  [--host 127.0.0.1] [--callback-base URL] [--callbacks auto|off]
 *                  [--record full|summary]
 *
 * Prints one JSON line on stdout when it is listening:
 *   {"ready":true,"port":N,"pid":P,"base_url":"http://127.0.0.1:N","account_sid":"AC..."}
 * and exits 0 on SIGTERM/SIGINT (every connection, hung ones included, is closed first).
 * It listens on loopback only.  State lives in memory in this one process.
 */
const http1 = require('./http1');
const messages = require('./messages');
const control = require('./control');
const webhooks = require('./webhooks');

const AUTO_SEQUENCE = [{ status: 'sent' }, { status: 'delivered' }];

function parseArgs(argv) {
  const o = { port: 0, host: '127.0.0.1', callbacks: 'auto', record: 'full' };
  const names = { '--port': 'port', '--host': 'host', '--account-sid': 'accountSid',
    '--auth-token': 'authToken', '--callback-base': 'callbackBase', '--callbacks': 'callbacks',
    '--record': 'record' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = names[argv[i]];
    if (!key || argv[i + 1] === undefined) throw new Error('bad argument ' + argv[i]);
    o[key] = argv[i + 1];
  }
  if (!/^AC[0-9a-fA-F]{32}$/.test(o.accountSid || '')) throw new Error('--account-sid must be AC + 32 hex digits');
  if (!o.authToken) throw new Error('--auth-token is required');
  if (!['127.0.0.1', '::1', 'localhost'].includes(o.host)) throw new Error('--host must be a loopback address');
  if (!['auto', 'off'].includes(o.callbacks)) throw new Error('--callbacks must be auto or off');
  if (!['full', 'summary'].includes(o.record)) throw new Error('--record must be full or summary');
  o.port = Number(o.port);
  return o;
}

/* All mutable state of the imitation; reset() brings it back to the start-up configuration. */
function makeState(opts) {
  const state = {
    accountSid: opts.accountSid,
    authToken: opts.authToken,
    expectedAuth: 'Basic ' + Buffer.from(opts.accountSid + ':' + opts.authToken).toString('base64'),
    callbackBase: opts.callbackBase || null,
    recordMode: opts.record,      /* 'summary' keeps no headers/form per request (benchmarks) */
    started: Date.now(),
    waiters: [],
  };

  state.reset = () => {
    state.seq = 0;
    state.requests = [];          /* every Messages API request, in arrival order */
    state.messages = new Map();   /* sid -> Message resource, serialised JSON */
    state.callbackUrls = new Map(); /* sid -> StatusCallback URL used for it */
    state.urlIntern = new Map();  /* one copy of each distinct callback URL string */
    state.tokens = new Map();     /* idempotency token -> { sid, requests, replays } */
    state.scripts = [];           /* pending scripted faults, first match wins */
    state.unsubscribed = new Set();
    state.callbackMode = opts.callbacks;
    state.callbackScripts = new Map(); /* To -> status sequence */
    state.callbackFirst = new Set();   /* To numbers whose callbacks precede the 201 */
    state.webhookSeq = 0;
    state.webhooks = [];          /* every POST made to the application */
    state.stats = { sends: 0, replays: 0 };
  };
  state.reset();

  state.record = (fields) => {
    const rec = Object.assign({ seq: ++state.seq, time: Date.now(), response: null }, fields);
    state.requests.push(rec);
    if (rec.token !== null) {
      let t = state.tokens.get(rec.token);
      if (!t) state.tokens.set(rec.token, (t = { sid: null, requests: 0, replays: 0 }));
      t.requests++;
    }
    if (state.waiters.length) setImmediate(state.checkWaiters);
    return rec;
  };

  state.logWebhook = (entry) => {
    state.webhooks.push(entry);
    if (state.waiters.length) setImmediate(state.checkWaiters);
  };

  /* First pending script whose To matches (or that has no To); consumes one use of it. */
  state.takeScript = (to) => {
    const i = state.scripts.findIndex((s) => !s.to || s.to === to);
    if (i < 0) return null;
    const s = state.scripts[i];
    if (--s.remaining <= 0) state.scripts.splice(i, 1);
    return s;
  };

  state.scheduleStatus = (sid, to, url) => {
    let u = state.urlIntern.get(url);
    if (u === undefined) state.urlIntern.set(url, (u = url));
    state.callbackUrls.set(sid, u);
    if (state.callbackMode === 'off') return;
    const seq = state.callbackScripts.get(to) || AUTO_SEQUENCE;
    setImmediate(() => webhooks.runSequence(state, sid, url, seq));
  };

  /* For a To number configured with before_reply: posts the whole status
   * sequence and resolves once the application has answered every callback,
   * so that the create request's 201 can follow (a reply slower than the
   * callbacks, as the network may deliver them).  Null otherwise. */
  state.statusBeforeReply = (sid, to, url) => {
    if (state.callbackMode === 'off' || !state.callbackFirst.has(to)) return null;
    state.callbackUrls.set(sid, url);
    return webhooks.runSequence(state, sid, url, state.callbackScripts.get(to) || AUTO_SEQUENCE);
  };

  /* Message resources as objects, for the rare paths that read or change them. */
  state.getMessage = (sid) => {
    const json = state.messages.get(sid);
    return json === undefined ? undefined : JSON.parse(json);
  };
  state.putMessage = (msg) => state.messages.set(msg.sid, JSON.stringify(msg));

  state.addWaiter = (check, timeoutMs, done) => {
    const w = { check, done, timer: null };
    w.timer = setTimeout(() => {
      state.waiters = state.waiters.filter((x) => x !== w);
      done(false);
    }, timeoutMs);
    state.waiters.push(w);
  };

  state.checkWaiters = () => {
    const ready = state.waiters.filter((w) => w.check());
    if (!ready.length) return;
    state.waiters = state.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) { clearTimeout(w.timer); w.done(true); }
  };

  return state;
}

function notFound(res, path) {
  const body = { code: 20404, message: 'The requested resource ' + path + ' was not found',
    more_info: 'https://www.twilio.com/docs/errors/20404', status: 404 };
  res.send(404, { 'Content-Type': 'application/json; charset=utf-8' }, JSON.stringify(body));
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write('fake-twilio: ' + e.message + '\n');
    process.exit(2);
  }
  const state = makeState(opts);
  const server = await http1.listen(opts.host, opts.port, (req, res) => {
    if (messages.handle(state, req, res)) return;
    if (control.handle(state, req, res)) return;
    notFound(res, req.path);
  });
  const stop = () => {
    server.close();
    for (const w of state.waiters) clearTimeout(w.timer);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdout.write(JSON.stringify({
    ready: true, port: server.port, pid: process.pid,
    base_url: 'http://' + (opts.host === '::1' ? '[::1]' : '127.0.0.1') + ':' + server.port,
    account_sid: opts.accountSid,
  }) + '\n');
}

main();
