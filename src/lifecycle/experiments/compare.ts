import type { CopyAnswer } from '../../proxy/send-copy.js';

/** How one request's answer from the candidate differs from the serving generation's. */
export interface Difference {
  method: string;
  target: string;
  /** The serving generation's status and the candidate's. */
  status: [before: number, after: number];
  /** Compared response fields whose value changed. */
  headers: string[];
  /** JSON fields (paths such as `users[0].name`) whose value changed; `$` for the whole body. */
  fields: string[];
  /** The candidate gave no answer where the serving generation did (its status is then 0): why. */
  noAnswer?: string;
}

/** A copy's failure in a word: its code (ECONNRESET, timeout) or its message. */
export function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException)?.code ?? (err as Error)?.message ?? String(err);
}

/** The serving generation answered, the candidate did not (a reset, a timeout): a difference every gate rule counts. */
export function unanswered(method: string, target: string, servingStatus: number, why: string): Difference {
  return { method, target, status: [servingStatus, 0], headers: [], fields: [], noAnswer: why };
}

/** At most this many changed fields named per answer. */
const MAX_FIELDS = 20;

/**
 * Compares the candidate's answer with two of the serving generation's, as Diffy does: a
 * field that differs between the serving generation's own two answers is noise (a
 * timestamp, a request id) and is not reported. The status, the named response fields
 * and the body are compared; a JSON body field by field, any other body as a whole.
 * Undefined when nothing but noise differs.
 */
export function compareAnswers(method: string, target: string, served: readonly [CopyAnswer, CopyAnswer], candidate: CopyAnswer, headerNames: readonly string[]): Difference | undefined {
  const [a, b] = served;
  const statusChanged = a.status === b.status && a.status !== candidate.status;
  const headers = headerNames.filter((name) => a.headers[name] === b.headers[name] && a.headers[name] !== candidate.headers[name]);
  const fields = bodyFields(a.body, b.body, candidate.body);
  if (!statusChanged && headers.length === 0 && fields.length === 0) return undefined;
  return { method, target, status: [a.status, candidate.status], headers, fields };
}

/** The body's changed fields, noise left out. */
function bodyFields(a: Buffer, b: Buffer, c: Buffer): string[] {
  const [ja, jb, jc] = [json(a), json(b), json(c)];
  if (ja !== NOT_JSON && jb !== NOT_JSON && jc !== NOT_JSON) {
    const noise = new Set(changedPaths(ja, jb));
    return changedPaths(ja, jc).filter((path) => !isUnder(path, noise)).slice(0, MAX_FIELDS);
  }
  // Not JSON: as a whole, unless the serving generation's own two answers differ already.
  return a.equals(b) && !a.equals(c) ? ['$'] : [];
}

const NOT_JSON = Symbol('not json');

function json(body: Buffer): unknown {
  if (body.length === 0) return NOT_JSON;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return NOT_JSON;
  }
}

/** A path is noise when it, or a field above it, differed between the two serving answers. */
function isUnder(path: string, noise: ReadonlySet<string>): boolean {
  for (const n of noise) if (path === n || path.startsWith(`${n}.`) || path.startsWith(`${n}[`)) return true;
  return false;
}

/** The paths where `x` and `y` differ: `a.b`, `list[2]`, `$` for the root. */
export function changedPaths(x: unknown, y: unknown, at = '$', out: string[] = []): string[] {
  if (out.length >= MAX_FIELDS * 4) return out;
  if (Array.isArray(x) && Array.isArray(y)) {
    if (x.length !== y.length) out.push(at);
    else x.forEach((item, i) => changedPaths(item, y[i], `${at}[${i}]`, out));
    return out;
  }
  if (isObject(x) && isObject(y)) {
    for (const key of new Set([...Object.keys(x), ...Object.keys(y)])) {
      const next = at === '$' ? key : `${at}.${key}`;
      if (!(key in x) || !(key in y)) out.push(next);
      else changedPaths(x[key], y[key], next, out);
    }
    return out;
  }
  if (x !== y) out.push(at);
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a difference trips `--verify-gate`: a status class change, an answer turned 5xx, or any difference. */
export function tripsGate(d: Difference, rule: 'class' | '5xx' | 'any'): boolean {
  const [before, after] = d.status;
  if (rule === 'any' || d.noAnswer !== undefined) return true;
  if (rule === '5xx') return after >= 500 && before < 500;
  return Math.floor(before / 100) !== Math.floor(after / 100);
}

/** One line for a difference: `GET /users 200 → 404`, `GET /a: fields name, age`. */
export function describeDifference(d: Difference): string {
  const parts: string[] = [];
  if (d.noAnswer !== undefined) parts.push(`${d.status[0]} → no answer (${d.noAnswer})`);
  else if (d.status[0] !== d.status[1]) parts.push(`${d.status[0]} → ${d.status[1]}`);
  if (d.headers.length > 0) parts.push(`${d.headers.join(', ')} changed`);
  if (d.fields.length > 0) parts.push(d.fields[0] === '$' ? 'body changed' : `field${d.fields.length > 1 ? 's' : ''} ${d.fields.join(', ')}`);
  return `${d.method} ${d.target} ${parts.join('; ')}`;
}
