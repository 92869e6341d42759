/**
 * Every command's name and one-line description. `--help` lists them from here (through catalog.ts) and
 * each command file takes its own description from here, so the two never disagree. This module imports
 * nothing: the catalog loads the command modules and they read this file, so keeping the descriptions
 * out of the catalog keeps the imports one-way (a command importing the catalog that loads it would be a
 * circle, in which one side can see the other half-loaded).
 */
export type CommandName = 'run' | 'demo' | 'start' | 'policies' | 'estimate';

export const COMMAND_DESCRIPTIONS: Readonly<Record<CommandName, string>> = {
  run: 'Run the copy workflow (statemachine/copy.asl.json) on this machine with the real handlers: against AWS with your credentials, or any S3-compatible server with --endpoint.',
  demo: 'See the whole workflow on this machine: an embedded S3 server, a sample tree, a copy with the real state machine, then a sync that skips everything.',
  start:
    'Start a copy on the deployed state machine. Flags override the deployment defaults; with none, it copies what the deployment is configured to copy.',
  policies:
    "Print the IAM policies to apply by hand (existing source bucket, hand-made target role) and, with the S3 event trigger on an existing bucket, its notification configuration, as JSON, from the same code the stacks deploy. Defaults come from ./cdk.json's s3xcopy context.",
  estimate:
    'Estimate what a job costs (S3 requests vs orchestration, per million objects) for s3xcopy and the alternatives.',
};
