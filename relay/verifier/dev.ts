// INSECURE development verifier: it "sends" the code by returning it to the client, so
// anyone can register any number. It exists so `npm start` works on a bare machine.
import type { Verifier } from './verifier.ts';

export function createDevVerifier(): Verifier {
  return {
    kind: 'dev',
    insecure: true,
    async deliver(_number: string, code: string) {
      return { devCode: code };
    },
    async close() {},
  };
}
