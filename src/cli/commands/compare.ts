import { existsSync } from 'node:fs';
import path from 'node:path';
import { Command, Option } from 'commander';
import { usageError } from '../../errors.js';
import { requireProgram } from '../../lifecycle/command.js';
import { compare, type CompareOptions } from '../../tools/compare.js';
import { Progress } from '../../tools/progress.js';
import { parseSubcommand, positiveInteger, toolIo, urlPath } from './common.js';

const USAGE = 'baton compare --a <config> --b <config> [options] -- <gateway command with {config}>';

export function compareProgram(): Command {
  return new Command('baton compare')
    .usage('--a <config> --b <config> [options] -- <gateway command with {config}>')
    .description('Compare two configs of one gateway under identical load: both run at once, rounds alternate A B, B A, … (ABBA), and the result is B/A per pair with its spread.')
    .helpOption('-h, --help', 'show this help')
    .addOption(new Option('--a <config>', 'config A (the baseline)'))
    .addOption(new Option('--b <config>', 'config B (the candidate)'))
    .option('--pairs <n>', 'ABBA pairs of rounds (3 or more gives a spread worth reading)', '3')
    .option('--seconds <n>', 'seconds per round', '5')
    .option('--connections <n>', 'keep-alive connections of the load', '32')
    .option('--rate <n>', 'a fixed total request rate (req/s) instead of full speed')
    .option('--path <path>', 'the path loaded', '/')
    .option('--health <path>', 'the path each gateway must answer below 500 before the load (default: --path)')
    .option('--out <folder>', 'write compare.md, compare.json, compare.svg and compare.html there', 'baton-results')
    .addOption(new Option('--json', 'print the result as JSON instead of markdown'))
    .addHelpText(
      'after',
      `
The gateway command goes after --; {config} is replaced by A's or B's path, {port} by a
free port (also in PORT). Each gateway runs in the current folder. The load is autocannon.

Exit codes: 0 compared; 1 a gateway did not start (its output is printed), or the run
failed; 2 usage error.

Example:
  baton compare --a Caddyfile --b Caddyfile.new -- caddy run --config {config} --adapter caddyfile`,
    );
}

/** Parses `baton compare` argv into options, or throws E_USAGE. */
export function parseCompare(argv: readonly string[], cwd: string): { options: CompareOptions; json: boolean } | { print: string } {
  const parsed = parseSubcommand(compareProgram(), argv);
  if ('print' in parsed) return parsed;
  const { flags, command } = parsed;
  for (const side of ['a', 'b'] as const) {
    const file = flags[side] as string | undefined;
    if (file === undefined) throw usageError(`--${side} is missing`, USAGE);
    if (!existsSync(path.resolve(cwd, file))) throw usageError(`--${side}: no such file: ${file}`, `give the path of config ${side.toUpperCase()}`);
  }
  if (command.length === 0) throw usageError('no gateway command after --', USAGE);
  if (!command.some((part) => part.includes('{config}'))) {
    throw usageError('the gateway command has no {config}, so A and B would run the same config', 'put {config} where the config path goes, e.g. -- caddy run --config {config}');
  }
  requireProgram(command[0]!, cwd, process.env, 'gateway');
  const rate = flags.rate === undefined ? undefined : positiveInteger('--rate', flags.rate as string, '1000', 0);
  return {
    json: flags.json === true,
    options: {
      a: flags.a as string,
      b: flags.b as string,
      command,
      pairs: positiveInteger('--pairs', flags.pairs as string, '3'),
      seconds: positiveInteger('--seconds', flags.seconds as string, '5'),
      connections: positiveInteger('--connections', flags.connections as string, '32'),
      ...(rate ? { rate } : {}),
      path: urlPath('--path', flags.path as string),
      ...(flags.health === undefined ? {} : { health: urlPath('--health', flags.health as string) }),
      out: path.resolve(cwd, flags.out as string),
      cwd,
    },
  };
}

/** `baton compare …`: runs, prints, returns the exit code. */
export async function runCompare(argv: readonly string[]): Promise<number> {
  const request = parseCompare(argv, process.cwd());
  if ('print' in request) {
    process.stdout.write(request.print);
    return 0;
  }
  // Ctrl-C: exit, and the exit hook stops both gateways.
  const interrupt = (): never => process.exit(130);
  process.once('SIGINT', interrupt).once('SIGTERM', interrupt);
  const io = toolIo(request.json, new Progress(request.options.pairs! * 2));
  const result = await compare(request.options, io);
  if (request.json) process.stdout.write(`${JSON.stringify({ ...result, markdown: undefined }, null, 2)}\n`);
  return 0;
}
