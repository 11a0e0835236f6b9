import { X509Certificate } from 'node:crypto';
import { lazy } from '../lazy-builtins.js';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { usageError } from '../errors.js';

/** The certificate and key the public port serves, and where they came from (for the start line). */
export interface PublicCertificate {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The certificate's file, as the user would name it. */
  readonly certFile: string;
  readonly from: 'flags' | 'preset' | 'self-signed';
}

/** Checks a certificate and its key belong together; a usage error names both files otherwise. */
export function checkPair(cert: Buffer, key: Buffer, certFile: string, keyFile: string, flags: string): void {
  try {
    lazy.tls.createSecureContext({ cert, key });
  } catch (err) {
    throw usageError(`${certFile} and ${keyFile} are not a certificate and its key (${(err as Error).message})`, `give the key that belongs to the certificate in ${flags}`);
  }
}

/** Renewed when less than this is left. */
const RENEW_MS = 7 * 24 * 3600 * 1000;

/**
 * `--tls self-signed`: a certificate for localhost, 127.0.0.1 and ::1, made once into
 * `.baton/tls/` of the working folder (which the watcher and git leave alone) and reused
 * while it is valid for more than a week, so a browser or curl told to trust it keeps
 * trusting it. Written through temporary files renamed into place.
 */
export async function selfSigned(cwd: string): Promise<PublicCertificate> {
  const folder = path.join(cwd, '.baton', 'tls');
  const certFile = path.join(folder, 'localhost.pem');
  const keyFile = path.join(folder, 'localhost-key.pem');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile);
    const key = readFileSync(keyFile);
    try {
      const validTo = Date.parse(new X509Certificate(cert).validTo);
      lazy.tls.createSecureContext({ cert, key });
      if (validTo - Date.now() > RENEW_MS) return { cert, key, certFile, from: 'self-signed' };
    } catch {
      // unreadable or mismatched: made again below
    }
  }
  // Loaded only here: most runs never need it.
  const { generate } = await import('selfsigned');
  const now = new Date();
  const pems = await generate([{ name: 'commonName', value: 'localhost (baton)' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  });
  mkdirSync(folder, { recursive: true, mode: 0o700 });
  for (const [file, text, mode] of [[keyFile, pems.private, 0o600], [certFile, pems.cert, 0o644]] as const) {
    writeFileSync(`${file}.tmp`, text, { mode });
    renameSync(`${file}.tmp`, file);
  }
  return { cert: Buffer.from(pems.cert), key: Buffer.from(pems.private), certFile, from: 'self-signed' };
}
