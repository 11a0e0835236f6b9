import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/** Replaces every `{port}` in the gateway command with the instance's private port. */
export function fillPort(command: readonly string[], port: number): string[] {
  return command.map((arg) => arg.replaceAll('{port}', String(port)));
}

/**
 * Finds a program the way a shell would: a name with a slash is a path relative to `cwd`,
 * anything else is looked up on PATH. Returns undefined when nothing executable is found.
 */
export function resolveProgram(program: string, cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (program.includes('/')) {
    const full = path.resolve(cwd, program);
    return isExecutableFile(full) ? full : undefined;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const full = path.join(path.resolve(cwd, dir), program);
    if (isExecutableFile(full)) return full;
  }
  return undefined;
}

function isExecutableFile(file: string): boolean {
  try {
    if (!statSync(file).isFile()) return false;
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
