import path from 'node:path';
import { Command, Option } from 'commander';
import { BatonError, usageError } from '../../errors.js';
import { requireProgram } from '../../lifecycle/command.js';
import { findConfigFile } from '../../options.js';
import { Progress } from '../../tools/progress.js';
import { reloadBench, type ReloadBenchOptions, type ReloadTrigger } from '../../tools/reload-bench.js';
import { parseCliArgs } from '../args.js';
import { parseSubcommand, positiveInteger, toolIo, urlPath } from './common.js';

const USAGE = 'baton bench reload [options] [baton flags] -- <gateway command>';

export function benchReloadProgram(): Command {
  return new Command('baton bench reload')
    .usage('[options] [baton flags] -- <gateway command>')
    .description("The reload experiment on your own gateway: baton in front of it, steady keep-alive load, and N reloads; reports the requests the gateway never answered and the time from each save to the new generation serving.")
    .helpOption('-h, --help', 'show this help')
    .option('--reloads <n>', 'reloads under load', '5')
    .option('--clients <n>', 'keep-alive clients, each sending its next request when the last is answered', '16')
    .option('--gap <ms>', 'quiet time between one reload being served and the next', '1000')
    .option('--path <path>', 'the path loaded', '/')
    .addOption(new Option('--trigger <how>', 'save: rewrite the config file the command names (-c/--config) with a trailing newline toggled, its bytes put back at the end; signal: SIGHUP (default: save when the command names a config file)').choices(['save', 'signal']))
    .option('--out <folder>', 'write reload-bench.md, .json, .svg and .html there', 'baton-results')
    .addOption(new Option('--json', 'print the result as JSON instead of markdown'))
    .allowUnknownOption()
    .allowExcessArguments()
    .addHelpText(
      'after',
      `
Any other flag before -- is baton's own and goes to the baton under test (its presets
apply as usual): baton bench reload --health /__health --debounce 50 -- krakend run -c krakend.json
The public port is the bench's to choose: do not give --port.

A failed request is one the gateway never answered: a network error, a timeout, or
baton's own 502, 503 or 504. The gateway's own answers count as answered, whatever their status.

Exit codes: 0 every request was answered; 3 some requests failed (the table says when
and why); 1 the gateway never served behind baton, or the run failed; 2 usage error.`,
    );
}

/** Parses `baton bench reload` argv, checking the baton flags it forwards; throws E_USAGE. */
export function parseBenchReload(argv: readonly string[], cwd: string): { options: ReloadBenchOptions; json: boolean } | { print: string } {
  const parsed = parseSubcommand(benchReloadProgram(), argv);
  if ('print' in parsed) return parsed;
  const { flags, command, unknown } = parsed;
  if (command.length === 0) throw usageError('no gateway command after --', USAGE);
  if (unknown.some((a) => a === '-p' || a === '--port' || a.startsWith('--port='))) throw usageError('--port is the bench’s to choose', 'drop it: the baton under test listens on a free port');
  // The baton flags must be valid as they would be for `baton` itself.
  parseCliArgs([...unknown, '--', ...command], '0.0.0', cwd);
  requireProgram(command[0]!, cwd, process.env, 'gateway');
  const trigger = flags.trigger as ReloadTrigger | undefined;
  if (trigger === 'save' && !findConfigFile(command)) throw usageError('--trigger save needs a config file named in the command with -c or --config', 'name it there, or use --trigger signal');
  return {
    json: flags.json === true,
    options: {
      command,
      reloads: positiveInteger('--reloads', flags.reloads as string, '5'),
      clients: positiveInteger('--clients', flags.clients as string, '16'),
      gapMs: positiveInteger('--gap', flags.gap as string, '1000', 0),
      path: urlPath('--path', flags.path as string),
      ...(trigger ? { trigger } : {}),
      batonArgs: unknown,
      out: path.resolve(cwd, flags.out as string),
      cwd,
    },
  };
}

/** `baton bench reload …`: runs, prints, returns the exit code (3 when requests failed). */
export async function runBenchReload(argv: readonly string[]): Promise<number> {
  const request = parseBenchReload(argv, process.cwd());
  if ('print' in request) {
    process.stdout.write(request.print);
    return 0;
  }
  const io = toolIo(request.json, new Progress(request.options.reloads ?? 5));
  const result = await reloadBench(request.options, io);
  if (request.json) process.stdout.write(`${JSON.stringify({ ...result, markdown: undefined }, null, 2)}\n`);
  return result.failed > 0 || result.rows.some((r) => r.rejected) ? 3 : 0;
}

/** `baton bench <what>`: only `reload` so far. */
export function runBench(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'reload') return runBenchReload(argv.slice(1));
  throw new BatonError('E_USAGE', argv[0] === undefined || argv[0].startsWith('-') ? 'baton bench needs a benchmark' : `unknown benchmark: ${argv[0]}`, 'the one there is: baton bench reload --help');
}
