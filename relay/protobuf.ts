// The protobufjs runtime used by the generated code, for the few places that write
// frames by hand (splicing raw envelope bytes into a Deliver op).
import protobufMinimal from 'protobufjs/minimal.js';

export const protobuf = protobufMinimal;
