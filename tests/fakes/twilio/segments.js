'use strict';
/*
 * segments.js - how many SMS segments a body costs, computed as carriers do (3GPP TS 23.038
 * alphabet, TS 23.040 concatenation), which is what Twilio's num_segments reports for a
 * message sent without a Messaging Service (Smart Encoding off, the default):
 *   - GSM-7 when every character is in the default alphabet or its extension table; extension
 *     characters (^ { } \ [ ~ ] | and the euro sign, form feed) take two septets, and an escape
 *     pair is never split across two segments.  1 segment up to 160 septets, else 153 per segment.
 *   - otherwise UCS-2 (UTF-16 code units): 1 segment up to 70 units, else 67 per segment, and a
 *     surrogate pair (emoji) is never split across two segments.
 */
const GSM_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM_EXT = '\f^{}\\[~]|€';

const BASIC = new Set(GSM_BASIC);
const EXT = new Set(GSM_EXT);

/* ASCII characters of the GSM-7 default alphabet (no extension characters, no backtick). */
const PLAIN_GSM_ASCII = /^[A-Za-z0-9 \n\r!"#$%&'()*+,\-./:;<=>?@_]*$/;

/* Septet costs of body, or null when it needs UCS-2. */
function gsmCosts(body) {
  const costs = [];
  for (const ch of body) {
    if (BASIC.has(ch)) costs.push(1);
    else if (EXT.has(ch)) costs.push(2);
    else return null;
  }
  return costs;
}

/* Greedy packing of indivisible units into segments of `per` capacity. */
function pack(costs, per) {
  let segments = 1;
  let used = 0;
  for (const c of costs) {
    if (used + c > per) { segments++; used = 0; }
    used += c;
  }
  return segments;
}

/* Returns { encoding: 'GSM-7'|'UCS-2', units, segments }.  An empty body is one segment. */
function count(body) {
  if (PLAIN_GSM_ASCII.test(body)) { /* fast path: one septet per character */
    const n = body.length;
    return { encoding: 'GSM-7', units: n, segments: n <= 160 ? 1 : Math.ceil(n / 153) };
  }
  const gsm = gsmCosts(body);
  if (gsm) {
    const units = gsm.reduce((a, b) => a + b, 0);
    return { encoding: 'GSM-7', units, segments: units <= 160 ? 1 : pack(gsm, 153) };
  }
  const costs = [];
  for (const ch of body) costs.push(ch.length); /* 1 code unit, or 2 for a surrogate pair */
  const units = costs.reduce((a, b) => a + b, 0);
  return { encoding: 'UCS-2', units, segments: units <= 70 ? 1 : pack(costs, 67) };
}

module.exports = { count };
