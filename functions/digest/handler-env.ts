/**
 * The digest function's environment variable, kept out of handler.ts so infra can name it without
 * importing the handler (whose module builds the deployed clients when loaded).
 */

/** Hours each run covers: the schedule's interval (infra sets both from s3Events.digestHours). */
export const DIGEST_HOURS_ENV = 'S3XCOPY_EVENTS_DIGEST_HOURS';
