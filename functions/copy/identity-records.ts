/**
 * The copy side of identity records (functions/shared/identity-record.ts): after a copy whose target
 * ETag differs from the source's, one PUT of a small record into the state bucket, so the next sync can
 * prove the target current from listings alone. The event path, which checks one key at a time, HEADs a
 * record instead of listing them.
 *
 * A record is an optimisation, never a condition of the copy: a record that cannot be written is logged
 * and counted, and its object is simply copied again by the next sync (the safe direction).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { normalizeEtag } from '../shared/content-identity';
import { awsErrorCode, errorMessage, httpStatusOf } from '../shared/errors';
import {
  type IdentityFacts,
  identityRecordBody,
  identityRecordEtag,
  identityRecordKey,
  recordKeyFits,
  recordProves,
} from '../shared/identity-record';
import type { Job } from '../shared/job';

/** Where records are kept: the state bucket, through the function's own credentials (never the target role). */
export interface IdentityRecordStore {
  s3: S3Client;
  bucket: string;
}

/** One batch's (or one event batch's) record writer and reader; counts what it wrote. */
export class IdentityRecords {
  written = 0;
  notWritten = 0;
  /** Set once a PUT's ETag was not the body's MD5: no record written to this bucket could ever match. */
  private unusable = false;

  constructor(
    private readonly store: IdentityRecordStore,
    private readonly job: Job,
    private readonly logger: Logger,
  ) {}

  /**
   * Records that `targetKey` now holds a copy of the source write (size, source ETag), when its ETag
   * differs from the source's; a copy with the source's ETag needs no record (the listings prove it).
   */
  async record(targetKey: string, facts: IdentityFacts): Promise<void> {
    if (normalizeEtag(facts.targetEtag) === '' || normalizeEtag(facts.sourceEtag) === normalizeEtag(facts.targetEtag)) {
      return;
    }
    const key = identityRecordKey(this.job, targetKey);
    if (this.unusable || !recordKeyFits(key)) {
      this.notWritten++;
      return;
    }
    try {
      const answer = await this.store.s3.send(
        new PutObjectCommand({
          Bucket: this.store.bucket,
          Key: key,
          Body: identityRecordBody(facts),
          ContentType: 'application/json',
        }),
      );
      if (normalizeEtag(answer.ETag) !== identityRecordEtag(facts)) {
        this.unusable = true;
        this.notWritten++;
        this.logger.warn(
          'The state bucket gives objects ETags that are not the MD5 of their bytes (SSE-KMS?): identity records ' +
            'cannot prove anything there, so none more are written and such objects are copied again by each sync',
          { bucket: this.store.bucket, key, fix: 'keep the state bucket on SSE-S3 (its default encryption)' },
        );
        return;
      }
      this.written++;
    } catch (error) {
      this.notWritten++;
      this.logger.warn('Could not write an identity record; the next sync copies this object again', {
        bucket: this.store.bucket,
        key,
        error: errorMessage(error),
        fix: 'give the function s3:PutObject on <state bucket>/identity/*',
      });
    }
  }

  /**
   * The event path's check of one key: HEADs the target key's record and compares its ETag with the
   * record these facts would have. A missing record (or one that cannot be read) proves nothing.
   */
  async proves(targetKey: string, facts: IdentityFacts): Promise<boolean> {
    const key = identityRecordKey(this.job, targetKey);
    if (!recordKeyFits(key)) return false;
    try {
      const head = await this.store.s3.send(new HeadObjectCommand({ Bucket: this.store.bucket, Key: key }));
      return recordProves(facts, head.ETag);
    } catch (error) {
      if (httpStatusOf(error) !== 404) {
        this.logger.warn('Could not read an identity record; the object is copied again', {
          bucket: this.store.bucket,
          key,
          error: `${awsErrorCode(error)}: ${errorMessage(error)}`,
        });
      }
      return false;
    }
  }

  /** The batch result's count, or undefined when the batch needed no record. */
  summary(): { written: number; notWritten: number } | undefined {
    return this.written + this.notWritten > 0 ? { written: this.written, notWritten: this.notWritten } : undefined;
  }
}
