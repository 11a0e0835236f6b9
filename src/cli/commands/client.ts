import { Command, Option } from 'commander';
import { BatonError } from '../../errors.js';
import { call, findBaton, follow, type AdminTarget } from '../../control/client.js';
import { parseSubcommand, positiveInteger } from './common.js';

type Client = 'status' | 'reload' | 'requests' | 'promote' | 'abort' | 'rollback';

/** The experiments' decisions (each posts to /api/<name>): its help line, and what it prints when done. */
const DECISIONS = {
  promote: { help: 'Promote the candidate waiting (--promote manual) or in a canary step, as the p key.', done: 'promotion requested' },
  abort: { help: 'Stop the candidate waiting or in a canary; the serving generation keeps everything (the a key).', done: 'abort requested' },
  rollback: { help: 'Send new requests back to the previous generation, kept warm for --keep-previous (the b key).', done: 'rollback requested' },
} as const;

function program(name: Client): Command {
  const p = new Command(`baton ${name}`)
    .helpOption('-h, --help', 'show this help')
    .option('--admin <url>', "the control plane's URL (default: the baton running from this folder, found in .baton/)")
    .option('--admin-token <token>', 'its token, when it has one (also BATON_ADMIN_TOKEN)')
    .addOption(new Option('--json', "print the API's JSON"));
  if (name === 'status') p.description('What a running baton serves: each generation with its state, requests, 5xx and latency.');
  if (name === 'reload') p.description('Start a new generation with the current files, as a save would (the r key, SIGHUP).');
  if (name === 'promote' || name === 'abort' || name === 'rollback') p.description(DECISIONS[name].help);
  if (name === 'requests') {
    p.description('The most recent requests the inspector kept, newest first; --follow prints each as it ends.')
      .option('--gen <n>', 'only those a generation answered')
      .option('--status <status>', 'only these statuses: a class (5xx) or one (404)')
      .option('--path <text>', 'only targets containing this')
      .option('--limit <n>', 'at most this many', '20')
      .addOption(new Option('--follow', 'then print each request as it ends, until Ctrl-C'));
  }
  return p.addHelpText('after', '\nExit codes: 0 done; 1 the control plane answered with an error; 2 usage error, or no baton found.');
}

const pad = (s: string | number, n: number): string => String(s).padEnd(n);

interface Experiments {
  waiting: number | null;
  canary: { gen: number; step: number; steps: number; weight: number; actualWeight: number | null } | null;
  previous: { gen: number; untilMs: number } | null;
  preview: string | null;
}

/** The experiments' lines under the table: what waits, what a canary gets, what a rollback would go to. */
function experimentLines(e: Experiments | undefined): string {
  if (!e) return '';
  const lines = [
    e.waiting !== null ? `gen ${e.waiting} waits for promotion: baton promote, or baton abort${e.preview ? `; try it on ${e.preview}` : ''}` : '',
    e.canary ? `gen ${e.canary.gen} is a canary, step ${e.canary.step}/${e.canary.steps}: set to ${e.canary.weight} % of new requests, got ${e.canary.actualWeight === null ? '— (no request yet)' : `${e.canary.actualWeight} %`}` : '',
    e.previous ? `gen ${e.previous.gen} is kept for a rollback for ${Math.ceil(e.previous.untilMs / 1000)} s more: baton rollback` : '',
  ];
  return lines.filter(Boolean).map((l) => `${l}\n`).join('');
}

function printStatus(body: { serving: number | null; url: string; generations: Array<Record<string, unknown>>; experiments?: Experiments }): void {
  process.stdout.write(`baton at ${body.url}: ${body.serving === null ? 'nothing serving' : `gen ${body.serving} serving`}\n`);
  process.stdout.write(`${pad('gen', 5)}${pad('state', 11)}${pad('requests', 10)}${pad('5xx', 6)}${pad('p50', 10)}${pad('p99', 10)}started\n`);
  for (const g of body.generations) {
    const statuses = g.statuses as Record<string, number>;
    const ms = (v: unknown): string => (typeof v === 'number' ? `${v.toFixed(2)} ms` : '—');
    process.stdout.write(`${pad(g.gen as number, 5)}${pad(g.state === 'canary' ? `canary ${String(g.weight)}%` : (g.state as string), 11)}${pad(g.requests as number, 10)}${pad(statuses['5xx']!, 6)}${pad(ms(g.p50Ms), 10)}${pad(ms(g.p99Ms), 10)}${new Date(g.startedAt as number).toISOString()}${g.why ? `  ${String(g.why).slice(0, 80)}` : ''}\n`);
  }
  process.stdout.write(experimentLines(body.experiments));
}

