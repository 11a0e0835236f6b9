import { Generation } from './generation.js';

/** Why a request could not be given an instance; becomes a 503 body. */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
}

/** Where a front server gets the generation for a new request: the router, or a side port's view of it. */
export interface RouteSource {
  /** The generation for a new request: synchronous on the hot path, a promise while held. */
  route(): Generation | Promise<Generation>;
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
  route(): Generation | Promise<Generation> {
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

  /** Switches new traffic to `gen` and releases held requests to it. */
  promote(gen: Generation): void {
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

  route(): Generation | Promise<Generation> {
    const routed = this.#main.route();
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
