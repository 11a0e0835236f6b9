import { spawn, type ChildProcess } from 'node:child_process';

/**
 * The lifeline: when baton dies without running any code (SIGKILL, the OOM killer, an IDE
 * stopping a task hard), nothing of baton's can stop the gateways it started, and each
 * runs in a process group of its own. So baton starts, once, a watchdog that outlives it:
 * a small `sh` in a process group of its own too (a kill of baton's group spares it), that
 * reads the groups to guard from a pipe. When the pipe closes, whatever the cause, baton
 * is gone: the watchdog sends SIGTERM to every group it still guards, SIGKILL to what is
 * left 0.8 s later, and exits. The pipe carries one short line per instance started or
 * ended, never anything per request.
 */
const WATCHDOG = `
trap '' INT TERM HUP QUIT PIPE
guarded=' '
while IFS= read -r line; do
  case $line in
    +*) guarded="$guarded\${line#+} " ;;
    -*) gone=\${line#-}; left=' '
        for p in $guarded; do [ "$p" = "$gone" ] || left="$left$p "; done
        guarded=$left ;;
  esac
done
signal() { for p in $guarded; do kill -s "$1" -- "-$p" 2>/dev/null || kill -s "$1" "$p" 2>/dev/null; done; }
signal TERM
i=0
while [ $i -lt 8 ]; do
  left=' '
  for p in $guarded; do if kill -0 -- "-$p" 2>/dev/null || kill -0 "$p" 2>/dev/null; then left="$left$p "; fi; done
  guarded=$left
  [ "$guarded" = ' ' ] && exit 0
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
signal KILL
`;

let watchdog: ChildProcess | undefined;
let broken = false;

function send(line: string): void {
  if (broken) return;
  if (!watchdog) {
    try {
      // `baton-lifeline` is its $0: what ps shows for it.
      watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'baton-lifeline'], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    } catch {
      broken = true; // no /bin/sh: the exit hook (process-groups.ts) still covers every exit that runs code
      return;
    }
    watchdog.on('error', () => (broken = true));
    watchdog.stdin!.on('error', () => (broken = true));
    // Neither the watchdog nor its pipe may keep baton's event loop alive.
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  }
  watchdog.stdin!.write(line);
}

/** Guard a process group (or a single process, if it leads none): it is stopped if baton dies. */
export function guard(pid: number): void {
  send(`+${pid}\n`);
}

/** The process ended on its own or was stopped by baton: stop guarding it. */
export function release(pid: number): void {
  send(`-${pid}\n`);
}

/** The watchdog's pid, for tests. */
export function watchdogPid(): number | undefined {
  return watchdog?.pid;
}
