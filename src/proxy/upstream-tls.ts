import net from 'node:net';
import type tls from 'node:tls';

/**
 * How baton talks TLS to a gateway instance that listens in TLS on its private port. The
 * certificate is not verified unless a CA is given (`--upstream-ca`): the instance is on
 * loopback, started by baton, and a development certificate (Caddy's internal CA, a
 * self-signed one) would fail verification for reasons that protect nothing here.
 */
export interface UpstreamTls {
  /** The CA that must have signed the instance's certificate; verification is on only with one. */
  readonly ca: Buffer | undefined;
}

/**
 * The SNI for a request with this `Host` (RFC 6066 §3: a DNS name, never an address),
 * so a gateway that picks its certificate by name (Caddy) picks the one the client
 * asked for. Without a name, `localhost`.
 */
export function sniFor(host: string | undefined): string {
  if (!host) return 'localhost';
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, '');
  return name === '' || net.isIP(name) !== 0 ? 'localhost' : name.toLowerCase();
}

/** Connection options for one TLS connection to an instance, for a request with this `Host`. */
export function tlsConnectOptions(upstream: UpstreamTls, host: string | undefined): tls.ConnectionOptions {
  return { servername: sniFor(host), rejectUnauthorized: upstream.ca !== undefined, ...(upstream.ca ? { ca: upstream.ca } : {}), ALPNProtocols: ['http/1.1'] };
}
