#!/usr/bin/env node
// The s3xcopy command. It runs the TypeScript sources through tsx, so a clone works without a build step.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `s3xcopy needs Node.js 22 or later (this is ${process.version}). ` +
      'Run it through npm (`npm start`, `npx s3xcopy ...`), which uses the Node 24 that `npm install` brings.\n',
  );
  process.exit(2);
}
require('tsx/cjs');
// Lets tsx's CommonJS require the ESM-only packages the handlers use (middy exports only "import").
require('../cli/runner/esm-interop.ts');
require('../cli/main.ts').main(process.argv);