function requestLine(r: Record<string, unknown>): string {
  const ms = typeof r.ms === 'number' ? `${r.ms.toFixed(1)} ms` : '—';
  return `#${pad(r.id as number, 6)} gen ${pad((r.gen as number | null) ?? '—', 4)} ${pad(r.status as number, 4)}${r.own ? '*' : ' '} ${pad(r.method as string, 7)} ${pad(ms, 10)} ${r.target as string}\n`;
}

/** `baton status`, `baton reload`, `baton requests`, `baton promote`, `baton abort`, `baton rollback`: a running baton, through its control plane. */
export async function runClient(name: Client, argv: readonly string[]): Promise<number> {
  const parsed = parseSubcommand(program(name), argv);
  if ('print' in parsed) {
    process.stdout.write(parsed.print);
    return 0;
  }
  const flags = parsed.flags as Record<string, string | boolean | undefined>;
  const target: AdminTarget = findBaton(process.cwd(), flags.admin as string | undefined, (flags.adminToken as string | undefined) ?? process.env.BATON_ADMIN_TOKEN);
  const json = flags.json === true;
  const failed = (status: number, body: unknown): number => {
    process.stderr.write(`baton: the control plane answered ${status}: ${(body as { error?: string }).error ?? JSON.stringify(body)}\n`);
    return 1;
  };
  if (name === 'status') {
    const { status, body } = await call(target, 'GET', '/api/status');
    if (status !== 200) return failed(status, body);
    if (json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else printStatus(body as Parameters<typeof printStatus>[0]);
    return 0;
  }
  if (name === 'reload') {
    const { status, body } = await call(target, 'POST', '/api/reload');
    if (status !== 202) return failed(status, body);
    process.stdout.write(json ? `${JSON.stringify(body)}\n` : 'reload requested\n');
    return 0;
  }
  if (name === 'promote' || name === 'abort' || name === 'rollback') {
    const { status, body } = await call(target, 'POST', `/api/${name}`);
    if (status !== 202) return failed(status, body);
    process.stdout.write(json ? `${JSON.stringify(body)}\n` : `${DECISIONS[name].done}\n`);
    return 0;
  }
  const query = new URLSearchParams();
  for (const key of ['gen', 'status', 'path'] as const) if (typeof flags[key] === 'string') query.set(key, flags[key] as string);
  query.set('limit', String(positiveInteger('--limit', flags.limit as string, '20')));
  const { status, body } = await call(target, 'GET', `/api/requests?${query}`);
  if (status !== 200) return failed(status, body);
  const list = body as Array<Record<string, unknown>>;
  for (const r of [...list].reverse()) process.stdout.write(json ? `${JSON.stringify(r)}\n` : requestLine(r));
  if (!flags.follow) return 0;
  // Follow: each request as the stream reports it ends is fetched by id (summaries only).
  let last = list.reduce((max, r) => Math.max(max, r.id as number), 0);
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop).once('SIGTERM', stop);
  const poll = async (): Promise<void> => {
    const { status: s, body: b } = await call(target, 'GET', `/api/requests?${query}`);
    if (s !== 200) return;
    for (const r of (b as Array<Record<string, unknown>>).filter((r) => (r.id as number) > last).reverse()) {
      last = r.id as number;
      process.stdout.write(json ? `${JSON.stringify(r)}\n` : requestLine(r));
    }
  };
  const timer = setInterval(() => void poll().catch(() => {}), 500);
  try {
    await follow(target, (event) => {
      if (event.type === 'closed') abort.abort();
    }, abort.signal);
  } catch (err) {
    if (!(err instanceof BatonError)) throw err;
  } finally {
    clearInterval(timer);
  }
  return 0;
}
