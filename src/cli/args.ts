import { Command, CommanderError, Option } from 'commander';
import { usageError } from '../errors.js';
import { CONFIG_FILE_NAME, loadConfigFile, type ConfigValues } from './config-file.js';
import { DEFAULTS, parseWholeNumber, type BatonOptions, type SidePort } from '../options.js';
import { PRESET_CHOICES, PRESET_SUMMARY } from '../presets/index.js';
import { GATEWAY_OUTPUT_CHOICES, type GatewayOutput } from './reporter.js';

export interface CliArgs {
  options: BatonOptions;
  /** Colour human lines: a terminal, no --no-color, no NO_COLOR. */
  color: boolean;
  gatewayOutput: GatewayOutput;
  /** The control plane to start: where, and with what token; undefined with --admin off. */
  admin: { host?: string; port?: number; fixed?: boolean; token?: string } | undefined;
  json: boolean;
  quiet: boolean;
  /** The config file read, if any, and the values it gave (followed while baton runs). */
  configFile?: { file: string; values: ConfigValues };
  /** Keys set on the command line (a command after `--` is `command`): they win over the file. */
  flagKeys: string[];
}

/** What the CLI should do: run baton, or print text (help, version) and exit 0. */
export type CliRequest = { kind: 'run'; args: CliArgs } | { kind: 'print'; text: string };

