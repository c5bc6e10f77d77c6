'use strict';
/*
 * messages.js - the Messages resource of Twilio's REST API, as documented at
 * https://www.twilio.com/docs/messaging/api/message-resource :
 *   POST /2010-04-01/Accounts/{AccountSid}/Messages.json        create (send) -> 201
 *   GET  /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json  fetch -> 200
 * HTTP basic auth AccountSid:AuthToken, form-encoded parameters, JSON answers.  Every request
 * is recorded (state.record) before anything else happens, so tests can count attempts even
 * for requests that were hung or reset.  Scripted faults (control.js) apply first, then auth,
 * then the idempotency token, then validation, then creation.
 */
const crypto = require('node:crypto');
const querystring = require('node:querystring');
const { errorAnswer, codeForStatus } = require('./errors');
const segments = require('./segments');

const ROUTE = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages(?:\/([^/]+))?\.json$/;
const E164 = /^\+[1-9][0-9]{1,14}$/;
const ALPHA_SENDER = /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/;
const SHORT_CODE = /^[0-9]{3,8}$/;
const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

const SID_PREFIX = crypto.randomBytes(8).toString('hex');
let sidCounter = 0;

/* "SM" + 32 lower-case hex digits, unique in this process (random half + counter half). */
function newSid(prefix) {
  sidCounter++;
  return prefix + SID_PREFIX + sidCounter.toString(16).padStart(16, '0');
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n) => String(n).padStart(2, '0');

/* RFC 2822 date in GMT as Twilio writes it: "Thu, 24 Aug 2023 05:01:45 +0000". */
let lastSecond = -1;
let lastDate = '';
function rfc2822(ms) {
  const sec = Math.floor(ms / 1000);
  if (sec === lastSecond) return lastDate;
  lastSecond = sec;
  lastDate = formatDate(ms);
  return lastDate;
}

function formatDate(ms) {
  const d = new Date(ms);
  return DAYS[d.getUTCDay()] + ', ' + p2(d.getUTCDate()) + ' ' + MONTHS[d.getUTCMonth()] + ' ' +
    d.getUTCFullYear() + ' ' + p2(d.getUTCHours()) + ':' + p2(d.getUTCMinutes()) + ':' +
    p2(d.getUTCSeconds()) + ' +0000';
}

/*
 * Form body -> object; a repeated name (MediaUrl) becomes an array.  querystring.parse decodes
 * '+' as a space and %XX as UTF-8 like URLSearchParams, at a fraction of the cost (hot path).
 */
function parseForm(req) {
  const ct = req.headers['content-type'] || '';
  if (!req.body.length || !/^application\/x-www-form-urlencoded/i.test(ct)) return Object.create(null);
  return querystring.parse(req.body.toString('utf8'), '&', '=', { maxKeys: 0 });
}

const first = (v) => (Array.isArray(v) ? v[0] : v);
const list = (v) => (v === undefined ? [] : [].concat(v));

/* Returns a Twilio error code for an invalid create request, or 0. */
function validate(state, f) {
  const to = first(f.To);
  const from = first(f.From);
  const body = first(f.Body);
  const media = list(f.MediaUrl).filter((u) => u !== '');
  if (!to) return 21604;
  if (!from && !first(f.MessagingServiceSid)) return 21603;
  if (!body && media.length === 0) return 21602;
  if (!E164.test(to)) return 21211;
  if (from && !E164.test(from) && !ALPHA_SENDER.test(from) && !SHORT_CODE.test(from)) return 21212;
  if (body && body.length > 1600 && [...body].length > 1600) return 21617; /* code points */
  if (media.length > 10) return 21623;
  if (state.unsubscribed.has(to)) return 21610;
  return 0;
}

/*
 * Builds the Message resource JSON Twilio returns for a created outbound message, as a string
 * (the hot path of the benchmark: a template is several times cheaper than building an object
 * and JSON.stringify, and a stored string costs the garbage collector far less than an object).
 * Key order and types follow Twilio's answer.
 */
const q = JSON.stringify;
function createResource(state, f, now) {
  const media = list(f.MediaUrl).length;
  const sid = newSid(media ? 'MM' : 'SM');
  const body = first(f.Body) || '';
  const mss = first(f.MessagingServiceSid) || null;
  const base = '/2010-04-01/Accounts/' + state.accountSid + '/Messages/' + sid;
  const date = q(rfc2822(now));
  /* Twilio: "When using a Messaging Service to send messages, num_segments will always be 0
   * in Twilio's response to your API request", and the initial status is then "accepted". */
  const json = '{"account_sid":"' + state.accountSid + '","api_version":"2010-04-01","body":' + q(body) +
    ',"date_created":' + date + ',"date_sent":null,"date_updated":' + date +
    ',"direction":"outbound-api","error_code":null,"error_message":null,"from":' + q(first(f.From) || null) +
    ',"messaging_service_sid":' + q(mss) + ',"num_media":"' + media + '","num_segments":"' +
    (mss ? 0 : segments.count(body).segments) + '","price":null,"price_unit":"USD","sid":"' + sid +
    '","status":"' + (mss ? 'accepted' : 'queued') + '","subresource_uris":{"media":"' + base +
    '/Media.json"},"to":' + q(first(f.To)) + ',"uri":"' + base + '.json"}';
  return { sid, json };
}

