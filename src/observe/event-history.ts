import type { BatonEvent } from '../events.js';

/** An event as the control plane sends it: with an id (for SSE's Last-Event-ID) and a time. */
export interface NumberedEvent {
  id: number;
  time: string;
  event: BatonEvent;
}

/** The most recent events, numbered from 1, for the event stream to replay from. */
export class EventHistory {
  readonly #events: NumberedEvent[] = [];
  readonly #limit: number;
  #nextId = 1;

  constructor(limit = 2000) {
    this.#limit = limit;
  }

  readonly #listeners = new Set<(e: NumberedEvent) => void>();

  /** Calls `listener` with each event from now on; returns how to stop. */
  subscribe(listener: (e: NumberedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  add(event: BatonEvent): NumberedEvent {
    const numbered = { id: this.#nextId++, time: new Date().toISOString(), event };
    this.#events.push(numbered);
    for (const listener of this.#listeners) listener(numbered);
    if (this.#events.length > this.#limit) this.#events.splice(0, this.#events.length - this.#limit);
    return numbered;
  }

  /** Events after `id` (all kept, without one), oldest first. */
  since(id = 0): NumberedEvent[] {
    return this.#events.filter((e) => e.id > id);
  }
}
