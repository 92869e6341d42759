/**
 * The environment variable infra sets for the events function: kept out of handler.ts so infra can name
 * it without importing the handler (whose module builds the deployed clients when loaded).
 */

/** The queue's maxReceiveCount: a message received this often is on its last delivery. */
export const MAX_RECEIVE_COUNT_ENV = 'S3XCOPY_EVENTS_MAX_RECEIVE_COUNT';
