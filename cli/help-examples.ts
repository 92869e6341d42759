/**
 * An example at the end of every command's --help ("--help of every command shows an example"),
 * kept in one table so each command file stays as its owner wrote it.
 */
import type { Command } from 'commander';

export const HELP_EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  run: [
    's3xcopy run --source s3://src-bucket/data/ --target s3://dst-bucket/data/ --mode sync',
    's3xcopy run --source s3://src/data/ --target s3://dst/data/ --mode sync --delete --max-delete 5% --dry-run',
    's3xcopy run --source s3://archive/2019/ --target s3://dst/2019/ --mode sync --restore Bulk --restore-days 7',
    's3xcopy run --source s3://src/ --manifest s3://src/lists/to-copy.csv --target s3://dst/copy/',
    's3xcopy run --source s3://src/ --manifest s3://inventory/src/daily/2026-12-01T01-00Z/manifest.json --target s3://dst/',
    's3xcopy run --source s3://requester-pays-data/ --request-payer --target s3://dst/data/',
    'S3XCOPY_EMBEDDED=1 s3xcopy run --endpoint http://127.0.0.1:9000 --source s3://a --target s3://b',
  ],
  demo: ['s3xcopy demo --objects 500'],
  start: [
    's3xcopy start --state-machine-arn arn:aws:states:eu-west-1:111111111111:stateMachine:s3xcopy-copy --watch',
    's3xcopy start --state-machine-arn ARN --mode sync --delete --max-delete 1000 --watch',
    's3xcopy start --state-machine-arn ARN --manifest s3://example-manifests/lists/run-1.csv --watch',
  ],
  policies: [
    's3xcopy policies --config cdk.json --only target-permissions',
    's3xcopy policies --config cdk.json --manifests s3://example-manifests/lists/ --allow-versions --only function-roles',
  ],
  estimate: [
    's3xcopy estimate --objects 1000000 --avg-size 256KiB',
    's3xcopy estimate --manifest s3://inventory/src/daily/2026-12-01T01-00Z/manifest.json',
    's3xcopy estimate --objects 100000 --avg-size 8MiB --archived 5000 --archive-class DEEP_ARCHIVE --restore Bulk --deletes 200',
  ],
};

/** Adds "Examples:" after the help of each command that has some. */
export function addHelpExamples(program: Command): void {
  for (const command of program.commands) {
    const examples = HELP_EXAMPLES[command.name()];
    if (!examples) continue;
    command.addHelpText('after', `\nExamples:\n${examples.map((line) => `  $ ${line}`).join('\n')}\n`);
  }
  program.addHelpText(
    'after',
    '\nExample:\n  $ s3xcopy run --source s3://src-bucket/data/ --target s3://dst-bucket/data/\n',
  );
}
