// Throwaway TLS material for tests, made with openssl at test time into a temp dir
// (removed when the test process exits): a CA, a server certificate for 127.0.0.1 (IP
// SAN only, so the host check is the real one), a client certificate from the same CA,
// and a second, unrelated CA with a client certificate of its own (the "wrong" ones).
// Also the nats-server config blocks that use them.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './temp.ts';

export interface TlsFiles {
  dir: string;
  /** The CA that signed server.pem and client.pem. */
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** An unrelated CA (self-signed), and a client certificate it signed. */
  otherCa: string;
  otherClientCert: string;
  otherClientKey: string;
}

const OPENSSL = '/usr/bin/openssl';

function openssl(args: string[], cwd: string): void {
  execFileSync(OPENSSL, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
}

/** P-256 keys: fast to make, and every TLS stack here speaks them. */
function newCa(dir: string, name: string, cn: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`], dir);
}

function newCert(dir: string, name: string, ca: string, cn: string, ext: string, days = 2): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', String(days), '-extfile', `${name}.ext`], dir);
}

export function makeTlsFiles(): TlsFiles {
  const dir = tempDir('hw-tls-');
  newCa(dir, 'ca', 'hushwire test CA');
  newCert(dir, 'server', 'ca', 'nats test server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  newCert(dir, 'client', 'ca', 'hushwire-gateway', 'extendedKeyUsage=clientAuth\n');
  newCa(dir, 'other-ca', 'unrelated CA');
  newCert(dir, 'other-client', 'other-ca', 'stranger', 'extendedKeyUsage=clientAuth\n');
  const p = (f: string): string => join(dir, f);
  return {
    dir,
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    otherCa: p('other-ca.pem'),
    otherClientCert: p('other-client.pem'),
    otherClientKey: p('other-client.key'),
  };
}

/** One more client certificate and key in f.dir (`name`.pem, `name`.key), signed by the
 *  test CA or the unrelated one, valid for `days` (default 2): what an operator rotates in. */
export function makeClientCert(f: TlsFiles, name: string, opts: { by?: 'ca' | 'other-ca'; days?: number; notBefore?: Date } = {}): { cert: string; key: string } {
  if (opts.notBefore === undefined) {
    newCert(f.dir, name, opts.by ?? 'ca', `hushwire-${name}`, 'extendedKeyUsage=clientAuth\n', opts.days ?? 2);
  } else {
    futureCert(f.dir, name, opts.by ?? 'ca', `hushwire-${name}`, opts.notBefore, opts.days ?? 2);
  }
  return { cert: join(f.dir, `${name}.pem`), key: join(f.dir, `${name}.key`) };
}

/** Another server certificate for 127.0.0.1 from the test CA (its key next to it), valid
 *  `days` (the CA itself is valid 2 days: with more, the CA expires first). */
export function makeServerCert(f: TlsFiles, name: string, days: number): { cert: string; key: string } {
  newCert(f.dir, name, 'ca', 'nats test server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n', days);
  return { cert: join(f.dir, `${name}.pem`), key: join(f.dir, `${name}.key`) };
}

/** A client certificate valid only from `notBefore` on: `openssl x509 -req` (3.0) always
 *  starts now, `openssl ca` takes a start date (it needs its small database). */
function futureCert(dir: string, name: string, ca: string, cn: string, notBefore: Date, days: number): void {
  const asn1 = (d: Date): string => `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
  const db = `${name}-ca-db`;
  writeFileSync(join(dir, `${db}.index`), '');
  writeFileSync(join(dir, `${db}.serial`), '1000\n');
  writeFileSync(join(dir, `${db}.conf`), [
    '[ ca ]', 'default_ca = c', '[ c ]', `database = ${db}.index`, 'new_certs_dir = .', `serial = ${db}.serial`,
    'default_md = sha256', 'policy = p', 'unique_subject = no', 'x509_extensions = e', '[ p ]', 'commonName = supplied',
    '[ e ]', 'extendedKeyUsage = clientAuth', '',
  ].join('\n'));
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
  openssl(['ca', '-batch', '-notext', '-config', `${db}.conf`, '-cert', `${ca}.pem`, '-keyfile', `${ca}.key`, '-in', `${name}.csr`,
    '-out', `${name}.pem`, '-startdate', asn1(notBefore), '-enddate', asn1(new Date(notBefore.getTime() + days * 86_400_000))], dir);
}

/** A nats-server `tls` block: TLS required on the client port; `verify` also requires a
 *  client certificate signed by the test CA (mutual TLS). */
export function natsServerTls(f: TlsFiles, opts: { verify?: boolean } = {}): string {
  return [
    'tls {',
    `  cert_file: ${JSON.stringify(f.serverCert)}`,
    `  key_file: ${JSON.stringify(f.serverKey)}`,
    `  ca_file: ${JSON.stringify(f.ca)}`,
    `  verify: ${opts.verify === true ? 'true' : 'false'}`,
    '  timeout: 2',
    '}',
  ].join('\n');
}
