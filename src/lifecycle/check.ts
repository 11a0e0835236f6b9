import { execa } from 'execa';
import { guard, release } from './lifeline.js';

export interface CheckResult {
  ok: boolean;
  /** One line: why the check failed. */
  reason: string;
  /** The check's last output lines (stdout and stderr interleaved). */
  output: string[];
}

const OUTPUT_LINES = 20;

/**
 * Runs the `--check` command through the shell in the gateway's folder, with baton's
 * environment plus BATON_GENERATION (no port: it checks the files, beside the instance
 * that starts from them). Aborting kills it.
 */
export async function runCheck(command: string, options: { cwd: string; env: NodeJS.ProcessEnv; generation: number; timeoutMs: number; signal: AbortSignal }): Promise<CheckResult> {
  const subprocess = execa(command, {
    shell: true,
    cwd: options.cwd,
    env: { ...options.env, BATON_GENERATION: String(options.generation) },
    extendEnv: false,
    stdin: 'ignore',
    all: true,
    reject: false,
    timeout: options.timeoutMs,
    cancelSignal: options.signal,
    forceKillAfterDelay: 1000,
    maxBuffer: 4 * 1024 * 1024,
  });
  // A check still running when baton dies hard is stopped by the lifeline too.
  if (subprocess.pid !== undefined) guard(subprocess.pid);
  const result = await subprocess;
  if (subprocess.pid !== undefined) release(subprocess.pid);
  const output = String(result.all ?? '').split('\n').filter((line) => line.trim() !== '').slice(-OUTPUT_LINES);
  if (result.exitCode === 0) return { ok: true, reason: '', output };
  if (result.exitCode === 127) return { ok: false, reason: `check command not found: ${command}`, output };
  if (result.timedOut) return { ok: false, reason: `check did not finish within ${options.timeoutMs} ms`, output };
  return { ok: false, reason: `check failed (exit code ${result.exitCode ?? result.signal ?? '?'})`, output };
}
