'use strict';
/*
 * http1.js - a small HTTP/1.1 server on node:net for the imitation Twilio.
 *
 * Why not node:http: on this 2-core machine node:http answers ~11k form POSTs/s, and the
 * outbound benchmark needs the imitation to take >= 16k sends/s without being the bottleneck.
 * A direct parser over net.Socket answers ~28k/s on one core.  It also gives the control
 * over the socket that fault injection needs: "hang" (read nothing more, answer nothing),
 * "reset" (TCP RST through socket.resetAndDestroy) and delayed answers.
 *
 * Scope, deliberately: HTTP/1.0 and 1.1 requests, Content-Length or chunked request bodies,
 * keep-alive (1.1 default, 1.0 with "Connection: keep-alive"), pipelining (requests are
 * answered strictly in order: the next one is parsed only after the current one is
 * answered), "Expect: 100-continue".  Limits: 64 KiB of headers (431), 2 MiB body (413).
 *
 * handler(req, res) is called once per request:
 *   req = { method, target, path, query (URLSearchParams), version, headers (lower-cased
 *           names; repeated headers joined by ", "), rawHeaders ([name, value, ...]),
 *           body (Buffer), socket }
 *   res.send(status, headers, body)  answer (body: string or Buffer); once only
 *   res.hang()                        never answer; the connection stays open until the
 *                                     client gives up (or the server stops)
 *   res.reset()                       abort the connection with a TCP RST
 *   res.closeAfterReply()             answer as usual (keep-alive, no "Connection: close"),
 *                                     then close the connection: what a server whose idle
 *                                     timeout runs out does to a kept-alive connection
 */
const net = require('node:net');

const MAX_HEAD = 64 * 1024;
const MAX_BODY = 2 * 1024 * 1024;

const REASONS = {
  100: 'Continue', 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content',
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 411: 'Length Required', 413: 'Payload Too Large',
  415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
  431: 'Request Header Fields Too Large', 500: 'Internal Server Error', 502: 'Bad Gateway',
  503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/* Parses the head (request line + header lines); returns null if malformed. */
function parseHead(text) {
  const lines = text.split('\r\n');
  const m = /^([A-Z]+) (\S+) HTTP\/(1\.[01])$/.exec(lines[0]);
  if (!m) return null;
  const headers = Object.create(null);
  const rawHeaders = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const c = line.indexOf(':');
    if (c <= 0) return null;
    const name = line.slice(0, c).trim();
    const value = line.slice(c + 1).trim();
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    headers[key] = key in headers ? headers[key] + ', ' + value : value;
  }
  return { method: m[1], target: m[2], version: m[3], headers, rawHeaders };
}

/*
 * Decodes a chunked body starting at buf[off]; returns { body, end } or null if incomplete,
 * or { error } if malformed.  Trailers are skipped.
 */
function parseChunked(buf, off) {
  const parts = [];
  let total = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) return null;
    const size = parseInt(buf.toString('latin1', off, eol).split(';')[0], 16);
    if (!Number.isFinite(size) || size < 0) return { error: 400 };
    off = eol + 2;
    if (size === 0) {
      for (;;) { /* trailers up to the empty line */
        const t = buf.indexOf('\r\n', off);
        if (t < 0) return null;
        if (t === off) return { body: Buffer.concat(parts, total), end: t + 2 };
        off = t + 2;
      }
    }
    if (total + size > MAX_BODY) return { error: 413 };
    if (buf.length < off + size + 2) return null;
    parts.push(buf.subarray(off, off + size));
    total += size;
    off += size + 2;
  }
}

function statusLine(status) {
  return 'HTTP/1.1 ' + status + ' ' + (REASONS[status] || 'Status') + '\r\n';
}

/* One connection: buffers input, parses one request at a time, writes answers in order. */
let connSeq = 0;

