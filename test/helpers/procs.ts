import { readdirSync, readFileSync } from 'node:fs';
import { isAlive } from './baton-process.js';

/** Pids of running processes whose command line contains `text` (e.g. `baton-lifeline`, `baton-standby`). */
export function processesWith(text: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text) && isAlive(Number(entry))) out.push(Number(entry));
    } catch {
      // gone while reading
    }
  }
  return out;
}

/** The parent pid of `pid`. */
export function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}
