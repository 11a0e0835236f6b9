// One round of HTTP load on one URL: wrk when installed (a C program, which leaves more CPU
// to the proxy under test), else autocannon. Both report the same fields.
import { execFileSync } from 'node:child_process';
import { cannon } from './cannon.mjs';
import { installed } from './util.mjs';

/** The load generator `load` uses on this machine. */
export const loadGenerator = () => (installed('wrk') ? 'wrk' : 'autocannon');

/** `connections` keep-alive connections for `seconds`: { requests, rps, errors } (errors: non-2xx/3xx and socket errors). */
export async function load(url, connections, seconds) {
  if (installed('wrk')) {
    const out = execFileSync('wrk', ['-t2', `-c${connections}`, `-d${seconds}s`, '--latency', url], { encoding: 'utf8' });
    const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
    const errors = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
    return { requests, rps: requests / seconds, errors };
  }
  const r = await cannon({ url, connections, seconds });
  return { requests: r.requests, rps: r.rps, errors: r.errors + r.non2xx };
}
