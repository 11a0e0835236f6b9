import type { SidePort } from '../options.js';
import type { ConfigRendering } from './preset.js';

/** KrakenD's defaults: `telemetry/metrics` listens on :8090, a Prometheus exporter of `telemetry/opentelemetry` on 9090. */
const METRICS_DEFAULT = ':8090';
const PROMETHEUS_DEFAULT = 9090;

type Json = Record<string, unknown>;

/** A side listener a KrakenD config opens, where it is in the config, and its public port. */
interface Listener {
  name: string;
  port: number;
  /** Writes the instance's private port into a parsed config. */
  write(config: Json, port: number): void;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The port of a Go listen address (`:8090`, `127.0.0.1:8090`, `[::]:8090`), if it has one. */
function addressPort(address: string): number | undefined {
  const match = /:(\d{1,5})$/.exec(address);
  return match ? Number(match[1]) : undefined;
}

/** The telemetry listeners of a parsed KrakenD config. */
function listeners(config: Json): Listener[] {
  const extra = isObject(config.extra_config) ? config.extra_config : {};
  const found: Listener[] = [];
  const metrics = extra['telemetry/metrics'];
  if (isObject(metrics)) {
    const port = addressPort(typeof metrics.listen_address === 'string' ? metrics.listen_address : METRICS_DEFAULT);
    if (port !== undefined && port > 0) {
      found.push({ name: 'metrics', port, write: (c, p) => (((c.extra_config as Json)['telemetry/metrics'] as Json).listen_address = `127.0.0.1:${p}`) });
    }
  }
  const otel = extra['telemetry/opentelemetry'];
  const exporters = isObject(otel) && isObject(otel.exporters) ? otel.exporters.prometheus : undefined;
  if (Array.isArray(exporters)) {
    exporters.forEach((exporter: unknown, i) => {
      if (!isObject(exporter)) return;
      const port = typeof exporter.port === 'number' ? exporter.port : PROMETHEUS_DEFAULT;
      found.push({
        name: i === 0 ? 'prometheus' : `prometheus_${i + 1}`,
        port,
        write: (c, p) => {
          const target = ((((c.extra_config as Json)['telemetry/opentelemetry'] as Json).exporters as Json).prometheus as Json[])[i]!;
          target.port = p;
          target.listen_ip = '127.0.0.1';
        },
      });
    });
  }
  return found;
}

/**
 * The side ports a plain JSON KrakenD config opens (`telemetry/metrics`, the Prometheus
 * exporters of `telemetry/opentelemetry`), and the rendering that gives each instance its
 * own: the same config with private ports on 127.0.0.1 written in. Undefined when the
 * config opens none, or is not plain JSON (a template, YAML).
 */
export function krakendTelemetry(text: string, file: string): { sidePorts: SidePort[]; rendering: ConfigRendering } | undefined {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(config)) return undefined;
  const found = listeners(config);
  if (found.length === 0) return undefined;
  return {
    sidePorts: found.map(({ name, port }) => ({ name, port })),
    rendering: {
      file,
      render(current, ports) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(current);
        } catch {
          return current; // broken: KrakenD (and the check) say what is wrong with it
        }
        if (!isObject(parsed)) return current;
        for (const listener of listeners(parsed)) {
          const port = ports[listener.name];
          if (port !== undefined) listener.write(parsed, port);
        }
        return `${JSON.stringify(parsed, null, 2)}\n`;
      },
    },
  };
}

/**
 * A KrakenD config's `tls` block (`keys[]`, or the older `public_key`/`private_key`),
 * unless `disabled`: the gateway port listens in TLS only, and its first certificate is
 * the one clients know, so baton serves it on the public port too.
 */
export function krakendTls(text: string): { cert: string; key: string } | undefined {
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch {
    return undefined;
  }
  const block = isObject(config) ? config.tls : undefined;
  if (!isObject(block) || block.disabled === true) return undefined;
  const first = Array.isArray(block.keys) ? (block.keys[0] as unknown) : block;
  if (!isObject(first) || typeof first.public_key !== 'string' || typeof first.private_key !== 'string') return undefined;
  return { cert: first.public_key, key: first.private_key };
}
