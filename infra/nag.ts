import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { PolicyStatementJson } from './policies';

/**
 * Acknowledges one cdk-nag finding on one construct (and its children), with the reason it is accepted.
 * cdk-nag 3 reads these through CDK's Validations metadata.
 */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/**
 * Acknowledges AwsSolutions-IAM5 for each wildcard resource in the given statements: the object ARNs
 * under a prefix (`bucket/prefix*`) that cannot name keys not yet known. Exact findings only, so a new
 * wildcard still fails synth.
 */
export function acknowledgePrefixWildcards(scope: IConstruct, statements: PolicyStatementJson[], reason: string): void {
  const resources = new Set(
    statements.flatMap((statement) => [statement.Resource ?? []].flat()).filter((resource) => resource.endsWith('*')),
  );
  for (const resource of resources) {
    acknowledge(scope, `AwsSolutions-IAM5[Resource::${resource}]`, reason);
  }
}
