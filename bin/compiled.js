// Finds the compiled CLI (build/bundle-cli.js) and tells whether it is current: it is used only when every
// repository file it was built from is older than it. S3XCOPY_FROM_SOURCE=1 always runs the sources.
const { readFileSync, statSync } = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const bundle = path.join(root, 'dist', 'cli', 's3xcopy.js');

/** The bundle's path when it exists and no input is newer; undefined otherwise. */
function freshBundle() {
  if (process.env.S3XCOPY_FROM_SOURCE === '1') return undefined;
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(path.join(root, 'dist', 'cli', 'inputs.json'), 'utf8'));
    for (const input of inputs) {
      if (statSync(path.join(root, input)).mtimeMs > built) return undefined;
    }
    return bundle;
  } catch {
    // No build, or an input was removed since: the sources are the truth.
    return undefined;
  }
}

module.exports = { freshBundle, bundle };
