// The adapter contract on the ws package.
import t from 'tap';
import { createWsTransport } from '../../gateway/transport/ws.ts';
import { transportContract } from './contract.ts';

transportContract(t, (opts) => createWsTransport(opts), { oversizeClientCode: 1009, idleClientCode: 4007 });
