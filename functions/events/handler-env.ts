/**
 * The environment variable infra sets for the events function: kept out of handler.ts so infra can name
 * it without importing the handler (whose module builds the deployed clients when loaded).
 */

/** The queue's maxReceiveCount: a message received this often is on its last delivery. */
export const MAX_RECEIVE_COUNT_ENV = 'S3XCOPY_EVENTS_MAX_RECEIVE_COUNT';
/** The deployment's state machine: objects too large for one invocation are handed to it (hand-over.ts). */
export const STATE_MACHINE_ARN_ENV = 'S3XCOPY_STATE_MACHINE_ARN';
/** s3Events.handOverSize: objects larger than this many bytes always go to the workflow. */
export const HAND_OVER_BYTES_ENV = 'S3XCOPY_EVENTS_HAND_OVER_BYTES';