function serveConnection(sock, handler, conns) {
  const connId = ++connSeq;  /* req.conn: which connection a request came on */
  let buf = Buffer.alloc(0);
  let busy = false;       /* a request is being handled; parse nothing more until answered */
  let dead = false;
  conns.add(sock);
  sock.setNoDelay(true);

  function fail(status) {
    const body = REASONS[status] || 'error';
    sock.end(statusLine(status) + 'Connection: close\r\nContent-Type: text/plain\r\n' +
             'Content-Length: ' + body.length + '\r\n\r\n' + body);
    dead = true;
  }

  function pump() {
    while (!busy && !dead) {
      const he = buf.indexOf('\r\n\r\n');
      if (he < 0) {
        if (buf.length > MAX_HEAD) fail(431);
        return;
      }
      if (he > MAX_HEAD) return fail(431);
      const head = parseHead(buf.toString('latin1', 0, he));
      if (!head) return fail(400);
      const h = head.headers;
      let body;
      let end;
      if (h['transfer-encoding'] && /chunked/i.test(h['transfer-encoding'])) {
        const r = parseChunked(buf, he + 4);
        if (r && r.error) return fail(r.error);
        if (!r) { maybeContinue(h); return; }
        body = r.body;
        end = r.end;
      } else {
        const cl = h['content-length'] === undefined ? 0 : Number(h['content-length']);
        if (!Number.isInteger(cl) || cl < 0) return fail(400);
        if (cl > MAX_BODY) return fail(413);
        if (buf.length < he + 4 + cl) { maybeContinue(h); return; }
        body = buf.subarray(he + 4, he + 4 + cl);
        end = he + 4 + cl;
      }
      buf = buf.subarray(end);
      dispatch(head, Buffer.from(body));
    }
  }

  let continued = false;
  function maybeContinue(h) {
    if (!continued && h.expect && /100-continue/i.test(h.expect)) {
      continued = true;
      sock.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
  }

  function dispatch(head, body) {
    busy = true;
    continued = false;
    const q = head.target.indexOf('?');
    const keepAlive = head.version === '1.1'
      ? !/(^|,)\s*close\s*($|,)/i.test(head.headers.connection || '')
      : /keep-alive/i.test(head.headers.connection || '');
    const req = {
      method: head.method, target: head.target, version: head.version,
      path: q < 0 ? head.target : head.target.slice(0, q),
      query: new URLSearchParams(q < 0 ? '' : head.target.slice(q + 1)),
      headers: head.headers, rawHeaders: head.rawHeaders, body, socket: sock, conn: connId,
    };
    let answered = false;
    let closeAfter = false;
    const res = {
      send(status, headers, payload) {
        if (answered || dead) return;
        answered = true;
        const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload || '', 'utf8');
        let out = statusLine(status);
        for (const k in headers) out += k + ': ' + headers[k] + '\r\n';
        out += 'Content-Length: ' + data.length + '\r\n';
        if (!keepAlive) out += 'Connection: close\r\n';
        out += '\r\n';
        if (data.length < 16384) sock.write(out + data.toString('latin1'), 'latin1');
        else { sock.write(out, 'latin1'); sock.write(data); }
        if (!keepAlive || closeAfter) { sock.end(); dead = true; return; }
        busy = false;
        if (buf.length) setImmediate(pump);
      },
      hang() { answered = true; dead = true; /* keep the socket, answer nothing */ },
      closeAfterReply() { closeAfter = true; },
      reset() {
        answered = true; dead = true;
        if (typeof sock.resetAndDestroy === 'function') sock.resetAndDestroy();
        else sock.destroy();
      },
    };
    try {
      handler(req, res);
    } catch (e) {
      process.stderr.write('fake-twilio: handler error: ' + (e && e.stack || e) + '\n');
      res.send(500, { 'Content-Type': 'text/plain' }, 'handler error');
    }
  }

  sock.on('data', (d) => {
    if (dead) return;
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    pump();
  });
  sock.on('error', () => {});
  sock.on('close', () => { dead = true; conns.delete(sock); });
}

/*
 * Starts listening on host:port (port 0 = ephemeral).  Returns a promise of
 * { port, close() }; close() stops accepting and destroys every open connection
 * (hung ones included) so the process can exit at once.
 */
function listen(host, port, handler) {
  const conns = new Set();
  const server = net.createServer((sock) => serveConnection(sock, handler, conns));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog: 4096 }, () => {
      resolve({
        port: server.address().port,
        close() {
          server.close();
          for (const s of conns) s.destroy();
        },
      });
    });
  });
}

module.exports = { listen, REASONS };
