// The `hushwire` program: handset commands plus the gateway. bin/hushwire.js runs
// this from source through tsx.
import { gatewayCommand } from '../gateway/cli.ts';
import { buildProgram, runProgram } from './program.ts';
import { benchCommand } from './commands/bench.ts';
import { oprfCommand, oprfKeyCommand } from './commands/oprf.ts';
import { natsPermissionsCommand } from './commands/nats-permissions.ts';

export function run(argv: string[] = process.argv): Promise<number> {
  return runProgram(buildProgram([gatewayCommand(), oprfCommand(), oprfKeyCommand(), natsPermissionsCommand(), benchCommand()]), argv);
}
