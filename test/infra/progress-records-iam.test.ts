import { resourceArns } from '../../infra/names';
import { deployment, isAllowed, roleIdByArn } from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

/** The copy function's progress records (functions/copy/progress-record.ts) live in the state bucket. */
describe('the copy role and the state bucket', () => {
  const built = synthesize();
  const d = deployment(built.config, built.sourceTemplate.toJSON() as TemplateJson);
  const arns = resourceArns(built.config);
  const policies = d.source.identityPolicies(roleIdByArn(d.source, arns.copyRole));
  const can = (action: string, resource: string, context?: Record<string, string>) =>
    isAllowed(
      {
        principal: arns.copyRole,
        action,
        resource,
        resourceAccount: built.config.source.account,
        ...(context ? { context } : {}),
      },
      policies,
    );

  it('may read, write and list its progress records, and nothing else in the state bucket', async () => {
    // Act
    const results = {
      readRecord: await can('s3:GetObject', `${arns.stateBucket}/progress/job-1/batches/b1.json`),
      writeRecord: await can('s3:PutObject', `${arns.stateBucket}/progress/job-1/uploads/abc.json`),
      listRecords: await can('s3:ListBucket', arns.stateBucket, { 's3:prefix': 'progress/job-1/' }),
      listResults: await can('s3:ListBucket', arns.stateBucket, { 's3:prefix': 'results/' }),
      readManifest: await can('s3:GetObject', `${arns.stateBucket}/manifests/job-1/part-0.json`),
      writeResults: await can('s3:PutObject', `${arns.stateBucket}/results/job-1/x.json`),
      deleteRecord: await can('s3:DeleteObject', `${arns.stateBucket}/progress/job-1/batches/b1.json`),
    };
    // Assert
    expect(results).toEqual({
      readRecord: true,
      writeRecord: true,
      listRecords: true,
      listResults: false,
      readManifest: false,
      writeResults: false,
      deleteRecord: false,
    });
  });

  it('may write the full failure lists of its batches, and no other report', async () => {
    // Act
    const results = {
      writeBatchList: await can('s3:PutObject', `${arns.stateBucket}/reports/job-1/batch-failures/s0-b0.jsonl`),
      readBatchList: await can('s3:GetObject', `${arns.stateBucket}/reports/job-1/batch-failures/s0-b0.jsonl`),
      writeFailuresFile: await can('s3:PutObject', `${arns.stateBucket}/reports/job-1/failures.jsonl`),
      writeLedger: await can('s3:PutObject', `${arns.stateBucket}/reports/job-1/ledger.json`),
    };
    // Assert
    expect(results).toEqual({
      writeBatchList: true,
      readBatchList: false,
      writeFailuresFile: false,
      writeLedger: false,
    });
  });

  it("may write its batch records, and neither read them nor write another job's reports through them", async () => {
    // Act
    const results = {
      writeRecord: await can('s3:PutObject', `${arns.stateBucket}/batch-results/job-1/s0-b0.json`),
      readRecord: await can('s3:GetObject', `${arns.stateBucket}/batch-results/job-1/s0-b0.json`),
      deleteRecord: await can('s3:DeleteObject', `${arns.stateBucket}/batch-results/job-1/s0-b0.json`),
      listRecords: await can('s3:ListBucket', arns.stateBucket, { 's3:prefix': 'batch-results/job-1/' }),
      writeLookalike: await can('s3:PutObject', `${arns.stateBucket}/batch-results-x/job-1/s0-b0.json`),
    };
    // Assert
    expect(results).toEqual({
      writeRecord: true,
      readRecord: false,
      deleteRecord: false,
      listRecords: false,
      writeLookalike: false,
    });
  });
});

describe('the notify role and the state bucket', () => {
  const built = synthesize();
  const d = deployment(built.config, built.sourceTemplate.toJSON() as TemplateJson);
  const arns = resourceArns(built.config);
  const policies = d.source.identityPolicies(roleIdByArn(d.source, arns.notifyRole));
  const can = (action: string, resource: string, context?: Record<string, string>) =>
    isAllowed(
      {
        principal: arns.notifyRole,
        action,
        resource,
        resourceAccount: built.config.source.account,
        ...(context ? { context } : {}),
      },
      policies,
    );

  it("may read the copy function's per-batch failure lists and write the reports, but not read progress records", async () => {
    // Act
    const results = {
      readBatchList: await can('s3:GetObject', `${arns.stateBucket}/reports/job-1/batch-failures/s0-b0.jsonl`),
      writeFailuresFile: await can('s3:PutObject', `${arns.stateBucket}/reports/job-1/failures.jsonl`),
      readLedger: await can('s3:GetObject', `${arns.stateBucket}/reports/job-1/ledger.json`),
      readRecord: await can('s3:GetObject', `${arns.stateBucket}/progress/job-1/batches/b1.json`),
    };
    // Assert
    expect(results).toEqual({ readBatchList: true, writeFailuresFile: true, readLedger: false, readRecord: false });
  });

  it("may list and read the batch records and the job's manifests, and write neither", async () => {
    // Act
    const results = {
      listRecords: await can('s3:ListBucket', arns.stateBucket, { 's3:prefix': 'batch-results/job-1/' }),
      readRecord: await can('s3:GetObject', `${arns.stateBucket}/batch-results/job-1/s0-b0.json`),
      writeRecord: await can('s3:PutObject', `${arns.stateBucket}/batch-results/job-1/s0-b0.json`),
      listManifests: await can('s3:ListBucket', arns.stateBucket, { 's3:prefix': 'manifests/job-1/' }),
      readManifest: await can('s3:GetObject', `${arns.stateBucket}/manifests/job-1/part-0.json`),
      writeManifest: await can('s3:PutObject', `${arns.stateBucket}/manifests/job-1/part-0.json`),
      listProgress: await can('s3:ListBucket', arns.stateBucket, { 's3:prefix': 'progress/' }),
    };
    // Assert
    expect(results).toEqual({
      listRecords: true,
      readRecord: true,
      writeRecord: false,
      listManifests: true,
      readManifest: true,
      writeManifest: false,
      listProgress: false,
    });
  });
});

/** The list function reads the previous slice's copy results (functions/list/rate-plan.ts plans from them). */
describe('the list role and the copy results', () => {
  const built = synthesize();
  const d = deployment(built.config, built.sourceTemplate.toJSON() as TemplateJson);
  const arns = resourceArns(built.config);
  const policies = d.source.identityPolicies(roleIdByArn(d.source, arns.listRole));
  const can = (action: string, resource: string) =>
    isAllowed({ principal: arns.listRole, action, resource, resourceAccount: built.config.source.account }, policies);

  it('may read the Map Runs results, and neither write nor delete them', async () => {
    // Act
    const results = {
      readManifest: await can('s3:GetObject', `${arns.stateBucket}/results/job-1/run-1/manifest.json`),
      readResults: await can('s3:GetObject', `${arns.stateBucket}/results/job-1/run-1/SUCCEEDED_0.json`),
      writeResults: await can('s3:PutObject', `${arns.stateBucket}/results/job-1/run-1/SUCCEEDED_0.json`),
      deleteResults: await can('s3:DeleteObject', `${arns.stateBucket}/results/job-1/run-1/SUCCEEDED_0.json`),
      readProgress: await can('s3:GetObject', `${arns.stateBucket}/progress/job-1/batches/b1.json`),
    };
    // Assert
    expect(results).toEqual({
      readManifest: true,
      readResults: true,
      writeResults: false,
      deleteResults: false,
      readProgress: false,
    });
  });
});
