// Node's native Ed25519 and X25519 engines (libsodium or OpenSSL): importing this module
// installs them in relay/crypto/engines.ts, whose default is noble's pure JS. Every
// Node entry imports it (relay/session.ts for the gateway, client/index.ts for the SDK,
// the bench); the portable SDK (client/portable.ts) does not.
import './ed25519-engine.ts';
import './x25519.ts';
