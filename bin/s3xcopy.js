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
// A reader that stops early (`s3xcopy --help | head`) closes the pipe: end quietly, as Unix tools do,
// instead of an unhandled EPIPE stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
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