/** Repeatable flags. No commander default: it would print `(default: [])` in the help. */
const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** The flag table. Its help output is the reference the docs are checked against. */
export function buildProgram(version: string): Command {
  return new Command('baton')
    .usage('[options] -- <gateway command...>')
    .description('Zero-drop blue/green reloads for API gateways: holds the public port, restarts the gateway on a private one at every change, switches traffic once the new instance is healthy.')
    .version(version, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show this help')
    .option('-p, --port <n>', 'public port baton holds', String(DEFAULTS.port))
    .option('--host <addr>', 'address to bind', DEFAULTS.host)
    .option('--side-port <port:name>', "another public port to hold, forwarded to each instance's own port of that name ({port:name} in the command, $BATON_PORT_NAME); repeatable, e.g. 9090:metrics", collect)
    .option('-w, --watch <path>', 'file or folder to watch; repeatable (default: the config file named in the command with -c/--config/--config=FILE, else the current folder)', collect)
    .option('--ignore <pattern>', 'paths to ignore; repeatable (editor temp files, .git and node_modules are always ignored)', collect)
    .option('--health <path>', 'HTTP path polled on a new instance; ready = any status < 500', DEFAULTS.health)
    .option('--check <command>', 'must exit 0 before a new instance serves; runs while the instance starts')
    .option('--ready-timeout <ms>', 'how long a new instance may take to become healthy', String(DEFAULTS.readyTimeout))
    .option('--drain-timeout <ms>', 'how long the old instance may finish in-flight work', String(DEFAULTS.drainTimeout))
    .option('--stop-timeout <ms>', 'SIGTERM to SIGKILL grace for a stopping instance', String(DEFAULTS.stopTimeout))
    .option('--debounce <ms>', 'quiet time after a change before reloading', String(DEFAULTS.debounce))
    .option('--record <MiB>', 'memory for the request inspector (recent requests with heads and the start of each body); 0 turns it off', String(DEFAULTS.record))
    .option('--record-body <KiB>', 'how much of each request and response body the inspector keeps', String(DEFAULTS.recordBody))
    .option('--admin <port>', 'the control plane (API and dashboard): a port, host:port (off loopback it needs a token), or off (default: 127.0.0.1:8081, a free port when that is taken)')
    .option('--admin-token <token>', 'a token the control plane requires (default: none on loopback, a random one elsewhere; also BATON_ADMIN_TOKEN)')
    .option('--preview <port>', 'a public port that reaches the candidate waiting for promotion (else the serving generation); the baton-generation: <n> header reaches any live one')
    .addOption(new Option('--promote <mode>', 'auto: a healthy candidate is promoted at once; manual: it waits for p, POST /api/promote or the dashboard').choices(['auto', 'manual']).default('auto'))
    .option('--keep-previous <ms>', 'how long the previous generation stays alive after a promotion, for an instant rollback (b, POST /api/rollback)', String(DEFAULTS.keepPrevious))
    .addOption(new Option('--verify <mode>', 'replay recent safe requests to the candidate and twice to the serving generation before promotion: report the differences, or gate (reject on a changed status class)').choices(['off', 'report', 'gate']).default('off'))
    .option('--verify-requests <n>', 'at most this many requests replayed by --verify', '50')
    .option('--verify-methods <list>', 'methods --verify and --mirror copy (GET, HEAD, OPTIONS; never with a body)', 'GET,HEAD')
    .option('--verify-headers <list>', 'response fields compared besides status and body', 'content-type')
    .addOption(new Option('--verify-gate <rule>', 'what makes --verify gate (and --mirror with it) reject: a status class change, an answer turned 5xx, or any difference').choices(['class', '5xx', 'any']).default('class'))
    .option('--mirror <ms>', 'for this long before promotion, copies of live safe requests also go to the candidate (fire-and-forget) and are compared')
    .option('--canary <steps>', 'canary steps before promotion, percent of new requests: e.g. 10,50; each is analysed against the serving generation, a failure rolls back')
    .option('--canary-interval <ms>', 'how long each canary step (and each --guard check) is analysed', '10000')
    .option('--canary-success <percent>', 'the least share of non-5xx answers a candidate may give', '99')
    .option('--canary-p99-factor <x>', "the candidate's p99 may be at most the baseline's p99 times this, or --canary-p99-floor, whichever is more", '1.5')
    .option('--canary-p99-floor <ms>', 'see --canary-p99-factor', '50')
    .addOption(new Option('--guard <mode>', 'during --keep-previous, analyse the new generation against the previous one and roll back by itself on a failure (default: on with --canary)').choices(['on', 'off']))
    .option('--preset <name>', `gateway preset: ${PRESET_CHOICES.join(', ').replace(/, (?=[^,]*$)/, ' or ')} (auto detects it from the command)`, 'auto')
    .option('--config <file>', `baton config file (default: ${CONFIG_FILE_NAME} in the working folder, if there is one)`)
    .option('--tls-cert <file>', 'serve HTTPS and HTTP/2 on the public port with this certificate (PEM), with --tls-key (default: the gateway\'s own when a preset finds one)')
    .option('--tls-key <file>', 'the private key (PEM) of --tls-cert')
    .addOption(new Option('--tls <mode>', 'self-signed: serve HTTPS with a certificate for localhost made under .baton/tls/; off: plain HTTP even when a preset found the gateway\'s certificate').choices(['self-signed', 'off']))
    .addOption(new Option('--upstream-tls', 'the gateway listens in TLS on its private port: probe and proxy in TLS from the first instance (without it baton finds out from the first probe)'))
    .option('--upstream-ca <file>', "PEM file of the CA the gateway's certificate must chain to (default: not verified, the gateway is on loopback)")
    .addOption(new Option('--no-fast-path', "baton's own fast HTTP/1.1 reader for plain requests; turned off, every request goes through node:http (slower: a fallback if you suspect the reader)"))
    .addOption(new Option('--no-gitignore', 'inside watched folders, leave out what .gitignore files ignore (turned off, only --ignore and the built-in rules apply)'))
    .addOption(new Option('--poll', 'poll files for changes instead of waiting for file-system events (bind mounts, network folders)'))
    .addOption(new Option('--gateway-output <what>', "the gateway's own lines: all (dimmed, each after [gen N]), errors (stderr and lines saying error, fatal, panic or warn) or none").choices([...GATEWAY_OUTPUT_CHOICES]).default('all'))
    .addOption(new Option('--no-color', 'no colours, even on a terminal (NO_COLOR does the same)'))
    .addOption(new Option('--json', 'one JSON object per line instead of human output'))
    .addOption(new Option('-q, --quiet', 'only errors'))
    .addHelpText(
      'after',
      `
The gateway command may contain {port}, replaced by the instance's private port.
The gateway always gets PORT, BATON_PORT and BATON_GENERATION in its environment.
Keys while running in a terminal: r reloads; p promotes, a aborts, b rolls back (docs/experiments.md). Signals: SIGHUP reloads; SIGINT/SIGTERM
shut down gracefully, a second one stops at once.
Exit codes: 0 clean shutdown, 1 fatal runtime error, 2 usage error.

Commands (each has --help):
  baton compare --a <config> --b <config> -- <gateway command with {config}>
  baton bench reload [baton flags] -- <gateway command>
  baton status | baton reload | baton requests [--follow]   (a running baton, through its control plane)
  baton promote | baton abort | baton rollback              (its experiments' decisions: p, a, b)

${presetHelp()}

Examples:
  baton -- caddy run --config Caddyfile --adapter caddyfile
  baton -- krakend run -c krakend.json          (the krakend preset adds -p {port}, /__health, krakend check)`,
    );
}

/** The presets section of the help: exactly what each preset sets. */
export function presetHelp(): string {
  const lines = ['Presets (what you set with flags or the config file always wins):'];
  for (const [name, items] of Object.entries(PRESET_SUMMARY)) {
    lines.push(`  ${name}`, ...items.map((item) => `    - ${item}`));
  }
  return lines.join('\n');
}

/** Parses argv (without node and script) into options, or throws a BatonError (E_USAGE). */
export function parseCliArgs(argv: readonly string[], version: string, cwd = process.cwd()): CliRequest {
  const split = argv.indexOf('--');
  const own = split === -1 ? [...argv] : argv.slice(0, split);
  const command = split === -1 ? [] : argv.slice(split + 1);
  let printed = '';
  const program = buildProgram(version)
    .exitOverride()
    .configureOutput({ writeOut: (text) => (printed += text), writeErr: () => {} });
  try {
    program.parse(own, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return { kind: 'print', text: printed };
      throw commanderToUsage(err);
    }
    throw err;
  }
  const flags = givenFlags(program);
  const fromFile = loadConfigFile(flags.config as string | undefined, cwd);
  // Flags win over the file; a command after -- wins over the file's.
  const values: ConfigValues = { ...fromFile?.values, ...flags };
  const gateway = command.length > 0 ? command : ((values.command as string[] | undefined) ?? []);
  if (gateway.length === 0) {
    const where = fromFile ? ` (nor a "command" in ${fromFile.file})` : '';
    throw usageError(`${split === -1 ? 'no gateway command given' : 'no gateway command after --'}${where}`, 'put the command after --, e.g. baton -- caddy run --config Caddyfile');
  }
  return {
    kind: 'run',
    args: {
      color: values.color !== false && !process.env.NO_COLOR && process.stdout.isTTY === true && values.json !== true,
      gatewayOutput: (values.gatewayOutput as GatewayOutput | undefined) ?? 'all',
      admin: parseAdmin(values.admin as string | undefined, (values.adminToken as string | undefined) ?? process.env.BATON_ADMIN_TOKEN),
      json: values.json === true,
      quiet: values.quiet === true,
      ...(fromFile ? { configFile: fromFile } : {}),
      flagKeys: [...Object.keys(flags), ...(command.length > 0 ? ['command'] : [])],
      options: {
        command: gateway,
        ...pick(values, ['host', 'health', 'check', 'preset', 'upstreamCa', 'tlsCert', 'tlsKey', 'tls'], 'string'),
        ...pick(values, ['watch', 'ignore'], 'array'),
        ...pick(values, ['port', 'readyTimeout', 'drainTimeout', 'stopTimeout', 'debounce', 'record', 'recordBody'], 'number'),
        ...pick(values, ['poll', 'fastPath', 'gitignore', 'upstreamTls'], 'boolean'),
        ...(Array.isArray(values.sidePort) ? { sidePorts: (values.sidePort as string[]).map(parseSidePort) } : {}),
        ...withExperiments(experiments(values)),
      } as BatonOptions,
    },
  };
}

/** `{ experiments }` when any was given. */
const withExperiments = (e: NonNullable<BatonOptions['experiments']>): Partial<BatonOptions> => (Object.keys(e).length > 0 ? { experiments: e } : {});

/** The experiment flags and keys (docs/experiments.md), lists split. */
function experiments(values: ConfigValues): NonNullable<BatonOptions['experiments']> {
  const list = (key: string): string[] | undefined => (typeof values[key] === 'string' ? (values[key] as string).split(',').map((v) => v.trim()).filter(Boolean) : undefined);
  const out: NonNullable<BatonOptions['experiments']> = {
    ...(pick(values, ['promote', 'verify', 'verifyGate'], 'string') as object),
    ...(pick(values, ['preview', 'keepPrevious', 'verifyRequests', 'mirror', 'canaryInterval', 'canarySuccess', 'canaryP99Factor', 'canaryP99Floor'], 'number') as object),
  };
  if (values.guard === 'on' || values.guard === 'off') out.guard = values.guard === 'on';
  const methods = list('verifyMethods');
  const headers = list('verifyHeaders');
  const canary = list('canary');
  return {
    ...out,
    ...(methods ? { verifyMethods: methods } : {}),
    ...(headers ? { verifyHeaders: headers } : {}),
    ...(canary ? { canary: canary.map((step) => parseDecimal('--canary', step, '10,50')) } : {}),
  };
}

/** `--side-port <public port>:<name>`. */
export function parseSidePort(value: string): SidePort {
  const match = /^(\d{1,5}):(.+)$/.exec(value.trim());
  if (!match) throw usageError(`--side-port must be <public port>:<name>, got "${value}"`, 'e.g. --side-port 9090:metrics (then {port:metrics} in the command)');
  return { port: Number(match[1]), name: match[2]! };
}

/** `--admin`: `off`, a port, or `host:port` (an IPv6 host in brackets). */
export function parseAdmin(value: string | undefined, token: string | undefined): CliArgs['admin'] {
  const withToken = token ? { token } : {};
  if (value === undefined) return { ...withToken };
  if (value === 'off') return undefined;
  const match = /^(?:(\[[^\]]+\]|[^:]+):)?(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) throw usageError(`--admin must be a port, host:port or off, got "${value}"`, 'e.g. --admin 8081, --admin 0.0.0.0:8081, --admin off');
  const host = match[1]?.replace(/^\[|\]$/g, '');
  return { ...(host ? { host } : {}), port: Number(match[2]), fixed: true, ...withToken };
}

