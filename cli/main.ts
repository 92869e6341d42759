import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { COMMANDS, requestedCommand } from './commands/catalog';
import { COMMAND_DESCRIPTIONS, type CommandName } from './commands/descriptions';
import { EXIT, UsageError } from './errors';
import { addHelpExamples } from './help-examples';
import { type CliIo, processIo } from './io';

/**
 * The package's version, read from package.json so `--version` never disagrees with what is installed.
 * Looked up from this file's directory upwards: the sources sit one level below the root, the compiled
 * CLI (dist/cli) two.
 */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (manifest.name === 's3-xcopy') return manifest.version;
    }
    if (path.dirname(dir) === dir) throw new Error(`s3xcopy: no package.json of s3-xcopy above ${__dirname}`);
  }
}

/**
 * Builds the s3xcopy program; each command lives in cli/commands/<name>.ts.
 * @param only the one command to load in full (the one the arguments ask for): the others are listed
 *   by name and description only, so `--help` and `--version` load no AWS SDK, runner or cost model.
 *   Without it every command is loaded (tests walk every command's help).
 */
export function buildProgram(io: CliIo, only?: CommandName | null): Command {
  const program = new Command('s3xcopy')
    .description('Copy S3 objects across buckets and accounts, server-side, with Step Functions.')
    .version(packageVersion(), '-V, --version', 'print the version of s3xcopy')
    .showHelpAfterError('(run s3xcopy --help for usage)')
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  for (const { name, load } of COMMANDS) {
    if (only === undefined || only === name) load().register(program, io);
    else program.command(name).description(COMMAND_DESCRIPTIONS[name]);
  }
  // An example at the end of every --help (cli/help-examples.ts).
  addHelpExamples(program);
  for (const command of program.commands) {
    command.exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  }
  return program;
}

/**
 * Runs the CLI and returns its exit code: 0 success, 1 some objects failed (set by the command),
 * 2 bad usage or input.
 */
export async function run(argv: string[], io: CliIo = processIo): Promise<number> {
  process.exitCode = undefined;
  const command = requestedCommand(argv.slice(2)) ?? null;
  if (command) {
    // AWS's naming rules unless a command selects an S3-compatible server's (run --endpoint).
    (require('../functions/shared/job') as typeof import('../functions/shared/job')).useNameRules('aws');
  }
  try {
    await buildProgram(io, command).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; every parse error is bad usage.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof UsageError || (error instanceof Error && error.name === 'InvalidJobError')) {
      io.stderr(`s3xcopy: ${error.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`s3xcopy: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT.failed;
  }
}

/** Entry point for bin/s3xcopy.js. */
export function main(argv: string[]): void {
  run(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`s3xcopy: ${String(error)}\n`);
      process.exitCode = EXIT.failed;
    },
  );
}
