'use strict';
/*
 * webhooks.js - the requests the imitation makes to the application, as Twilio makes them:
 *   - status callbacks for outbound messages (POST to StatusCallback; parameters per
 *     https://www.twilio.com/docs/messaging/guides/outbound-message-status-in-status-callbacks),
 *   - incoming-message webhooks (parameters per
 *     https://www.twilio.com/docs/messaging/guides/webhook-request).
 * Both are application/x-www-form-urlencoded POSTs carrying X-Twilio-Signature (sign.js) and an
 * I-Twilio-Idempotency-Token that is the same on every retry of one event.  Every POST and the
 * application's answer are logged in state.webhooks for tests to inspect.
 */
const http = require('node:http');
const crypto = require('node:crypto');
const { signature } = require('./sign');
const segments = require('./segments');
const { newSid } = require('./messages');

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const MAX_LOGGED_BODY = 8192;

/*
 * POSTs params (array of [name, value]) to url.  opts: { sign: 'valid'|'none'|'bad',
 * signUrl, token, idemToken, timeoutMs }.  Resolves { status, headers, body } or { error }.
 */
function postForm(url, params, opts) {
  const body = new URLSearchParams(params).toString();
  const headers = {
    'Content-Type': 'application/x-www-form-urlencoded',
    'Content-Length': Buffer.byteLength(body),
    'User-Agent': 'TwilioProxy/1.1',
    Accept: '*/*',
    'I-Twilio-Idempotency-Token': opts.idemToken,
  };
  let sig = null;
  if (opts.sign !== 'none') {
    const key = opts.sign === 'bad' ? opts.token + 'x' : opts.token;
    sig = signature(key, opts.signUrl || url, params);
    headers['X-Twilio-Signature'] = sig;
  }
  return new Promise((resolve) => {
    let u;
    try {
      u = new URL(url);
      if (u.protocol !== 'http:') throw new Error('only http:// URLs (loopback) are supported');
    } catch (e) {
      resolve({ error: e.message, signature: sig, body: '' });
      return;
    }
    const req = http.request({
      host: u.hostname, port: u.port || 80, path: u.pathname + u.search, method: 'POST',
      headers, agent, timeout: opts.timeoutMs || 15000,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, signature: sig,
        body: Buffer.concat(chunks).toString('utf8'),
      }));
      res.on('error', (e) => resolve({ error: e.message, signature: sig, body: '' }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve({ error: e.message, signature: sig, body: '' }));
    req.end(body);
  });
}

/* Posts, and logs the exchange in state.webhooks. */
async function deliver(state, kind, url, params, opts) {
  const o = Object.assign({ token: state.authToken, idemToken: crypto.randomUUID() }, opts);
  const started = Date.now();
  const r = await postForm(url, params, o);
  const entry = {
    seq: ++state.webhookSeq, kind, url, sign_url: o.signUrl || url, sign: o.sign || 'valid',
    params: Object.fromEntries(params.map(([k, v]) => [k, v])), signature: r.signature,
    idempotency_token: o.idemToken, time: started, duration_ms: Date.now() - started,
    status: r.status || 0, error: r.error || null,
    response_body: (r.body || '').slice(0, MAX_LOGGED_BODY),
    response_content_type: r.headers ? r.headers['content-type'] || null : null,
  };
  state.logWebhook(entry);
  return entry;
}

const RANK = { accepted: 0, queued: 1, sending: 2, sent: 3, delivered: 4, undelivered: 5, failed: 5 };

/* Parameters of one status callback for msg with status st (error code for failures). */
function statusParams(state, msg, st, errorCode) {
  const p = [
    ['AccountSid', state.accountSid],
    ['ApiVersion', '2010-04-01'],
    ['From', msg.from || ''],
    ['MessageSid', msg.sid],
    ['MessageStatus', st],
    ['SmsSid', msg.sid],
    ['SmsStatus', st],
    ['To', msg.to],
  ];
  if (msg.messaging_service_sid) p.push(['MessagingServiceSid', msg.messaging_service_sid]);
  if (errorCode) p.push(['ErrorCode', String(errorCode)]);
  return p;
}

