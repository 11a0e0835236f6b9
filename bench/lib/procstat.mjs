// Reads a process's CPU time and memory from /proc (Linux only).
import { readFileSync } from 'node:fs';

/** User + system CPU time the process has used so far, in milliseconds: the shipped package's (src/tools/processes.ts). */
export { cpuMs } from '../../dist/tools/processes.js';

function statusKb(pid, key) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
}

/** Resident memory now, MiB. */
export const rssMiB = (pid) => statusKb(pid, 'VmRSS') / 1024;
/** Peak resident memory since the process started (VmHWM), MiB. */
export const peakRssMiB = (pid) => statusKb(pid, 'VmHWM') / 1024;
