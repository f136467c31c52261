// The one import point for the generated protobuf code, so that nothing else reaches
// into proto/gen and the names read naturally (wire.Frame, wire.Envelope, ...).
import { hushwire } from '../proto/gen/hushwire.js';

export const wire = hushwire.v1;
export type Frame = hushwire.v1.Frame;
export type Op = hushwire.v1.Op;
export type OpProps = hushwire.v1.Op.$Properties;
export type Envelope = hushwire.v1.Envelope;
export type EnvelopeProps = hushwire.v1.Envelope.$Properties;
export type Sealed = hushwire.v1.Sealed;
export type SealedProps = hushwire.v1.Sealed.$Properties;
export type DeviceKeys = hushwire.v1.DeviceKeys;
export type DirectoryEntry = hushwire.v1.DirectoryEntry;
export type DirectoryDevice = hushwire.v1.DirectoryDevice;
export type DirectoryDeviceProps = hushwire.v1.DirectoryDevice.$Properties;

/** Protocol version carried in Challenge.protocol and Envelope.version. */
export const PROTOCOL_VERSION = 1;
/** Envelope.suite 1: HPKE base, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305. */
export const SUITE_HPKE_X25519_CHACHA = 1;

export const ROUTE_BYTES = 32;
export const DEVICE_BYTES = 16;
export const ENVELOPE_ID_BYTES = 16;

/** Encodes a frame of ops. */
export function encodeFrame(ops: OpProps[]): Uint8Array {
  return wire.Frame.encode({ ops }).finish();
}
