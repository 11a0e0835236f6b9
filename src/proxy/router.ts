import { Generation } from './generation.js';

/** Why a request could not be given an instance; becomes a 503 body. */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
}

/** Where a front server gets the generation for a new request: the router, or a side port's view of it. */
export interface RouteSource {
  /**
   * The generation for a new request: synchronous on the hot path, a promise while held.
   * `pin` (a request's `baton-generation`) asks for one live generation by number.
   */
  route(pin?: number): Generation | Promise<Generation>;
  /** The generation new requests go to now, if any. */
  readonly current: Generation | undefined;
}

interface Waiter {
  resolve: (gen: Generation) => void;
  reject: (err: UnavailableError) => void;
  timer: NodeJS.Timeout;
}

/**
 * Decides which generation a new request goes to. Exactly one generation serves at a
 * time; `promote` switches atomically, so every request routed after it goes to the
 * new one while requests already routed stay where they are. With nothing serving,
 * requests are held (up to `holdTimeoutMs`) or, when baton knows nothing is coming,
 * refused at once with the reason.
 */
export class Router implements RouteSource {
  #current: Generation | undefined;
  /** Set when nothing is serving and nothing is starting: requests fail fast with this. */
  #down: string | undefined;
  /** What held requests are waiting for, for the message if they time out. */
  #waitingFor = 'the first gateway instance to start';
  readonly #waiters = new Set<Waiter>();
  /** Every generation a request may be pinned to: the serving one, a candidate waiting, the previous one kept warm. */
  readonly #live = new Map<number, Generation>();
  /** A canary step: this share (0..1) of new requests goes to `#canary` instead. */
  #canary: Generation | undefined;
  #weight = 0;
  /** The candidate waiting for promotion, for the preview port. */
  #preview: Generation | undefined;
  /** How long a request is held while nothing serves (`--ready-timeout`); changes apply to requests held after. */
  holdTimeoutMs: number;

  constructor(holdTimeoutMs: number) {
    this.holdTimeoutMs = holdTimeoutMs;
  }

  get current(): Generation | undefined {
    return this.#current;
  }

  /** Why requests are refused, while they are. */
  get down(): string | undefined {
    return this.#down;
  }

  /** The generation for a new request: synchronous on the hot path, a promise while held. */
  route(pin?: number): Generation | Promise<Generation> {
    if (pin !== undefined) return this.#pinned(pin);
    // One comparison when no canary runs; with one, a coin per request (no stickiness: see docs/experiments.md).
    if (this.#canary !== undefined && Math.random() < this.#weight) return this.#canary;
    if (this.#current) return this.#current;
    if (this.#down !== undefined) return Promise.reject(new UnavailableError(this.#down));
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(new UnavailableError(`no gateway instance became healthy within ${this.holdTimeoutMs} ms while waiting for ${this.#waitingFor}`));
        }, this.holdTimeoutMs),
      };
      this.#waiters.add(waiter);
    });
  }

  /** Generations a request may be pinned to, newest first. */
  get live(): Generation[] {
    return [...this.#live.values()].sort((a, b) => b.id - a.id);
  }

  /** The candidate waiting for promotion, if any. */
  get preview(): Generation | undefined {
    return this.#preview;
  }

  /** The canary and its share of new requests, while a canary step runs. */
  get canary(): { gen: Generation; weight: number } | undefined {
    return this.#canary && { gen: this.#canary, weight: this.#weight };
  }

  /** `gen` may be reached by pinning (`baton-generation`), and is the preview port's while it waits. */
  addPreview(gen: Generation): void {
    this.#live.set(gen.id, gen);
    this.#preview = gen;
  }

  /** `gen` takes this share (0..1) of new requests beside the serving one; 0 ends the canary. */
  setCanary(gen: Generation | undefined, weight: number): void {
    this.#canary = weight > 0 ? gen : undefined;
    this.#weight = weight > 0 ? weight : 0;
  }

  /** `gen` can no longer be reached at all (stopped, abandoned, rolled back and drained). */
  forget(gen: Generation): void {
    if (this.#live.get(gen.id) === gen) this.#live.delete(gen.id);
    if (this.#preview === gen) this.#preview = undefined;
    if (this.#canary === gen) this.setCanary(undefined, 0);
  }

  #pinned(pin: number): Generation | Promise<Generation> {
    const gen = this.#live.get(pin);
    if (gen) return gen;
    const live = this.live.map((g) => g.id);
    return Promise.reject(new UnavailableError(`generation ${pin} is not live (baton-generation names one of: ${live.length > 0 ? live.join(', ') : 'none yet'})`));
  }

  /** Switches new traffic to `gen` and releases held requests to it. */
  promote(gen: Generation): void {
    this.#live.set(gen.id, gen);
    if (this.#preview === gen) this.#preview = undefined;
    if (this.#canary === gen) this.setCanary(undefined, 0);
    this.#current = gen;
    this.#down = undefined;
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(gen);
    }
    this.#waiters.clear();
  }

  /** Nothing serves, but something is on its way: hold new requests. */
  hold(waitingFor: string): void {
    this.#current = undefined;
    this.#down = undefined;
    this.#waitingFor = waitingFor;
  }

  /** Nothing serves and nothing is coming: refuse held and new requests with `reason`. */
  refuse(reason: string): void {
    this.#current = undefined;
    this.#down = reason;
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(new UnavailableError(reason));
    }
    this.#waiters.clear();
  }
}

/**
 * A side port's view of the router: the same decision, answered with the chosen
 * generation's side of that name. A side port therefore switches, holds and refuses
 * exactly when the main port does, with nothing for the orchestrator to keep in step.
 */
export class SideRouter implements RouteSource {
  readonly #main: Router;
  readonly #name: string;

  constructor(main: Router, name: string) {
    this.#main = main;
    this.#name = name;
  }

  get current(): Generation | undefined {
    return this.#main.current?.sides.get(this.#name);
  }

  route(pin?: number): Generation | Promise<Generation> {
    const routed = this.#main.route(pin);
    if (routed instanceof Generation) return this.#side(routed) ?? Promise.reject(this.#missing(routed));
    return routed.then((gen) => this.#side(gen) ?? Promise.reject(this.#missing(gen)));
  }

  #side(gen: Generation): Generation | undefined {
    return gen.sides.get(this.#name);
  }

  #missing(gen: Generation): UnavailableError {
    return new UnavailableError(`generation ${gen.id} has no side port ${this.#name}`);
  }
}

/**
 * The preview port's view of the router (`--preview`): the candidate waiting for
 * promotion when there is one, else what the public port gets. A `baton-generation`
 * pin works here too.
 */
export class PreviewRouter implements RouteSource {
  readonly #main: Router;

  constructor(main: Router) {
    this.#main = main;
  }

  get current(): Generation | undefined {
    return this.#main.preview ?? this.#main.current;
  }

  route(pin?: number): Generation | Promise<Generation> {
    if (pin !== undefined) return this.#main.route(pin);
    return this.#main.preview ?? this.#main.route();
  }
}
