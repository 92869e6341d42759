/**
 * Every command's name and one-line description, without the command's code. `s3xcopy --help` and
 * `--version` need only these; cli/main.ts loads a command's module (the AWS SDK, the local runner, the
 * cost model...) only when that command runs or shows its own help, which keeps the CLI's start-up
 * to what it uses. Each command file takes its description from here, so the two never disagree.
 */
import type { Command } from 'commander';
import type { CliIo } from '../io';

export type CommandName = 'run' | 'demo' | 'start' | 'policies' | 'estimate';

/** A command module: cli/commands/<name>.ts. */
export interface CommandModule {
  register(program: Command, io: CliIo): void;
}

export const COMMAND_DESCRIPTIONS: Readonly<Record<CommandName, string>> = {
  run: 'Run the copy workflow (statemachine/copy.asl.json) on this machine with the real handlers: against AWS with your credentials, or any S3-compatible server with --endpoint.',
  demo: 'See the whole workflow on this machine: an embedded S3 server, a sample tree, a copy with the real state machine, then a sync that skips everything.',
  start:
    'Start a copy on the deployed state machine. Flags override the deployment defaults; with none, it copies what the deployment is configured to copy.',
  policies:
    "Print the IAM policies to apply by hand (existing source bucket, hand-made target role) as JSON, from the same code the stacks deploy. Defaults come from ./cdk.json's s3xcopy context.",
  estimate:
    'Estimate what a job costs (S3 requests vs orchestration, per million objects) for s3xcopy and the alternatives.',
};

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
