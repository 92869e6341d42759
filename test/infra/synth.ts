import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type S3xcopyApp } from '../../infra/app';

const ROOT = path.resolve(__dirname, '..', '..');

/** Stand-in handlers: the entries must exist, and bundling is skipped in these tests anyway. */
export const FIXTURE_FUNCTIONS = path.join(ROOT, 'test', 'fixtures', 'infra', 'functions');

/** The example configuration from cdk.json (accounts 111111111111 and 222222222222). */
export function exampleConfig(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')) as {
    context: { s3xcopy: Record<string, unknown> };
  };
  return structuredClone(cdkJson.context.s3xcopy);
}

/** Deep-merges plain objects; arrays and scalars in `patch` replace. */
export function merge<T>(base: T, patch: unknown): T {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch as T;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] =
      typeof current === 'object' && current !== null && !Array.isArray(current) ? merge(current, value) : value;
  }
  return out as T;
}

export interface Synthesized extends S3xcopyApp {
  sourceTemplate: Template;
  targetTemplate?: Template;
}

/**
 * Synthesizes the app from the example configuration with `patch` merged in. CloudFormation validation
 * and asset bundling are off (both cost seconds and are tested once elsewhere); cdk-nag stays on, so
 * every synth here also proves zero unacknowledged findings.
 */
export function synthesize(
  patch: unknown = {},
  options: {
    nag?: boolean;
    validation?: boolean;
    bundle?: boolean;
    definitionPath?: string;
    functionsDir?: string;
  } = {},
): Synthesized {
  const built = buildApp({
    functionsDir: options.functionsDir ?? FIXTURE_FUNCTIONS,
    ...(options.definitionPath ? { definitionPath: options.definitionPath } : {}),
    nag: options.nag ?? true,
    appProps: {
      builtinCloudFormationValidation: options.validation ?? false,
      context: {
        s3xcopy: merge(exampleConfig(), patch),
        ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
      },
    },
  });
  const sourceTemplate = Template.fromStack(built.source);
  return {
    ...built,
    sourceTemplate,
    ...(built.target ? { targetTemplate: Template.fromStack(built.target) } : {}),
  };
}
