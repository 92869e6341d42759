/**
 * Every command's loader, without the command's code. `s3xcopy --help` and `--version` need only the
 * names and descriptions (descriptions.ts); cli/main.ts loads a command's module (the AWS SDK, the local
 * runner, the cost model...) only when that command runs or shows its own help, which keeps the CLI's
 * start-up to what it uses.
 */
import type { Command } from 'commander';
import type { CliIo } from '../io';
import type { CommandName } from './descriptions';

/** A command module: cli/commands/<name>.ts. */
export interface CommandModule {
  register(program: Command, io: CliIo): void;
}

/**
 * The commands in the order --help lists them, each with its loader. require(), not import(): the
 * bundle (build/bundle-cli.js) and the sources through tsx both evaluate a required module only when
 * the call runs.
 */
export const COMMANDS: ReadonlyArray<{ name: CommandName; load: () => CommandModule }> = [
  { name: 'run', load: () => require('./run') as CommandModule },
  { name: 'demo', load: () => require('./demo') as CommandModule },
  { name: 'start', load: () => require('./start') as CommandModule },
  { name: 'policies', load: () => require('./policies') as CommandModule },
  { name: 'estimate', load: () => require('./estimate') as CommandModule },
];

/**
 * The command an argument list asks for (`s3xcopy run ...`, `s3xcopy help run`), if any: the first
 * argument that is not an option. Options that take a value come only after the command name.
 */
export function requestedCommand(args: readonly string[]): CommandName | undefined {
  const words = args.filter((arg) => !arg.startsWith('-'));
  const first = words[0] === 'help' ? words[1] : words[0];
  return COMMANDS.find((command) => command.name === first)?.name;
}
