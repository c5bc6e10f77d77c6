#!/usr/bin/env node
'use strict';
/*
 * sign.js - X-Twilio-Signature, computed the way Twilio documents it
 * (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
 *   1. take the full URL of the webhook (scheme, host, port if any, path, query string),
 *   2. sort the POST parameters by name and append each name immediately followed by its value,
 *   3. HMAC-SHA1 the result (UTF-8) with the account's auth token as key,
 *   4. base64 the digest.
 * A name that occurs several times (e.g. MediaUrl in an API request) contributes each of its
 * distinct values in sorted order, as the official Node helper (twilio's
 * getExpectedTwilioSignature) does.  This file is an independent implementation on node:crypto:
 * tests compare it with the `twilio` package and with Python's hmac so that no two share code.
 *
 * Module:  const { signature, formPairs } = require('./sign');
 *          signature(token, url, params)  params: object (value string or array of strings),
 *                                          array of [name, value] pairs, or a form-encoded string
 * CLI:     node sign.js --url URL --token T --form 'a=1&b=2'      prints the signature
 *          node sign.js --url URL --token T --json '{"a":"1"}'
 *          node sign.js --url URL --token T --form-file F          (form body in a file)
 */
const crypto = require('node:crypto');

/* Normalises params to a Map name -> array of values (order of arrival kept). */
function toMultiMap(params) {
  const map = new Map();
  const add = (k, v) => {
    const key = String(k);
    if (!map.has(key)) map.set(key, []);
    map.get(key).push(v === undefined || v === null ? '' : String(v));
  };
  if (params === undefined || params === null) return map;
  if (typeof params === 'string') {
    for (const [k, v] of new URLSearchParams(params)) add(k, v);
  } else if (params instanceof URLSearchParams || Array.isArray(params)) {
    for (const [k, v] of params) add(k, v);
  } else {
    for (const k of Object.keys(params)) {
      const v = params[k];
      if (Array.isArray(v)) v.forEach((x) => add(k, x));
      else add(k, v);
    }
  }
  return map;
}

/* Code-unit order, the order of JavaScript's default sort (what twilio-node uses). */
function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/* The exact string that is HMAC'd: URL followed by name+value of every sorted parameter. */
function signedData(url, params) {
  const map = toMultiMap(params);
  let data = url;
  for (const name of [...map.keys()].sort(cmp)) {
    for (const value of [...new Set(map.get(name))].sort(cmp)) data += name + value;
  }
  return data;
}

function signature(token, url, params) {
  return crypto.createHmac('sha1', token).update(Buffer.from(signedData(url, params), 'utf8'))
    .digest('base64');
}

/* Constant-time comparison of a received header against the expected signature. */
function valid(token, header, url, params) {
  const want = Buffer.from(signature(token, url, params));
  const got = Buffer.from(String(header || ''));
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

module.exports = { signature, signedData, valid, toMultiMap };

function main(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error('unexpected argument ' + a);
    args[a.slice(2)] = argv[++i];
    if (args[a.slice(2)] === undefined) throw new Error(a + ' needs a value');
  }
  if (!args.url || args.token === undefined) {
    throw new Error('usage: sign.js --url URL --token TOKEN [--form A=1&B=2 | --json {...} | --form-file F]');
  }
  let params = '';
  if (args.json !== undefined) params = JSON.parse(args.json);
  else if (args['form-file'] !== undefined) params = require('node:fs').readFileSync(args['form-file'], 'utf8').trim();
  else if (args.form !== undefined) params = args.form;
  process.stdout.write(signature(args.token, args.url, params) + '\n');
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write('sign.js: ' + e.message + '\n');
    process.exit(2);
  }
}
