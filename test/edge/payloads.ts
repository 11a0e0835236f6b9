/**
 * The request-smuggling battery: raw payloads a client sends on one connection, and the
 * statuses it must get back, in order. 200 and 101 come from the gateway; anything else
 * is baton's own answer (after which baton closes the connection). edge.test.ts runs each
 * on both data paths against the recording gateway and checks, beyond these statuses,
 * that the gateway saw exactly the requests the client sent (strict-http.mjs is the
 * oracle for what the bytes mean) and nothing else.
 */
export interface Payload {
  name: string;
  /** Written in order, each part a separate read on baton's side. */
  send: string | string[];
  /** The statuses the client gets, in order. */
  expect: number[];
  /** Where node:http's path answers differently, and why that is still safe (documented in reliability.md). */
  nodePath?: { expect: number[]; why: string; readAs: string };
  /** The client half-closes after its last part. */
  halfClose?: boolean;
}

const H = 'Host: t\r\n';
const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\n${H}${extra}\r\n`;
/** The request that ends a payload: its answer closes the connection. */
const END = get('/end', 'Connection: close\r\n');
const post = (path: string, extra: string, body: string): string => `POST ${path} HTTP/1.1\r\n${H}${extra}\r\n${body}`;
const chunkedPost = (path: string, body: string, extra = ''): string => post(path, `Transfer-Encoding: chunked\r\n${extra}`, body);
/** A request hidden in a body: if the gateway ever runs it, a smuggle happened. */
const HIDDEN = 'GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n';
const WS = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

export const PAYLOADS: readonly Payload[] = [
  // ── CL.TE and TE.CL: both framings at once is refused, in either order
  { name: 'CL.TE: Content-Length then Transfer-Encoding', send: post('/a', 'Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\nG${END}`), expect: [400] },
  { name: 'TE.CL: Transfer-Encoding then Content-Length', send: post('/a', 'Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', `5c\r\n${HIDDEN}\r\n0\r\n\r\n`), expect: [400] },
  { name: 'CL.TE with Content-Length: 0', send: post('/a', 'Transfer-Encoding: chunked\r\nContent-Length: 0\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE and CL on a GET', send: `GET /a HTTP/1.1\r\n${H}Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${HIDDEN}`, expect: [400] },
  { name: 'Transfer-Encoding in HTTP/1.0', send: `POST /a HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`, expect: [400] },

  // ── Transfer-Encoding obfuscations: only a single, plain `chunked` frames a body
  { name: 'TE: xchunked', send: chunkedPost('/a', '0\r\n\r\n').replace('chunked', 'xchunked'), expect: [400] },
  { name: 'TE: chunked, identity', send: post('/a', 'Transfer-Encoding: chunked, identity\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE: gzip, chunked', send: post('/a', 'Transfer-Encoding: gzip, chunked\r\n', '5\r\nhello\r\n0\r\n\r\n'), expect: [400] },
  { name: 'TE: chunked, gzip', send: post('/a', 'Transfer-Encoding: chunked, gzip\r\n', '5\r\nhello\r\n0\r\n\r\n'), expect: [400] },
  { name: 'TE: chunked twice on one line', send: post('/a', 'Transfer-Encoding: chunked, chunked\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE: chunked on two lines', send: post('/a', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE: chunked and a second line x', send: post('/a', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE with a space before the colon', send: post('/a', 'Transfer-Encoding : chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE with a vertical tab before chunked', send: post('/a', 'Transfer-Encoding:\x0bchunked\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE quoted', send: post('/a', 'Transfer-Encoding: "chunked"\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE with a parameter', send: post('/a', 'Transfer-Encoding: chunked;q=1\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE empty', send: post('/a', 'Transfer-Encoding:\r\nContent-Length: 1\r\n', 'x'), expect: [400] },
  { name: 'TE folded onto the next line (obs-fold)', send: post('/a', 'Transfer-Encoding:\r\n chunked\r\n', '0\r\n\r\n'), expect: [400] },
  { name: 'TE as the first line, indented', send: `POST /a HTTP/1.1\r\n Transfer-Encoding: chunked\r\n${H}\r\n0\r\n\r\n`, expect: [400] },
  { name: 'TE in upper case is still chunked', send: post('/a', 'TRANSFER-ENCODING: CHUNKED\r\n', `5\r\nhello\r\n0\r\n\r\n${END}`), expect: [200, 200] },
  { name: 'TE with a tab and a space as whitespace is still chunked', send: post('/a', 'Transfer-Encoding:\tchunked \r\n', `5\r\nhello\r\n0\r\n\r\n${END}`), expect: [200, 200] },
  { name: 'TE with a trailing tab (llhttp refuses it)', send: post('/a', 'Transfer-Encoding: chunked\t\r\n', `5\r\nhello\r\n0\r\n\r\n`), expect: [400] },
  { name: 'Transfer_Encoding (underscore) is another field', send: post('/a', 'Transfer_Encoding: chunked\r\nContent-Length: 5\r\n', `0\r\n\r\n${END}`), expect: [200, 200] },

  // ── Content-Length variants: one field, digits only
  { name: 'CL with a plus sign', send: post('/a', 'Content-Length: +5\r\n', 'hello'), expect: [400] },
  { name: 'CL negative', send: post('/a', 'Content-Length: -1\r\n', ''), expect: [400] },
  { name: 'CL as a list', send: post('/a', 'Content-Length: 5, 5\r\n', 'hello'), expect: [400] },
  { name: 'CL twice, equal', send: post('/a', 'Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'), expect: [400] },
  { name: 'CL twice, different', send: post('/a', 'Content-Length: 5\r\nContent-Length: 40\r\n', `hello${HIDDEN}`), expect: [400] },
  { name: 'CL in hex', send: post('/a', 'Content-Length: 0x5\r\n', 'hello'), expect: [400] },
  { name: 'CL with a decimal point', send: post('/a', 'Content-Length: 5.0\r\n', 'hello'), expect: [400] },
  { name: 'CL empty', send: post('/a', 'Content-Length:\r\n', ''), expect: [400] },
  { name: 'CL too long to be a number', send: post('/a', 'Content-Length: 99999999999999999999\r\n', 'x'), expect: [400] },
  { name: 'CL with whitespace around it', send: post('/a', 'Content-Length:  5 \r\n', `hello${END}`), expect: [200, 200] },
  { name: 'CL with leading zeros', send: post('/a', 'Content-Length: 005\r\n', `hello${END}`), expect: [200, 200] },
  { name: 'CL on a GET frames its body', send: `GET /a HTTP/1.1\r\n${H}Content-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}${END}`, expect: [200, 200] },
  { name: 'CL shorter than what follows: the rest is the next request', send: post('/a', 'Content-Length: 3\r\n', `abc${END}`), expect: [200, 200] },

  // ── Fields the client lists in Connection: never Host or the framing
  { name: 'Connection: content-length on a GET with a body', send: `GET /a HTTP/1.1\r\n${H}Connection: content-length\r\nContent-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}${END}`, expect: [200, 200] },
  { name: 'Connection: content-length on HEAD', send: `HEAD /a HTTP/1.1\r\n${H}Connection: Content-Length\r\nContent-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}${END}`, expect: [200, 200] },
  { name: 'Connection: content-length on OPTIONS', send: `OPTIONS /a HTTP/1.1\r\n${H}Connection: keep-alive, content-length\r\nContent-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}${END}`, expect: [200, 200] },
  { name: 'Connection: transfer-encoding', send: chunkedPost('/a', `5\r\nhello\r\n0\r\n\r\n${END}`, 'Connection: transfer-encoding\r\n'), expect: [200, 200] },
  { name: 'Connection: host', send: get('/a', 'Connection: host\r\n') + END, expect: [200, 200] },
  { name: 'Connection: close, content-length with a body', send: `GET /a HTTP/1.1\r\n${H}Connection: close, content-length\r\nContent-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}`, expect: [200] },
  { name: 'Connection: x-forwarded-for drops the client value', send: get('/a', 'Connection: x-forwarded-for\r\nX-Forwarded-For: 6.6.6.6\r\n') + END, expect: [200, 200] },
  { name: 'Connection lists an end-to-end field: it is removed', send: get('/a', 'Connection: x-secret\r\nX-Secret: s\r\n') + END, expect: [200, 200] },
  { name: 'Connection: authorization', send: get('/a', 'Connection: Authorization\r\nAuthorization: Basic eDp5\r\n') + END, expect: [200, 200] },

  // ── Field count and size limits: 431, however the head arrives
  { name: '1000 fields are forwarded', send: get('/a', 'X-A: 1\r\n'.repeat(999)) + END, expect: [200, 200] },
  { name: '1001 fields', send: get('/a', 'X-A: 1\r\n'.repeat(1000)) + END, expect: [431] },
  { name: 'Content-Length after the 1000th field', send: `POST /a HTTP/1.1\r\n${H}${'X-A: 1\r\n'.repeat(1000)}Content-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}`, expect: [431] },
  { name: 'Content-Length after the 1000th field, the head in pieces', send: ['POST /a HTTP/1.1\r\n', `${H}${'X-A: 1\r\n'.repeat(500)}`, 'X-A: 1\r\n'.repeat(500), `Content-Length: ${HIDDEN.length}\r\n\r\n`, HIDDEN], expect: [431] },
  { name: 'a head over 16 KiB', send: get('/a', `X-Big: ${'a'.repeat(17 * 1024)}\r\n`) + END, expect: [431] },
  { name: 'a head over 16 KiB in pieces', send: ['GET /a HTTP/1.1\r\nHost: t\r\n', `X-Big: ${'a'.repeat(9 * 1024)}\r\n`, `X-Big2: ${'a'.repeat(9 * 1024)}\r\n`, '\r\n'], expect: [431] },
  { name: 'a target over 16 KiB', send: get(`/${'a'.repeat(17 * 1024)}`) + END, expect: [431] },
  { name: 'a head of 15 KiB in pieces is forwarded', send: ['GET /a HTTP/1.1\r\nHost: t\r\n', `X-Big: ${'a'.repeat(7 * 1024)}\r\n`, `X-Big2: ${'a'.repeat(7 * 1024)}\r\n`, `\r\n${END}`], expect: [200, 200] },

  // ── Bare CR and LF: a line ends in CRLF or the request is refused
  { name: 'bare LF line ends throughout', send: 'GET /a HTTP/1.1\nHost: t\n\n', expect: [400] },
  { name: 'a bare LF ends the head', send: `GET /a HTTP/1.1\r\n${H}\n${HIDDEN}`, expect: [400] },
  { name: 'a bare LF inside a field line', send: `GET /a HTTP/1.1\r\n${H}X-A: 1\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, expect: [400] },
  { name: 'a bare CR inside a value', send: `GET /a HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, expect: [400] },
  { name: 'a bare CR ends the request line', send: `GET /a HTTP/1.1\r${H}\r\n`, expect: [400] },
  { name: 'CR CR LF', send: `GET /a HTTP/1.1\r\n${H}X-A: 1\r\r\n\r\n`, expect: [400] },
  { name: 'a bare LF in a chunk-size line', send: chunkedPost('/a', `5\nhello\r\n0\r\n\r\n`), expect: [400] },
  { name: 'a bare LF after chunk data', send: chunkedPost('/a', `5\r\nhello\n0\r\n\r\n`), expect: [400] },

  // ── Control bytes: refused in names, values and targets; tab and obs-text pass
  { name: 'NUL in a value', send: get('/a', 'X-A: a\x00b\r\n'), expect: [400] },
  { name: 'SOH in a value', send: get('/a', 'X-A: a\x01b\r\n'), expect: [400] },
  { name: 'DEL in a value', send: get('/a', 'X-A: a\x7fb\r\n'), expect: [400] },
  { name: 'form feed in a value', send: get('/a', 'X-A: a\x0cb\r\n'), expect: [400] },
  { name: 'a control byte in a name', send: get('/a', 'X\x01A: 1\r\n'), expect: [400] },
  { name: 'an empty field name', send: get('/a', ': 1\r\n'), expect: [400] },
  { name: 'a field line without a colon', send: get('/a', 'X-A 1\r\n'), expect: [400] },
  { name: 'a control byte in the target', send: `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'a byte over 0x7f in the target', send: `GET /a\xe9b HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'a tab inside a value passes', send: get('/a', 'X-A: a\tb\r\n') + END, expect: [200, 200] },
  { name: 'obs-text (0x80-0xff) in a value passes as bytes', send: get('/a', 'X-A: caf\xe9\r\n') + END, expect: [200, 200] },

  // ── obs-fold
  { name: 'obs-fold with a space', send: get('/a', 'X-A: 1\r\n 2\r\n'), expect: [400] },
  { name: 'obs-fold with a tab', send: get('/a', 'X-A: 1\r\n\t2\r\n'), expect: [400] },
  { name: 'obs-fold hiding Content-Length', send: `POST /a HTTP/1.1\r\n${H}X-A: 1\r\n Content-Length: 40\r\n\r\n${HIDDEN}`, expect: [400] },

  // ── Request-line forms
  { name: 'absolute-form: origin-form upstream, Host from the target', send: `GET http://other.test/abs?q=1 HTTP/1.1\r\n${H}\r\n${END}`, expect: [200, 200] },
  { name: 'absolute-form with a port and no path', send: `GET http://other.test:9000 HTTP/1.1\r\n${H}\r\n${END}`, expect: [200, 200] },
  { name: 'absolute-form https', send: `GET https://other.test/x HTTP/1.1\r\n${H}\r\n${END}`, expect: [200, 200] },
  { name: 'absolute-form with userinfo', send: `GET http://u@other.test/x HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'absolute-form OPTIONS without a path is OPTIONS *', send: `OPTIONS http://other.test HTTP/1.1\r\n${H}\r\n${END}`, expect: [200, 200] },
  { name: 'asterisk-form OPTIONS', send: `OPTIONS * HTTP/1.1\r\n${H}\r\n${END}`, expect: [200, 200] },
  { name: 'asterisk-form with GET', send: `GET * HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'authority-form CONNECT', send: `CONNECT other.test:443 HTTP/1.1\r\n${H}\r\n`, expect: [501] },
  { name: 'a target in no form', send: `GET other.test/x HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'a space inside the target', send: `GET /a b HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'a trailing space after the version', send: `GET /a HTTP/1.1 \r\n${H}\r\n`, expect: [400] },
  { name: 'a tab between method and target', send: `GET\t/a HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'two spaces between method and target', send: `GET  /a HTTP/1.1\r\n${H}\r\n${END}`, expect: [400], nodePath: { expect: [200, 200], why: 'llhttp reads `GET  /a` as `GET /a`, and baton forwards that, re-serialized: one meaning, no desync', readAs: `GET /a HTTP/1.1\r\n${H}\r\n${END}` } },
  { name: 'a lower-case version', send: `GET /a http/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'HTTP/1.2', send: `GET /a HTTP/1.2\r\n${H}\r\n`, expect: [400] },
  { name: 'HTTP/2.0 in a request line', send: `GET /a HTTP/2.0\r\n${H}\r\n`, expect: [505] },
  { name: 'the HTTP/2 preface', send: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', expect: [505] },
  { name: 'an unknown method', send: `FOO /a HTTP/1.1\r\n${H}\r\n`, expect: [400] },
  { name: 'an extension method llhttp knows', send: `PURGE /a HTTP/1.1\r\n${H}\r\n${END}`, expect: [200, 200] },
  { name: 'an empty line before the request line', send: `\r\n${get('/a')}${END}`, expect: [200, 200] },
  { name: 'a bare LF before the request line', send: `\n${get('/a')}${END}`, expect: [400], nodePath: { expect: [200, 200], why: 'llhttp skips a bare LF between requests; the request after it is re-serialized, so the gateway reads what baton read', readAs: get('/a') + END } },

  // ── Host
  { name: 'two Host fields', send: `GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n`, expect: [400] },
  { name: 'two Host fields, the second after others', send: `GET /a HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nhost: a\r\n\r\n`, expect: [400] },
  { name: 'HTTP/1.1 without Host', send: 'GET /a HTTP/1.1\r\n\r\n', expect: [400] },
  { name: 'a Host with a space', send: 'GET /a HTTP/1.1\r\nHost: a b\r\n\r\n', expect: [400] },
  { name: 'a Host with userinfo', send: 'GET /a HTTP/1.1\r\nHost: u@a\r\n\r\n', expect: [400] },
  { name: 'a Host with a path', send: 'GET /a HTTP/1.1\r\nHost: a/b\r\n\r\n', expect: [400] },
  { name: 'a Host with a non-numeric port', send: 'GET /a HTTP/1.1\r\nHost: a:b\r\n\r\n', expect: [400] },
  { name: 'an IPv6 Host', send: `GET /a HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n${END}`, expect: [200, 200] },
  { name: 'an empty Host', send: `GET /a HTTP/1.1\r\nHost:\r\n\r\n${END}`, expect: [200, 200] },

  // ── Repeated fields: both paths forward every line, in order
  { name: 'two Authorization lines', send: get('/a', 'Authorization: Basic YTpi\r\nAuthorization: Basic Yzpk\r\n') + END, expect: [200, 200] },
  { name: 'two Cookie lines and two X-Forwarded-For lines', send: get('/a', 'Cookie: a=1\r\nX-Forwarded-For: 1.1.1.1\r\nCookie: b=2\r\nX-Forwarded-For: 2.2.2.2\r\n') + END, expect: [200, 200] },

  // ── Chunk grammar
  { name: 'a valid chunked body', send: chunkedPost('/a', `5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n${END}`), expect: [200, 200] },
  { name: 'upper-case hex and leading zeros', send: chunkedPost('/a', `0000A\r\n0123456789\r\n0\r\n\r\n${END}`), expect: [200, 200] },
  { name: 'chunk extensions', send: chunkedPost('/a', `5;name=value;flag\r\nhello\r\n0;last\r\n\r\n${END}`), expect: [200, 200] },
  { name: 'a quoted chunk extension', send: chunkedPost('/a', `5;name="a b"\r\nhello\r\n0\r\n\r\n${END}`), expect: [200, 200] },
  { name: 'a space after the chunk size', send: chunkedPost('/a', '5 \r\nhello\r\n0\r\n\r\n'), expect: [400] },
  { name: 'a negative chunk size', send: chunkedPost('/a', '-5\r\nhello\r\n0\r\n\r\n'), expect: [400] },
  { name: 'a 0x prefix in a chunk size', send: chunkedPost('/a', '0x5\r\nhello\r\n0\r\n\r\n'), expect: [400] },
  { name: 'a chunk size that overflows', send: chunkedPost('/a', 'ffffffffffffffff1\r\nhello\r\n0\r\n\r\n'), expect: [400] },
  { name: 'chunk data longer than its size', send: chunkedPost('/a', `3\r\nhello\r\n0\r\n\r\n`), expect: [400] },
  { name: 'no chunk size', send: chunkedPost('/a', '\r\nhello\r\n0\r\n\r\n'), expect: [400] },
  { name: 'a bare LF in a chunk extension', send: chunkedPost('/a', '5;a\nb\r\nhello\r\n0\r\n\r\n'), expect: [400] },
  { name: 'a smuggled request after a chunk whose size lies', send: chunkedPost('/a', `2\r\nhello\r\n0\r\n\r\n${HIDDEN}`), expect: [400] },

  // ── Trailers
  { name: 'a trailer field is forwarded', send: chunkedPost('/a', `5\r\nhello\r\n0\r\nX-Checksum: 42\r\n\r\n${END}`), expect: [200, 200] },
  { name: 'Host in the trailer is not forwarded', send: chunkedPost('/a', `5\r\nhello\r\n0\r\nHost: other\r\nX-T: 1\r\n\r\n${END}`), expect: [200, 200] },
  // llhttp takes a Connection: close from the trailer section: what follows is refused, never forwarded.
  { name: 'Connection: close in the trailer ends the connection', send: chunkedPost('/a', `5\r\nhello\r\n0\r\nConnection: close\r\nX-T: 1\r\n\r\n${END}`), expect: [200, 400] },
  { name: 'Content-Length in the trailer (llhttp refuses it)', send: chunkedPost('/a', '5\r\nhello\r\n0\r\nContent-Length: 40\r\n\r\n'), expect: [400] },
  { name: 'an obs-fold trailer', send: chunkedPost('/a', '5\r\nhello\r\n0\r\nX-T: 1\r\n 2\r\n\r\n'), expect: [400] },
  { name: 'a bare LF in a trailer', send: chunkedPost('/a', '5\r\nhello\r\n0\r\nX-T: 1\n\r\n'), expect: [400] },

  // ── Expect
  { name: 'Expect: 100-continue', send: post('/a', 'Expect: 100-continue\r\nContent-Length: 5\r\n', `hello${END}`), expect: [100, 200, 200] },
  { name: 'an unsupported Expect', send: get('/a', 'Expect: something\r\n'), expect: [417] },

  // ── Pipelining and close: nothing upstream that the client will not get an answer to
  { name: 'ten pipelined GETs, answered in order', send: Array.from({ length: 9 }, (_, i) => get(`/p${i}`)).join('') + END, expect: Array<number>(10).fill(200) },
  { name: 'a slow request before a fast one stays in order', send: get('/slow') + get('/fast') + END, expect: [200, 200, 200] },
  { name: 'Connection: close, then pipelined data', send: get('/a', 'Connection: close\r\n') + get('/never'), expect: [200] },
  { name: 'Connection: close, then garbage', send: `${get('/a', 'Connection: close\r\n')}NOT HTTP\r\n\r\n`, expect: [200] },
  { name: 'a valid request, then a malformed one', send: `${get('/a')}GET /b HTTP/1.1\r\n${H}X-A: 1\r\n 2\r\n\r\n`, expect: [200, 400] },
  { name: 'a valid request, then one past the limits', send: `${get('/a')}${get('/b', 'X-A: 1\r\n'.repeat(1001))}`, expect: [200, 431] },
  { name: 'a malformed request, then a valid one', send: `GET /a HTTP/1.1\r\nHost : t\r\n\r\n${get('/b')}`, expect: [400] },
  { name: 'a refused request, then pipelined ones', send: `GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n${get('/b')}${END}`, expect: [400] },
  { name: 'a POST with a body, then a GET', send: post('/a', 'Content-Length: 5\r\n', `hello${END}`), expect: [200, 200] },
  { name: 'a chunked POST between GETs', send: get('/a') + chunkedPost('/b', '5\r\nhello\r\n0\r\n\r\n') + END, expect: [200, 200, 200] },
  { name: 'a client that half-closes after two requests', send: get('/a') + get('/b'), halfClose: true, expect: [200, 200] },
  { name: 'a client that half-closes after a chunked POST', send: get('/a') + chunkedPost('/b', '5\r\nhello\r\n0\r\n\r\n'), halfClose: true, expect: [200, 200] },
  { name: 'a client that half-closes mid-head gets nothing run', send: `${get('/a')}GET /b HTTP/1.1\r\nHo`, halfClose: true, expect: [200] },

  // ── HTTP/1.0 and HTTP/0.9
  { name: 'HTTP/1.0 without Host: the public address, never the private port', send: 'GET /a HTTP/1.0\r\n\r\n', expect: [200] },
  { name: 'HTTP/1.0 with Host', send: `GET /a HTTP/1.0\r\n${H}\r\n`, expect: [200] },
  { name: 'two pipelined HTTP/1.0 keep-alive GETs', send: `GET /a HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n${H}Connection: keep-alive\r\n\r\nGET /c HTTP/1.0\r\n${H}\r\n`, expect: [200, 200, 200] },
  { name: 'HTTP/1.0 POST with a body', send: `POST /a HTTP/1.0\r\n${H}Content-Length: 5\r\n\r\nhello`, expect: [200] },
  { name: 'an HTTP/0.9 request line', send: 'GET /a\r\n\r\n', expect: [400] },
  { name: 'an HTTP/0.9 request line after a valid request', send: `${get('/a')}GET /b\r\n\r\n`, expect: [200, 400] },

  // ── Upgrades: a WebSocket is tunnelled; any other Upgrade is dropped and served plainly
  { name: 'Upgrade: h2c is served as HTTP/1.1', send: get('/a', 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n') + END, expect: [200, 200] },
  { name: 'Upgrade: foo is served as HTTP/1.1', send: get('/a', 'Connection: upgrade\r\nUpgrade: foo\r\n') + END, expect: [200, 200] },
  { name: 'Upgrade: h2c on a POST with a body', send: post('/a', 'Connection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 5\r\n', `hello${END}`), expect: [200, 200] },
  { name: 'Upgrade: h2c on a chunked POST', send: chunkedPost('/a', `5\r\nhello\r\n0\r\n\r\n${END}`, 'Connection: Upgrade\r\nUpgrade: h2c\r\n'), expect: [200, 200] },
  { name: 'Upgrade: websocket without Connection: upgrade is plain', send: get('/a', 'Upgrade: websocket\r\n') + END, expect: [200, 200] },
  { name: 'Upgrade: websocket on a POST is plain', send: post('/a', `${WS}Content-Length: 0\r\n`, END), expect: [200, 200] },
  { name: 'a WebSocket upgrade is tunnelled', send: get('/ws', WS), expect: [101] },

  // ── baton-generation: baton's own field pins a request to a live generation; it is never forwarded, and only one plain number is read
  { name: 'baton-generation: 1 reaches generation 1 and is not forwarded', send: get('/a', 'baton-generation: 1\r\n') + END, expect: [200, 200] },
  { name: 'baton-generation in another case on a POST with a body', send: post('/a', 'Baton-Generation: 1\r\nContent-Length: 5\r\n', `hello${END}`), expect: [200, 200] },
  { name: 'baton-generation twice', send: get('/a', 'baton-generation: 1\r\nbaton-generation: 1\r\n') + END, expect: [400] },
  { name: 'baton-generation with a list', send: get('/a', 'baton-generation: 1, 1\r\n') + END, expect: [400] },
  { name: 'baton-generation with a leading zero', send: get('/a', 'baton-generation: 01\r\n') + END, expect: [400] },
  { name: 'baton-generation not a number', send: get('/a', 'baton-generation: latest\r\n') + END, expect: [400] },
  { name: 'baton-generation empty', send: get('/a', 'baton-generation:\r\n') + END, expect: [400] },
  { name: 'baton-generation with a sign', send: get('/a', 'baton-generation: +1\r\n') + END, expect: [400] },
  { name: 'baton-generation after a pipelined good request', send: get('/a') + get('/b', 'baton-generation: x\r\n'), expect: [200, 400] },
];
