/**
 * Every error baton reports to a person carries a stable `code` (branch on it,
 * never on the message) and a `hint` that says what to do about it.
 * The CLI prints `baton: <message> — <hint>` on one line.
 */
export type BatonErrorCode =
  /** Bad flags or arguments. Exit code 2. */
  | 'E_USAGE'
  /** The public port is taken by another process. Exit code 1. */
  | 'E_PORT_IN_USE'
  /** A `--watch` path does not exist. Exit code 2. */
  | 'E_WATCH_PATH'
  /** The gateway program is not on PATH / not a file. Exit code 2. */
  | 'E_GATEWAY_NOT_FOUND'
  /** The `--check` program is not on PATH / not a file. Exit code 2. */
  | 'E_CHECK_NOT_FOUND'
  /** The gateway or `--check` program is a file without execute permission. Exit code 2. */
  | 'E_NOT_EXECUTABLE'
  /** The config file the gateway command names (`-c FILE`, `--config FILE`) does not exist. Exit code 2. */
  | 'E_GATEWAY_CONFIG'
  /** The config file is missing (when named), not JSON, or does not match the schema. Exit code 2. */
  | 'E_CONFIG_FILE'
  /** Binding the public address failed for another reason. Exit code 1. */
  | 'E_LISTEN'
  /** A gateway that `baton compare` or `baton bench reload` started never answered (its output follows). Exit code 1. */
  | 'E_GATEWAY_START';

/** Every code, for docs and tools; the compiler checks it matches the union. */
export const ERROR_CODES = ['E_USAGE', 'E_PORT_IN_USE', 'E_WATCH_PATH', 'E_GATEWAY_NOT_FOUND', 'E_CHECK_NOT_FOUND', 'E_NOT_EXECUTABLE', 'E_GATEWAY_CONFIG', 'E_CONFIG_FILE', 'E_LISTEN', 'E_GATEWAY_START'] as const satisfies readonly BatonErrorCode[];
type MissingCode = Exclude<BatonErrorCode, (typeof ERROR_CODES)[number]>;
/** Fails to compile when a code is added to the union but not to ERROR_CODES. */
export const ERROR_CODES_COMPLETE: MissingCode extends never ? true : MissingCode = true;

const USAGE_CODES: ReadonlySet<BatonErrorCode> = new Set([
  'E_USAGE',
  'E_WATCH_PATH',
  'E_GATEWAY_NOT_FOUND',
  'E_CHECK_NOT_FOUND',
  'E_NOT_EXECUTABLE',
  'E_GATEWAY_CONFIG',
  'E_CONFIG_FILE',
]);

export class BatonError extends Error {
  override name = 'BatonError';
  readonly code: BatonErrorCode;
  /** What the user can do about it; printed after the message. */
  readonly hint: string;

  constructor(code: BatonErrorCode, message: string, hint: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.hint = hint;
  }

  /** True when the error is the user's input rather than the runtime: exit code 2. */
  get isUsageError(): boolean {
    return USAGE_CODES.has(this.code);
  }

  /** The exit code the CLI uses for this error. */
  get exitCode(): 1 | 2 {
    return this.isUsageError ? 2 : 1;
  }

  /** `message — hint`, the one line the CLI prints. */
  toLine(): string {
    return this.hint ? `${this.message} — ${this.hint}` : this.message;
  }
}

export function usageError(message: string, hint: string): BatonError {
  return new BatonError('E_USAGE', message, hint);
}
