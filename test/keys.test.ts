import { execFileSync, spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, FIXTURE, isAlive, type Event } from './helpers/baton-process.js';
import { sleep, tempDir, writeConfig } from './helpers/files.js';

/** `script` (util-linux) gives baton a real terminal, so stdin is a TTY as when a person runs it. */
function hasScript(): boolean {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const script = hasScript();
if (!script) console.log('SKIPPED: the terminal key test needs `script` from util-linux to give baton a TTY.');

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => tmp.remove());

describe.skipIf(!script)('keys in a terminal', () => {
  it('r reloads; Ctrl-C shuts down gracefully and leaves nothing running', async () => {
    const config = tmp.file('gateway.json');
    writeConfig(config, { version: 'v1' });
    const command = [process.execPath, CLI, '--json', '-p', '0', '-w', config, '--', 'node', FIXTURE, config].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    const events = (): Event[] => out.split(/\r?\n/).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
    const until = async (match: (e: Event) => boolean): Promise<void> => {
      for (let i = 0; i < 400 && !events().some(match); i++) await sleep(50);
      expect(events().some(match), JSON.stringify(events())).toBe(true);
    };
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await until((e) => e.type === 'serving' && e.gen === 1);
      child.stdin.write('r');
      await until((e) => e.type === 'serving' && e.gen === 2);
      expect(events().find((e) => e.type === 'reload')?.source).toBe('key');
      child.stdin.write('\u0003');
      expect(await exited).toBe(0);
      expect(events().some((e) => e.type === 'closed')).toBe(true);
      const pids = events().filter((e) => e.type === 'starting').map((e) => e.pid as number);
      expect(pids.filter(isAlive)).toEqual([]);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