/* Answers JSON; obj may be an already serialised string. */
function sendJson(res, status, obj, extra) {
  const headers = { 'Twilio-Request-Id': newSid('RQ'), 'Content-Type': JSON_HEADERS['Content-Type'] };
  if (extra) Object.assign(headers, extra);
  res.send(status, headers, typeof obj === 'string' ? obj : JSON.stringify(obj));
}

function answerError(res, rec, code, ctx, statusOverride, extraHeaders) {
  const a = errorAnswer(code, ctx, statusOverride);
  rec.response = { status: a.status, code: a.body.code };
  sendJson(res, a.status, a.body, extraHeaders);
}

/* Applies a scripted fault; returns true when it fully answered (or killed) the request. */
function applyScript(state, script, req, res, rec, f, proceed) {
  rec.action = script.action;
  switch (script.action) {
    case 'hang':
      rec.response = { status: 0, hang: true };
      res.hang();
      return true;
    case 'reset':
      rec.response = { status: 0, reset: true };
      res.reset();
      return true;
    case 'close_after_reply':  /* served as usual, then the connection is closed */
      res.closeAfterReply();
      return false;
    case 'delay':
      rec.delay_ms = script.delay_ms;
      setTimeout(proceed, script.delay_ms);
      return true;
    case 'error': {
      const status = script.status || 400;
      const code = script.code || codeForStatus(status);
      const extra = script.retry_after !== undefined ? { 'Retry-After': String(script.retry_after) } : null;
      answerError(res, rec, code, { to: first(f.To), from: first(f.From), path: req.path }, status, extra);
      return true;
    }
    default:
      return false;
  }
}

function authorized(state, req) {
  return req.headers.authorization === state.expectedAuth;
}

/* Handles one request under /2010-04-01/.  Returns false if the path is not ours. */
function handle(state, req, res) {
  const m = ROUTE.exec(req.path);
  if (!m) return false;
  const f = parseForm(req);
  const token = req.headers['i-twilio-idempotency-token'] || null;
  const rec = state.record(state.recordMode === 'full'
    ? { method: req.method, path: req.path, headers: req.headers, form: f, token, to: first(f.To) || null,
        conn: req.conn }
    : { method: req.method, path: req.path, token, to: first(f.To) || null });
  const proceed = () => finish(state, req, res, rec, f, m, token);
  if (req.method === 'POST' && !m[2]) {
    const script = state.takeScript(first(f.To));
    if (script && applyScript(state, script, req, res, rec, f, proceed)) return true;
  }
  proceed();
  return true;
}

function finish(state, req, res, rec, f, m, token) {
  if (!authorized(state, req)) {
    return answerError(res, rec, 20003, {}, 401, { 'WWW-Authenticate': 'Basic realm="Twilio API"' });
  }
  if (m[1] !== state.accountSid) return answerError(res, rec, 20404, { path: req.path });
  if (m[2]) { /* fetch one message */
    if (req.method !== 'GET') return answerError(res, rec, 20404, { path: req.path }, 405);
    const msg = state.messages.get(m[2]);
    if (!msg) return answerError(res, rec, 20404, { path: req.path });
    rec.response = { status: 200, sid: m[2] };
    return sendJson(res, 200, msg);
  }
  if (req.method !== 'POST') return answerError(res, rec, 20404, { path: req.path }, 405);
  const t = token === null ? null : state.tokens.get(token);
  if (t && t.sid) { /* a repeat of an accepted send: same message, no new send */
    t.replays++;
    rec.replay = true;
    rec.response = { status: 201, sid: t.sid };
    state.stats.replays++;
    return sendJson(res, 201, state.messages.get(t.sid));
  }
  const code = validate(state, f);
  if (code) return answerError(res, rec, code, { to: first(f.To), from: first(f.From) });
  const now = Date.now();
  const msg = createResource(state, f, now);
  state.messages.set(msg.sid, msg.json);
  state.stats.sends++;
  if (t) t.sid = msg.sid;
  rec.response = { status: 201, sid: msg.sid };
  const cb = first(f.StatusCallback) || state.callbackBase;
  const early = cb ? state.statusBeforeReply(msg.sid, first(f.To), cb) : null;
  if (early) {
    early.then(() => sendJson(res, 201, msg.json));
    return undefined;
  }
  sendJson(res, 201, msg.json);
  if (cb) state.scheduleStatus(msg.sid, first(f.To), cb);
  return undefined;
}

module.exports = { handle, rfc2822, newSid, E164 };
