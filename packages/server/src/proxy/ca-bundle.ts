/**
 * A sandbox's trust store for secrets at egress. The root filesystem is read-only, so the image's CA bundle plus the
 * sandbox's own CA certificate are written to a file on the /run tmpfs after start, and the usual variables point
 * there (set at create): OpenSSL and curl, Python's requests, Node (NODE_EXTRA_CA_CERTS adds to its own roots).
 */
import type { Runtime } from '../runtime/runtime.js';

export const CA_DIR = '/run/burrow';
export const CA_BUNDLE_PATH = `${CA_DIR}/ca-certificates.crt`;
export const CA_CERT_PATH = `${CA_DIR}/egress-ca.crt`;

export const CA_ENV: Record<string, string> = {
  SSL_CERT_FILE: CA_BUNDLE_PATH,
  REQUESTS_CA_BUNDLE: CA_BUNDLE_PATH,
  CURL_CA_BUNDLE: CA_BUNDLE_PATH,
  NODE_EXTRA_CA_CERTS: CA_CERT_PATH,
};

/** Where images keep their CA bundle (Debian/Ubuntu/Alpine, then RHEL/Fedora, then others). */
const IMAGE_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/cert.pem',
];
/** Largest image bundle read (Debian's is ~200 KB). */
const MAX_BUNDLE_BYTES = 4 * 1024 * 1024;

async function readBounded(
  runtime: Pick<Runtime, 'readFile'>,
  id: string,
  path: string,
): Promise<string | undefined> {
  try {
    const file = await runtime.readFile(id, path);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of file.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_BUNDLE_BYTES) {
        file.body.destroy();
        return undefined;
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch {
    return undefined;
  }
}

export async function installCaBundle(
  runtime: Pick<Runtime, 'readFile' | 'writeFile'>,
  id: string,
  caPem: string,
): Promise<void> {
  let bundle = '';
  for (const path of IMAGE_BUNDLES) {
    const text = await readBounded(runtime, id, path);
    if (text !== undefined && text.includes('-----BEGIN CERTIFICATE-----')) {
      bundle = text.endsWith('\n') ? text : `${text}\n`;
      break;
    }
  }
  await runtime.writeFile(id, CA_CERT_PATH, caPem, { mode: 0o644 });
  await runtime.writeFile(id, CA_BUNDLE_PATH, `${bundle}${caPem}`, { mode: 0o644 });
}
