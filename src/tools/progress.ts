/**
 * A one-line progress bar on a terminal (stderr by default), redrawn in place; nothing
 * when the stream is not a TTY, so logs and pipes stay clean.
 */
export class Progress {
  readonly #stream: NodeJS.WriteStream;
  readonly #total: number;
  #drawn = false;

  constructor(total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.#total = Math.max(1, total);
    this.#stream = stream;
  }

  get active(): boolean {
    return this.#stream.isTTY === true && process.env.TERM !== 'dumb';
  }

  /** `done` of the total steps, and what is happening now. */
  update(done: number, detail: string): void {
    if (!this.active) return;
    const width = 24;
    const filled = Math.round((Math.min(done, this.#total) / this.#total) * width);
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
    const columns = this.#stream.columns ?? 80;
    this.#stream.write(`\r${`${bar} ${done}/${this.#total}  ${detail}`.slice(0, columns - 1)}\x1b[K`);
    this.#drawn = true;
  }

  /** Clears the line, so what is printed next starts clean. */
  clear(): void {
    if (this.#drawn) this.#stream.write('\r\x1b[K');
    this.#drawn = false;
  }
}
