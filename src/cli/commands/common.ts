import { Command, CommanderError } from 'commander';
import { usageError } from '../../errors.js';
import type { ToolIo } from '../../tools/compare.js';
import type { Progress } from '../../tools/progress.js';

/** The flags a subcommand was given (what the user typed and the defaults), and the command after `--`. */
export type Parsed = { flags: Record<string, unknown>; command: string[]; unknown: string[] } | { print: string };

/**
 * Parses a subcommand's argv with its commander program: its own flags before `--`, the
 * gateway command after. Help is returned as text to print; errors become E_USAGE.
 * `unknown`: options the program does not define (only where it allows them).
 */
export function parseSubcommand(program: Command, argv: readonly string[]): Parsed {
  const split = argv.indexOf('--');
  const own = split === -1 ? [...argv] : argv.slice(0, split);
  const command = split === -1 ? [] : argv.slice(split + 1);
  let printed = '';
  program.exitOverride().configureOutput({ writeOut: (text) => (printed += text), writeErr: () => {} });
  try {
    program.parse(own, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed') return { print: printed };
      const [first = ''] = err.message.split('\n');
      const suggestion = /Did you mean (.+)\?/.exec(err.message)?.[1];
      throw usageError(first.replace(/^error: /, '').replace(/\.$/, ''), suggestion ? `did you mean ${suggestion}? Run ${program.name()} --help` : `run ${program.name()} --help for its options; the gateway command goes after --`);
    }
    throw err;
  }
  return { flags: program.opts(), command, unknown: program.args };
}

/** A whole number of at least `min` (1 by default), or E_USAGE naming the flag. */
export function positiveInteger(flag: string, value: string, example: string, min = 1): number {
  if (!/^\d+$/.test(value) || Number(value) < min) throw usageError(`${flag} must be a whole number${min > 0 ? ` of at least ${min}` : ''}, not ${value}`, `for example ${flag} ${example}`);
  return Number(value);
}

/** A URL path: starts with `/`. */
export function urlPath(flag: string, value: string): string {
  if (!value.startsWith('/')) throw usageError(`${flag} must start with /, not ${value}`, `for example ${flag} /health`);
  return value;
}

/** Results to stdout (nothing but the final JSON with --json), warnings to stderr, progress on a terminal. */
export function toolIo(json: boolean, progress: Progress): ToolIo {
  return {
    log: (text) => {
      if (json) return;
      progress.clear();
      process.stdout.write(`${text}\n`);
    },
    warn: (text) => {
      progress.clear();
      process.stderr.write(`${text}\n`);
    },
    progress,
  };
}
