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

// Decoded messages are class instances whose scalar fields always hold a value (proto3
// defaults live on the prototype), but the generated types call nested messages
// `$Properties` (all optional). These aliases name the decoded shapes; code that reads
// a nested message casts to them once, right after the oneof check.
export type Challenge = hushwire.v1.Challenge;
export type Auth = hushwire.v1.Auth;
export type VerifyStart = hushwire.v1.VerifyStart;
export type RegisterDevice = hushwire.v1.RegisterDevice;
export type Evaluate = hushwire.v1.Evaluate;
export type Evaluated = hushwire.v1.Evaluated;
export type Lookup = hushwire.v1.Lookup;
export type Send = hushwire.v1.Send;
export type DeliverAck = hushwire.v1.DeliverAck;
export type SetPrekey = hushwire.v1.SetPrekey;
export type TicketRequest = hushwire.v1.TicketRequest;
export type Ticket = hushwire.v1.Ticket;
export type Unregister = hushwire.v1.Unregister;
export type ErrorOp = hushwire.v1.Error;
export type Receipt = hushwire.v1.Receipt;

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

/** A decoded Op with its nested messages typed as decoded instances (see above). */
export interface DecodedOp {
  req: number;
  body?: Op['body'];
  challenge?: Challenge;
  ok?: hushwire.v1.Ok;
  error?: ErrorOp;
  registered?: hushwire.v1.Registered & { evaluation: Evaluated };
  evaluated?: Evaluated;
  devices?: hushwire.v1.Devices & { devices: DeviceKeys[] };
  sendResult?: hushwire.v1.SendResult & { receipts: Receipt[] };
  deliver?: hushwire.v1.Deliver & { envelopes: Envelope[] };
  reconnect?: hushwire.v1.Reconnect;
  verifyStarted?: hushwire.v1.VerifyStarted;
  notice?: hushwire.v1.Notice;
  devicesBatch?: hushwire.v1.DevicesBatch & { results: Array<hushwire.v1.Devices & { devices: DeviceKeys[] }> };
  ticket?: Ticket;
}

/** Decodes a frame into ops with decoded nested types. Throws on malformed bytes. */
export function decodeFrame(data: Uint8Array): DecodedOp[] {
  return wire.Frame.decode(data).ops as unknown as DecodedOp[];
}
