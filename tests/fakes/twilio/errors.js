'use strict';
/*
 * errors.js - the Twilio REST error answers the imitation can give, with the HTTP status and
 * message text Twilio uses.  Sources (titles of the pages in Twilio's error dictionary,
 * https://www.twilio.com/docs/errors/<code>) are listed in ../README.md.  The JSON shape is
 * Twilio's REST error body: {"code", "message", "more_info", "status"}.
 */
const TABLE = {
  20003: { status: 401, message: () => 'Authenticate' },
  20404: { status: 404, message: (c) => 'The requested resource ' + (c.path || '') + ' was not found' },
  20429: { status: 429, message: () => 'Too Many Requests' },
  20500: { status: 500, message: () => 'An internal server error has occurred' },
  20503: { status: 503, message: () => 'Service unavailable' },
  21211: { status: 400, message: (c) => "The 'To' number " + (c.to || '') + ' is not a valid phone number.' },
  21212: { status: 400, message: (c) => "The 'From' number " + (c.from || '') + ' is not a valid phone number, shortcode, or alphanumeric sender ID.' },
  21408: { status: 400, message: (c) => 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number: ' + (c.to || '') + '.' },
  21602: { status: 400, message: () => 'Message body is required.' },
  21603: { status: 400, message: () => "A 'From' phone number is required." },
  21604: { status: 400, message: () => "A 'To' phone number is required." },
  21606: { status: 400, message: (c) => "The 'From' phone number provided (" + (c.from || '') + ') is not a valid message-capable Twilio phone number for this destination.' },
  21610: { status: 400, message: () => 'Attempt to send to unsubscribed recipient' },
  21612: { status: 400, message: (c) => "The 'To' phone number: " + (c.to || '') + ", is not currently reachable using the 'From' phone number: " + (c.from || '') + ' via SMS.' },
  21614: { status: 400, message: (c) => "'To' number " + (c.to || '') + ' is not a valid mobile number' },
  21617: { status: 400, message: () => 'The concatenated message body exceeds the 1600 character limit.' },
  21623: { status: 400, message: () => 'Number of media files exceeds allowed limit' },
  /* Delivery-time codes: they normally arrive in status callbacks (ErrorCode), never as a REST
   * answer; the imitation can still be scripted to answer them as a 400 for robustness tests. */
  30003: { status: 400, message: () => 'Unreachable destination handset' },
  30005: { status: 400, message: () => 'Unknown destination handset' },
  30006: { status: 400, message: () => 'Landline or unreachable carrier' },
  30007: { status: 400, message: () => 'Message filtered' },
  30008: { status: 400, message: () => 'Unknown error' },
};

/* Returns { status, body } for a Twilio error code; ctx fills the message's blanks. */
function errorAnswer(code, ctx, statusOverride) {
  const e = TABLE[code] || { status: 400, message: () => 'Error ' + code };
  const status = statusOverride || e.status;
  return {
    status,
    body: {
      code: Number(code),
      message: e.message(ctx || {}),
      more_info: 'https://www.twilio.com/docs/errors/' + code,
      status,
    },
  };
}

/* Default Twilio code for a bare HTTP failure status (used by scripted 429/500/503). */
function codeForStatus(status) {
  return { 401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503 }[status] || 20500;
}

module.exports = { errorAnswer, codeForStatus, TABLE };
