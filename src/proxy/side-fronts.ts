import type { SidePort } from '../options.js';
import { GenerationStats } from '../observe/generation-stats.js';
import { RequestRing } from '../observe/request-ring.js';
import { FrontServer, type CutCounts } from './front-server.js';
import { Generation } from './generation.js';
import { SideRouter, type Router } from './router.js';

/** One side port as bound: its name, public port and URL. */
export interface BoundSide {
  name: string;
  port: number;
  url: string;
}

/**
 * The public side ports (`--side-port`, or found by a preset): one front server each,
 * with the same strict edge and both data paths as the main port, routed through a
 * `SideRouter`, so each follows the serving generation exactly when the main port does.
 * An instance's side ports are generations of their own (`Generation.sides`), drained
 * and cut with it. Their traffic is counted on those side generations, never mixed into
 * the main port's numbers, and the request inspector does not keep it (metrics scrapes
 * would push out the requests a developer looks for).
 */
export class SideFronts {
  readonly #fronts: Array<{ side: SidePort; front: FrontServer }>;

  constructor(sides: readonly SidePort[], options: { host: string; router: Router; fastPath: boolean }) {
    this.#fronts = sides.map((side) => ({
      side,
      front: new FrontServer({
        host: options.host,
        port: side.port,
        router: new SideRouter(options.router, side.name),
        fastPath: options.fastPath,
        observer: { ring: new RequestRing(0, 0), unrouted: new GenerationStats() },
        portFlag: `--side-port ${side.port}:${side.name}`,
      }),
    }));
  }

  get names(): string[] {
    return this.#fronts.map((f) => f.side.name);
  }

  /** Binds every side port; on a failure, what was bound is closed again. */
  async listen(): Promise<BoundSide[]> {
    const bound: BoundSide[] = [];
    try {
      for (const { side, front } of this.#fronts) bound.push({ name: side.name, ...(await front.listen()) });
    } catch (err) {
      await this.destroy();
      throw err;
    }
    return bound;
  }

  /** Gives `gen` its side generations, on the instance's private side ports. */
  attach(gen: Generation, ports: Readonly<Record<string, number>>): void {
    for (const { side } of this.#fronts) {
      const port = ports[side.name];
      if (port !== undefined) gen.sides.set(side.name, new Generation(gen.id, port));
    }
  }

  /** True when `gen`'s side ports have nothing in flight, false when `ms` passed first. */
  async whenIdle(gen: Generation, ms: number): Promise<boolean> {
    const idle = await Promise.all([...gen.sides.values()].map((side) => side.whenIdle(ms)));
    return idle.every(Boolean);
  }

  /** What is in flight on `gen`'s side ports, ended as `FrontServer.cut` ends it. */
  cut(gen: Generation, counts: CutCounts): CutCounts {
    for (const { side, front } of this.#fronts) {
      const sideGen = gen.sides.get(side.name);
      if (!sideGen) continue;
      const more = front.cut(sideGen);
      counts.streams += more.streams;
      counts.requests += more.requests;
      counts.websockets += more.websockets;
    }
    return counts;
  }

  close(): Promise<void> {
    return Promise.all(this.#fronts.map(({ front }) => front.close())).then(() => undefined);
  }

  destroy(): Promise<void> {
    return Promise.all(this.#fronts.map(({ front }) => front.destroy())).then(() => undefined);
  }
}
