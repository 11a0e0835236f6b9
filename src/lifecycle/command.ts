import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { BatonError } from '../errors.js';

/** Replaces every `{port}` in the gateway command with the instance's private port, and `{port:<name>}` with its side port of that name. */
export function fillPort(command: readonly string[], port: number, sides: Readonly<Record<string, number>> = {}): string[] {
  return command.map((arg) => arg.replaceAll('{port}', String(port)).replace(/\{port:([a-z][a-z0-9_]*)\}/g, (whole, name: string) => (sides[name] === undefined ? whole : String(sides[name]))));
}

/** The environment names of an instance's side ports: `BATON_PORT_METRICS=…`. */
export function sidePortEnv(sides: Readonly<Record<string, number>>): Record<string, string> {
  return Object.fromEntries(Object.entries(sides).map(([name, port]) => [`BATON_PORT_${name.toUpperCase()}`, String(port)]));
}

/**
 * Finds a program the way a shell would: a name with a slash is a path relative to `cwd`,
 * anything else is looked up on PATH. Returns undefined when nothing executable is found.
 */
export function resolveProgram(program: string, cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  const found = lookUp(program, cwd, env);
  return found.executable ? found.file : undefined;
}

/** The program's file, or why there is none: not found, or found but not executable. */
function lookUp(program: string, cwd: string, env: NodeJS.ProcessEnv): { file: string; executable: true } | { file: undefined; executable: false; notExecutable: string | undefined } {
  const candidates = program.includes('/')
    ? [path.resolve(cwd, program)]
    : (env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(path.resolve(cwd, dir), program));
  let notExecutable: string | undefined;
  for (const file of candidates) {
    if (!isFile(file)) continue;
    if (isExecutable(file)) return { file, executable: true };
    notExecutable ??= file;
  }
  return { file: undefined, executable: false, notExecutable };
}

/**
 * The program's path, or a usage error saying why it cannot run: not found
 * (E_GATEWAY_NOT_FOUND, E_CHECK_NOT_FOUND), or a file without execute permission
 * (E_NOT_EXECUTABLE), with what to do about each.
 */
export function requireProgram(program: string, cwd: string, env: NodeJS.ProcessEnv, role: 'gateway' | 'check'): string {
  const found = lookUp(program, cwd, env);
  if (found.executable) return found.file;
  const what = role === 'gateway' ? 'gateway program' : '--check program';
  if (found.notExecutable) {
    const shown = program.includes('/') ? program : found.notExecutable;
    throw new BatonError('E_NOT_EXECUTABLE', `${what} is not executable: ${shown}`, `make it executable (chmod +x ${shown}), or run it through its interpreter (e.g. sh ${shown}, node ${shown})`);
  }
  if (role === 'gateway') throw new BatonError('E_GATEWAY_NOT_FOUND', `gateway program not found: ${program}`, 'install it, put it on PATH, or give its path after --');
  throw new BatonError('E_CHECK_NOT_FOUND', `--check program not found: ${program}`, 'install it, put it on PATH, or fix the --check command');
}

function isFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const SHELL_BUILTINS = new Set(['true', 'false', 'test', '[', 'exit', 'cd', 'echo', 'printf', ':', '.', 'source', 'eval', 'exec', 'command']);

/**
 * The program a `--check` shell command runs first, or undefined when the
 * first word is a shell builtin or an assignment (nothing to look up).
 */
export function checkProgram(check: string): string | undefined {
  const first = /^\s*(?:'([^']*)'|"([^"]*)"|(\S+))/.exec(check);
  const word = first?.[1] ?? first?.[2] ?? first?.[3];
  if (!word || SHELL_BUILTINS.has(word) || word.includes('=')) return undefined;
  return word;
}