/** Long flag names by attribute, for error messages (`readyTimeout` → `--ready-timeout`). */
const NUMERIC_FLAGS: Record<string, [flag: string, example: string]> = {
  port: ['--port', '8080'],
  readyTimeout: ['--ready-timeout', '30000'],
  drainTimeout: ['--drain-timeout', '30000'],
  stopTimeout: ['--stop-timeout', '5000'],
  debounce: ['--debounce', '50'],
  record: ['--record', '8'],
  recordBody: ['--record-body', '16'],
  preview: ['--preview', '8079'],
  keepPrevious: ['--keep-previous', '30000'],
  verifyRequests: ['--verify-requests', '50'],
  mirror: ['--mirror', '5000'],
  canaryInterval: ['--canary-interval', '10000'],
  canaryP99Floor: ['--canary-p99-floor', '50'],
};

/** Flags that take a decimal number. */
const DECIMAL_FLAGS: Record<string, [flag: string, example: string]> = {
  canarySuccess: ['--canary-success', '99.5'],
  canaryP99Factor: ['--canary-p99-factor', '1.5'],
};

/** A decimal number, with an error that names the flag. */
function parseDecimal(flag: string, value: string, example: string): number {
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw usageError(`${flag} must be a number, got "${value}"`, `e.g. ${flag} ${example}`);
  return Number(value);
}

