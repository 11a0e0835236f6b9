import v8 from 'node:v8';

/** Node command-line flags that mean the user sized the heap themselves. */
const USER_HEAP_FLAGS = /--(max-semi-space-size|min-semi-space-size|semi-space-growth-factor|heap-growing-percent|optimize-for-size)\b/;

/**
 * Keeps the V8 heap of a proxy process small under load. A proxy allocates fast (headers,
 * request and response objects) and keeps little alive, yet under full-speed load V8 grows
 * the young generation to its maximum (two 16 MiB semi-spaces on Node 20, 64 MiB on
 * Node 24) and lets the old generation grow to several times what is live before a full
 * GC: about +65 MiB of RSS over idle on Node 20. Two V8 flags that are read at every GC,
 * so, unlike `--max-semi-space-size`, they work when set at run time:
 *
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial size (two
 *   1 MiB semi-spaces) instead of doubling up to the maximum;
 * - `--heap-growing-percent=30`: the next full GC is due when the old generation reaches
 *   1.3× what the last one kept (V8 picks up to 4× on a machine with a lot of memory).
 *
 * Measured in bench/ (docs/performance.md): peak RSS 125 → 72–77 MiB under full-speed
 * load, for a few percent more CPU per request. Skipped when node was started with a heap
 * sizing flag of its own (on the command line or in NODE_OPTIONS): the user's choice wins.
 *
 * It acts on import, because the young generation only ever grows: the CLI imports this
 * module first, before loading the rest grows it. It changes flags for the whole process,
 * so only the CLI imports it, never the library (index.ts).
 */
const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].join(' ');
if (!USER_HEAP_FLAGS.test(given)) {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  v8.setFlagsFromString('--heap-growing-percent=30');
}
