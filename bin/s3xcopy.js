#!/usr/bin/env node
// The s3xcopy command. It runs the compiled CLI when it is up to date, else the TypeScript sources through
// tsx, so a clone works without a build step and an edited source is never shadowed by an old build.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `s3xcopy needs Node.js 22 or later (this is ${process.version}). ` +
      'Run it through npm (`npm start`, `npx s3xcopy ...`), which uses the Node 24 that `npm install` brings.\n',
  );
  process.exit(2);
}
// A reader that closes the pipe early (`s3xcopy --help | head`): --help and --version end quietly, as Unix
// tools do, instead of an unhandled EPIPE stack trace. Any other command keeps going without its output, so
// a job is never cut short (its clean-up and report included) and exits with its own code.
const infoOnly =
  process.argv.length <= 2 || process.argv.slice(2).some((arg) => /^(-h|--help|-V|--version|help)$/.test(arg));
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code !== 'EPIPE') throw error;
    if (infoOnly) process.exit(0);
  });
}
const compiled = require('./compiled.js').freshBundle();
if (compiled) {
  // dist/cli/s3xcopy.js (build/bundle-cli.js, run by `npm install`), while no source is newer than it.
  require('node:module').enableCompileCache?.();
  require(compiled).main(process.argv);
} else {
  require('tsx/cjs');
  // Lets tsx's CommonJS require the ESM-only packages the handlers use (middy exports only "import").
  require('../cli/runner/esm-interop.ts');
  require('../cli/main.ts').main(process.argv);
}