/* Posts one status callback and updates the stored resource (never moving it backwards). */
function postStatus(state, sid, url, step, opts) {
  const msg = state.getMessage(sid);
  const cur = RANK[msg.status] === undefined ? 0 : RANK[msg.status];
  if ((RANK[step.status] || 0) >= cur && RANK[msg.status] !== 5) {
    msg.status = step.status;
    if (step.status === 'sent' || step.status === 'delivered') {
      msg.date_sent = msg.date_sent || msg.date_updated;
    }
    if (step.error_code) {
      msg.error_code = Number(step.error_code);
      msg.error_message = null;
    }
    state.putMessage(msg);
  }
  return deliver(state, 'status', url, statusParams(state, msg, step.status, step.error_code), opts);
}

/* Runs a status sequence for one message, one POST after the other. */
async function runSequence(state, sid, url, sequence) {
  for (const step of sequence) {
    await postStatus(state, sid, url, step, {});
  }
}

const COUNTRY = [['+1', 'US'], ['+44', 'GB'], ['+33', 'FR'], ['+34', 'ES'], ['+52', 'MX'],
  ['+84', 'VN'], ['+86', 'CN'], ['+91', 'IN'], ['+49', 'DE'], ['+63', 'PH'], ['+82', 'KR']];
const country = (n) => ((COUNTRY.find(([p]) => String(n).startsWith(p)) || [])[1] || '');
const MEDIA_TYPES = { jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif',
  mp4: 'video/mp4', pdf: 'application/pdf', vcf: 'text/vcard', txt: 'text/plain' };

function mediaType(url) {
  const m = /\.([A-Za-z0-9]+)(?:\?.*)?$/.exec(url);
  return (m && MEDIA_TYPES[m[1].toLowerCase()]) || 'application/octet-stream';
}

/* Parameters of an incoming-message webhook, in the order Twilio sends them. */
function inboundParams(state, spec, sid) {
  const media = (spec.media || []).map((m) => {
    const o = typeof m === 'string' ? { url: m } : m;
    const url = o.url || 'https://api.twilio.com/2010-04-01/Accounts/' + state.accountSid +
      '/Messages/' + sid + '/Media/' + newSid('ME');
    return { url, type: o.content_type || mediaType(url) };
  });
  const body = spec.body === undefined ? '' : String(spec.body);
  const p = [
    ['ToCountry', country(spec.to)], ['ToState', ''], ['SmsMessageSid', sid],
    ['NumMedia', String(media.length)], ['ToCity', ''], ['FromZip', ''], ['SmsSid', sid],
    ['FromState', ''], ['SmsStatus', 'received'], ['FromCity', ''], ['Body', body],
    ['FromCountry', country(spec.from)], ['To', spec.to],
  ];
  if (spec.messaging_service_sid) p.push(['MessagingServiceSid', spec.messaging_service_sid]);
  p.push(['ToZip', ''], ['NumSegments', String(segments.count(body).segments)],
    ['MessageSid', sid], ['AccountSid', spec.account_sid || state.accountSid],
    ['From', spec.from], ['ApiVersion', '2010-04-01']);
  media.forEach((m, i) => p.push(['MediaContentType' + i, m.type], ['MediaUrl' + i, m.url]));
  const extra = spec.fields || {};
  const omit = new Set(spec.omit || []);
  const out = p.filter(([k]) => !omit.has(k) && !(k in extra));
  for (const k of Object.keys(extra)) out.push([k, String(extra[k])]);
  return out;
}

/*
 * Delivers one inbound message.  spec: { to_url, from, to, body, media, message_sid,
 * messaging_service_sid, account_sid, sign ('valid'|'none'|'bad'), sign_url, repeat (N >= 1,
 * the provider's retries: same MessageSid and idempotency token), concurrent (bool),
 * fields {name: value} to add or override, omit [names] }.  Resolves the logged attempts.
 */
async function inbound(state, spec) {
  const hasMedia = (spec.media || []).length > 0;
  const sid = spec.message_sid || newSid(hasMedia ? 'MM' : 'SM');
  const params = inboundParams(state, spec, sid);
  const opts = { sign: spec.sign || 'valid', signUrl: spec.sign_url, idemToken: crypto.randomUUID() };
  const n = Math.max(1, Number(spec.repeat) || 1);
  let attempts = [];
  if (spec.concurrent) {
    attempts = await Promise.all(Array.from({ length: n }, () => deliver(state, 'inbound', spec.to_url, params, opts)));
  } else {
    for (let i = 0; i < n; i++) attempts.push(await deliver(state, 'inbound', spec.to_url, params, opts));
  }
  return { message_sid: sid, params: Object.fromEntries(params), attempts };
}

module.exports = { postStatus, runSequence, inbound, postForm, statusParams };