/** Only the flags the user typed (commander's defaults are for the help text), numbers parsed. */
function givenFlags(program: Command): ConfigValues {
  const given: ConfigValues = {};
  for (const [key, value] of Object.entries(program.opts<Record<string, string | string[] | boolean>>())) {
    if (program.getOptionValueSource(key) !== 'cli') continue;
    const numeric = NUMERIC_FLAGS[key];
    const decimal = DECIMAL_FLAGS[key];
    given[key] = numeric && typeof value === 'string' ? parseWholeNumber(numeric[0], value, numeric[1]) : decimal && typeof value === 'string' ? parseDecimal(decimal[0], value, decimal[1]) : value;
  }
  return given;
}

function pick(values: ConfigValues, keys: readonly string[], kind: 'string' | 'number' | 'boolean' | 'array'): Partial<BatonOptions> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    const value = values[key];
    if (value === undefined) continue;
    if (kind === 'array' ? Array.isArray(value) : typeof value === kind) out[key] = value;
  }
  return out as Partial<BatonOptions>;
}

function commanderToUsage(err: CommanderError) {
  // Commander may add "(Did you mean --x?)" on a second line: fold it into the hint.
  const [first = '', ...rest] = err.message.split('\n');
  const message = first.replace(/^error: /, '').replace(/\.$/, '');
  const suggestion = /Did you mean (.+)\?/.exec(rest.join(' '))?.[1];
  if (suggestion) return usageError(message, `did you mean ${suggestion}? Run baton --help for the list of options`);
  if (err.code === 'commander.excessArguments') {
    return usageError('unexpected arguments before --', 'put the gateway command after --, e.g. baton -p 8080 -- caddy run');
  }
  if (err.code === 'commander.unknownOption') return usageError(message, 'run baton --help for the list of options; gateway flags go after --');
  return usageError(message, 'run baton --help for usage');
}
