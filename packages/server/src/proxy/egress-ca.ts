/**
 * Certificates for secrets at egress: one CA per sandbox (its certificate goes into the sandbox's trust store, its key
 * stays with the server) and, signed by it, a short-lived certificate for each host a secret is bound to, which the
 * egress proxy presents when it intercepts HTTPS to that host. Built with pkijs over Node's WebCrypto: ECDSA P-256
 * keys are made natively in milliseconds, and pkijs needs no global polyfills.
 */
import { webcrypto, X509Certificate, createPrivateKey } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

export interface CaMaterial {
  /** PEM certificate, for the sandbox's trust store. */
  certPem: string;
  /** PEM PKCS#8 private key; never leaves the server. */
  keyPem: string;
}

export interface LeafMaterial {
  certPem: string;
  keyPem: string;
}

const KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const DAY_MS = 24 * 3600 * 1000;
/** A sandbox's CA lives as long as any sandbox could (it is replaced with the sandbox). */
const CA_LIFETIME_MS = 10 * 365 * DAY_MS;
const LEAF_LIFETIME_MS = 7 * DAY_MS;

const OID = {
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

function toPem(label: string, der: ArrayBuffer | Uint8Array): string {
  const base64 = Buffer.from(der as ArrayBuffer).toString('base64');
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function distinguishedName(commonName: string): pkijs.RelativeDistinguishedNames {
  const name = new pkijs.RelativeDistinguishedNames();
  name.typesAndValues.push(
    new pkijs.AttributeTypeAndValue({
      type: OID.commonName,
      value: new asn1js.Utf8String({ value: commonName }),
    }),
  );
  return name;
}

function keyUsage(bits: number, unusedBits: number): pkijs.Extension {
  const value = new asn1js.BitString({ valueHex: new Uint8Array([bits]).buffer, unusedBits });
  return new pkijs.Extension({ extnID: OID.keyUsage, critical: true, extnValue: value.toBER(false) });
}

export class CertificateFactory {
  private readonly engine = new pkijs.CryptoEngine({
    name: 'node',
    crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]['crypto'],
  });

  private serial(): asn1js.Integer {
    const bytes = webcrypto.getRandomValues(new Uint8Array(16));
    bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
    return new asn1js.Integer({ valueHex: bytes.buffer });
  }

  private async build(options: {
    subject: string;
    /** The issuer's name as its own certificate spells it (a CA issues as itself). */
    issuer: pkijs.RelativeDistinguishedNames | string;
    publicKey: webcrypto.CryptoKey;
    signingKey: webcrypto.CryptoKey;
    ca: boolean;
    dnsNames?: string[];
    ipAddresses?: Uint8Array[];
    lifetimeMs: number;
    now: Date;
  }): Promise<string> {
    const cert = new pkijs.Certificate();
    cert.version = 2;
    cert.serialNumber = this.serial();
    cert.subject = distinguishedName(options.subject);
    cert.issuer = typeof options.issuer === 'string' ? distinguishedName(options.issuer) : options.issuer;
    // An hour back: a sandbox's clock is the host's, but a client may compare against a slightly different one.
    cert.notBefore.value = new Date(options.now.getTime() - 3600_000);
    cert.notAfter.value = new Date(options.now.getTime() + options.lifetimeMs);
    const constraints = new pkijs.BasicConstraints(options.ca ? { cA: true, pathLenConstraint: 0 } : {});
    cert.extensions = [
      new pkijs.Extension({
        extnID: OID.basicConstraints,
        critical: true,
        extnValue: constraints.toSchema().toBER(false),
        parsedValue: constraints,
      }),
      // CA: keyCertSign | cRLSign; leaf: digitalSignature.
      options.ca ? keyUsage(0x06, 1) : keyUsage(0x80, 7),
    ];
    if (!options.ca) {
      const names = [
        ...(options.dnsNames ?? []).map((value) => new pkijs.GeneralName({ type: 2, value })),
        ...(options.ipAddresses ?? []).map(
          (bytes) =>
            new pkijs.GeneralName({
              type: 7,
              value: new asn1js.OctetString({ valueHex: bytes.buffer as ArrayBuffer }),
            }),
        ),
      ];
      const altNames = new pkijs.AltName({ altNames: names });
      const usage = new pkijs.ExtKeyUsage({ keyPurposes: [OID.serverAuth] });
      cert.extensions.push(
        new pkijs.Extension({
          extnID: OID.subjectAltName,
          critical: false,
          extnValue: altNames.toSchema().toBER(false),
        }),
        new pkijs.Extension({
          extnID: OID.extKeyUsage,
          critical: false,
          extnValue: usage.toSchema().toBER(false),
        }),
      );
    }
    await cert.subjectPublicKeyInfo.importKey(options.publicKey, this.engine);
    await cert.sign(options.signingKey, 'SHA-256', this.engine);
    return toPem('CERTIFICATE', cert.toSchema(true).toBER(false));
  }

  private async keyPair(): Promise<webcrypto.CryptoKeyPair> {
    return (await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
  }

  private async exportKey(key: webcrypto.CryptoKey): Promise<string> {
    return toPem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
  }

  /** A new CA for sandbox `sandboxId`. */
  async createCa(sandboxId: string, now = new Date()): Promise<CaMaterial> {
    const keys = await this.keyPair();
    const name = `Burrow egress CA for sandbox ${sandboxId}`;
    const certPem = await this.build({
      subject: name,
      issuer: name,
      publicKey: keys.publicKey,
      signingKey: keys.privateKey,
      ca: true,
      lifetimeMs: CA_LIFETIME_MS,
      now,
    });
    return { certPem, keyPem: await this.exportKey(keys.privateKey) };
  }

  /** A server certificate for `host` (a name or an address), signed by `ca`. */
  async issue(ca: CaMaterial, host: string, now = new Date()): Promise<LeafMaterial> {
    const caCert = pkijs.Certificate.fromBER(new X509Certificate(ca.certPem).raw);
    const pkcs8 = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
    const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, KEY_ALGORITHM, false, ['sign']);
    const keys = await this.keyPair();
    const ip = ipBytes(host);
    const certPem = await this.build({
      subject: host,
      issuer: caCert.subject,
      publicKey: keys.publicKey,
      signingKey,
      ca: false,
      ...(ip === undefined ? { dnsNames: [host] } : { ipAddresses: [ip] }),
      lifetimeMs: LEAF_LIFETIME_MS,
      now,
    });
    return { certPem, keyPem: await this.exportKey(keys.privateKey) };
  }
}

function ipBytes(host: string): Uint8Array | undefined {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return Uint8Array.from(host.split('.').map(Number));
  return undefined;
}
