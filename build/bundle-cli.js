#!/usr/bin/env node
/**
 * Compiles the CLI (and the handlers it runs in-process) into one JavaScript file, dist/cli/s3xcopy.js,
 * so `s3xcopy` starts without compiling TypeScript (tsx took about 2 s of every start). `npm install`
 * runs it (the `prepare` script); `npm run build` runs it by hand.
 *
 * Left out of the bundle, and required from node_modules at run time:
 * - @middy/core: it publishes only an "import" export condition; cli/runner/esm-interop.ts lets
 *   require() load it, as it does when the CLI runs from source.
 * - @20minutes/s3rver: the embedded server is required lazily, only when a run has no --endpoint, and
 *   its router does not survive bundling.
 *
 * The output sits two directories below the repository root, as cli/runner/definition.ts does, so
 * `__dirname/../..` still finds statemachine/copy.asl.json. dist/cli/inputs.json lists the repository
 * files the bundle was built from: bin/s3xcopy.js runs the bundle only while none is newer than it.
 */
const { mkdirSync, writeFileSync } = require('node:fs');
const path = require('node:path');

let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  // An install without devDependencies: the CLI runs from source (bin/s3xcopy.js falls back to tsx).
  process.stderr.write('s3xcopy: esbuild is not installed, so the CLI will run from its TypeScript sources\n');
  process.exit(0);
}

const root = path.join(__dirname, '..');
const outdir = path.join(root, 'dist', 'cli');

async function main() {
  const started = Date.now();
  mkdirSync(outdir, { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: ['cli/main.ts'],
    outfile: path.join(outdir, 's3xcopy.js'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node22',
    external: ['@middy/core', '@20minutes/s3rver'],
    minify: true,
    // Error classes are matched by name (Step Functions Retry/Catch, the runner): keep every name.
    keepNames: true,
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((file) => !file.startsWith('node_modules/'))
    .concat(['package-lock.json', 'build/bundle-cli.js'])
    .sort();
  writeFileSync(path.join(outdir, 'inputs.json'), `${JSON.stringify(inputs, null, 1)}\n`);
  process.stderr.write(`s3xcopy: compiled the CLI into dist/cli/s3xcopy.js in ${Date.now() - started} ms\n`);
}

main().catch((error) => {
  process.stderr.write(`s3xcopy: could not compile the CLI: ${error.stack ?? error}\n`);
  process.exitCode = 1;
});
