import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT } from '../../infra/constructs/copy-functions';
import { FIXTURE_FUNCTIONS, synthesize } from './synth';

const REAL_FUNCTIONS = path.join(PROJECT_ROOT, 'functions');
const realHandlersExist = ['list', 'copy', 'notify', 'events'].every((kind) =>
  existsSync(path.join(REAL_FUNCTIONS, kind, 'handler.ts')),
);

describe('a full synth, as `cdk synth` does it', () => {
  it("passes CDK's built-in CloudFormation validation and bundles every function with esbuild", () => {
    // Act: the one synth with validation and bundling on (the rest skip both for speed)
    const built = synthesize(
      { source: { createBucket: true } },
      { validation: true, bundle: true, functionsDir: realHandlersExist ? REAL_FUNCTIONS : FIXTURE_FUNCTIONS },
    );
    // Assert: every function's asset holds a bundle with its source map
    const outdir = built.app.outdir;
    const functions = built.sourceTemplate.findResources('AWS::Lambda::Function');
    // list, copy, notify, and the events and events digest functions of the direct event path
    expect(Object.keys(functions)).toHaveLength(5);
    for (const fn of Object.values(functions)) {
      const s3Key = fn.Properties.Code.S3Key as string;
      const assetPath = `asset.${s3Key.replace(/\.zip$/, '')}`;
      const bundle = readFileSync(path.join(outdir, assetPath, 'index.js'), 'utf8');
      expect(bundle).toMatch(/handler/);
      expect(existsSync(path.join(outdir, assetPath, 'index.js.map'))).toBe(true);
    }
  });
});
