// The privacy audit's scanner: turns secrets into every form a leak could take, and
// looks for them in captured text and bytes (NATS traffic, JetStream files on disk,
// logs, /metrics). A secret is a named needle; a finding names the needle and where.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

export interface Needle {
  /** What it is, for the report (never the secret itself). */
  name: string;
  bytes: Buffer;
}

export interface Finding {
  needle: string;
  where: string;
}

/** Forms of a phone number a careless component might write: E.164, without '+',
 *  national (the digits after the country code, for NANP +1 numbers), with separators
 *  ('+1 555-010-0001', '(555) 010-0001', '555.010.0001'), and plain SHA-256 of the E.164
 *  form and of the bare digits (hex and raw bytes). */
export function numberNeedles(label: string, e164: string): Needle[] {
  if (!/^\+[1-9][0-9]{7,14}$/.test(e164)) throw new Error('numberNeedles wants an E.164 number');
  const digits = e164.slice(1);
  const out: Needle[] = [
    { name: `${label}: E.164`, bytes: Buffer.from(e164) },
    { name: `${label}: digits without +`, bytes: Buffer.from(digits) },
  ];
  if (digits.startsWith('1') && digits.length === 11) {
    const n = digits.slice(1); // NANP national number: 3 + 3 + 4
    const [a, b, c] = [n.slice(0, 3), n.slice(3, 6), n.slice(6)];
    out.push(
      { name: `${label}: national`, bytes: Buffer.from(n) },
      { name: `${label}: +1 a-b-c`, bytes: Buffer.from(`+1 ${a}-${b}-${c}`) },
      { name: `${label}: (a) b-c`, bytes: Buffer.from(`(${a}) ${b}-${c}`) },
      { name: `${label}: a-b-c`, bytes: Buffer.from(`${a}-${b}-${c}`) },
      { name: `${label}: a.b.c`, bytes: Buffer.from(`${a}.${b}.${c}`) },
      { name: `${label}: a b c`, bytes: Buffer.from(`${a} ${b} ${c}`) },
    );
  } else {
    // Other plans: the last 9 digits stand in for "national" (no trunk prefix known).
    out.push({ name: `${label}: trailing digits`, bytes: Buffer.from(digits.slice(-9)) });
  }
  for (const [form, input] of [['E.164', e164], ['digits', digits]] as const) {
    const h = createHash('sha256').update(input).digest();
    out.push({ name: `${label}: sha256(${form}) raw`, bytes: h });
    out.push({ name: `${label}: sha256(${form}) hex`, bytes: Buffer.from(h.toString('hex')) });
  }
  return out;
}

/** A text (message body, contact name): as UTF-8. */
export function textNeedle(label: string, text: string): Needle {
  return { name: label, bytes: Buffer.from(text, 'utf8') };
}

/** Key material or an identifier: raw bytes, lowercase hex and base64 (NATS KV and
 *  JetStream API replies carry payloads base64-encoded inside JSON). Base64 of the raw
 *  bytes at three alignments, so a secret embedded at any offset of a larger base64
 *  blob is still found. */
export function bytesNeedles(label: string, raw: Uint8Array): Needle[] {
  const b = Buffer.from(raw);
  const out: Needle[] = [
    { name: `${label} (raw)`, bytes: b },
    { name: `${label} (hex)`, bytes: Buffer.from(b.toString('hex')) },
  ];
  for (let shift = 0; shift < 3; shift++) {
    // Base64 of (shift pad bytes || raw): drop the characters that depend on the pad
    // and on what follows, keep the stable middle.
    // Character i encodes bits [6i, 6i+6); keep those entirely inside the secret's bits.
    const enc = Buffer.concat([Buffer.alloc(shift), b]).toString('base64');
    const start = Math.ceil((shift * 8) / 6);
    const end = Math.floor(((shift + b.length) * 8) / 6);
    if (end - start >= 16) out.push({ name: `${label} (base64/${shift})`, bytes: Buffer.from(enc.slice(start, end)) });
  }
  return out;
}

/** Where each needle occurs in one haystack. */
export function scanBytes(where: string, hay: Uint8Array, needles: Needle[]): Finding[] {
  const buf = Buffer.from(hay.buffer, hay.byteOffset, hay.byteLength);
  const out: Finding[] = [];
  for (const n of needles) if (n.bytes.length > 0 && buf.includes(n.bytes)) out.push({ needle: n.name, where });
  return out;
}

/** Every regular file under dir (relative path, contents). */
export function readTree(dir: string): Array<{ path: string; data: Buffer }> {
  const out: Array<{ path: string; data: Buffer }> = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return; // removed while we walked (a block file dropped by the server)
    }
    for (const name of names) {
      const p = join(d, name);
      try {
        const st = statSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isFile()) out.push({ path: relative(dir, p), data: readFileSync(p) });
      } catch {
        // vanished between readdir and read
      }
    }
  };
  walk(dir);
  return out;
}

/** Scans every file under dir. */
export function scanTree(dir: string, needles: Needle[]): Finding[] {
  return readTree(dir).flatMap((f) => scanBytes(`store:${f.path}`, f.data, needles));
}

/** Compact report: "needle @ where" lines, sorted, unique. */
export function report(findings: Finding[]): string[] {
  return [...new Set(findings.map((f) => `${f.needle} @ ${f.where}`))].sort();
}
