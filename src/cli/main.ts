#!/usr/bin/env node
// First, before the other modules load: keeps the V8 heap small under load.
import './heap-tuning.js';
import { readFileSync } from 'node:fs';
import { Baton } from '../lifecycle/baton.js';
import { parseCliArgs, type CliArgs } from './args.js';
import { followConfigFile } from './config-follow.js';
import { adminServer } from '../control/admin-server.js';
import { BatonError } from '../errors.js';
import { killAllGroups } from '../lifecycle/process-groups.js';
import { createReporter } from './reporter.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function fail(err: unknown): number {
  if (err instanceof BatonError) {
    process.stderr.write(`baton: ${err.toLine()}\n`);
    return err.exitCode;
  }
  process.stderr.write(`baton: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return 1;
}

/** `baton compare …`, `baton bench reload …`, or a run (`baton [run] [options] -- <command>`). */
async function dispatch(argv: readonly string[]): Promise<number> {
  try {
    switch (argv[0]) {
      case 'compare':
        return await (await import('./commands/compare.js')).runCompare(argv.slice(1));
      case 'bench':
        return await (await import('./commands/bench-reload.js')).runBench(argv.slice(1));
      case 'status':
      case 'reload':
      case 'requests':
      case 'promote':
      case 'abort':
      case 'rollback':
        return await (await import('./commands/client.js')).runClient(argv[0], argv.slice(1));
      case 'run':
        return await main(argv.slice(1));
      default:
        return await main(argv);
    }
  } catch (err) {
    return fail(err);
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs;
  try {
    const request = parseCliArgs(argv, version);
    if (request.kind === 'print') {
      process.stdout.write(request.text);
      return 0;
    }
    args = request.args;
  } catch (err) {
    return fail(err);
  }
  let baton: Baton;
  try {
    const admin = args.admin;
    baton = new Baton({ ...args.options, ...(admin ? { controlPlane: adminServer({ ...admin, version }) } : {}) });
  } catch (err) {
    return fail(err);
  }
  const report = createReporter({ json: args.json, quiet: args.quiet, cwd: baton.options.cwd, color: args.color, gatewayOutput: args.gatewayOutput });
  baton.on('event', report);
  /** The config file, followed once baton runs: edits apply where they can (config-follow.ts). */
  let following: Promise<{ close(): Promise<void> } | undefined> = Promise.resolve(undefined);
  const stopFollowing = (): Promise<void> => following.then((f) => f?.close());

  return new Promise<number>((resolve) => {
    let signals = 0;
    const shutdown = (signal: string): void => {
      signals++;
      if (signals === 1) {
        void Promise.all([baton.close(signal), stopFollowing()]).then(() => resolve(0), (err: unknown) => resolve(fail(err)));
      } else {
        void baton.destroy().finally(() => resolve(1));
      }
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGHUP', () => baton.reload('signal'));
    listenForKeys(baton, () => shutdown('SIGINT'));

    baton.start().then(
      () => {
        const file = args.configFile;
        if (!file) return;
        following = followConfigFile({ file: file.file, initial: file.values, flagKeys: args.flagKeys, baton, report }).catch((err: unknown) => {
          report({ type: 'warning', message: `${file.file}: edits will not be followed (${err instanceof Error ? err.message : String(err)})` });
          return undefined;
        });
      },
      async (err: unknown) => {
        await baton.destroy();
        resolve(fail(err));
      },
    );
  });
}

/** In a terminal: `r` reloads, `p` promotes, `a` aborts, `b` rolls back; Ctrl-C arrives as a key in raw mode and shuts down. */
function listenForKeys(baton: Baton, interrupt: () => void): void {
  const stdin = process.stdin;
  if (!stdin.isTTY) return;
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  const say = (refused: string | undefined): void => {
    if (refused !== undefined) process.stderr.write(`baton  ${refused}\n`);
  };
  stdin.on('data', (key: string) => {
    const k = key.toLowerCase();
    if (k === 'r') baton.reload('key');
    else if (k === 'p') say(baton.promote());
    else if (k === 'a') say(baton.abort());
    else if (k === 'b') say(baton.rollback());
    else if (key === '\u0003') interrupt();
  });
  // The terminal went away (window closed): shut down rather than run on unseen.
  stdin.on('end', interrupt);
}

function restoreTerminal(): void {
  if (process.stdin.isTTY) process.stdin.setRawMode(false);
}

process.on('uncaughtException', (err) => {
  killAllGroups();
  restoreTerminal();
  process.exit(fail(err));
});
process.on('unhandledRejection', (err) => {
  killAllGroups();
  restoreTerminal();
  process.exit(fail(err));
});

const code = await dispatch(process.argv.slice(2));
restoreTerminal();
process.exit(code);
