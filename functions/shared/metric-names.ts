/**
 * What each copy invocation ended in, as metrics of the copy function (service s3xcopy-copy). Lambda's
 * own Errors metric cannot tell them apart: a copy that runs out of time hands its batch over to the
 * next invocation by throwing CopyTimeBudgetError (the state machine retries it), which is normal work
 * for a large object, while anything else thrown is a real failure. The copy function's alarm watches
 * `failed` (infra/constructs/notifications.ts).
 */
export const COPY_INVOCATION_METRICS = {
  /** An invocation threw anything but a hand-over: objects failed, a role refused, a bad job... */
  failed: 'InvocationsFailed',
  /** An invocation stopped short of its deadline after making progress; the next one resumes. */
  handedOver: 'InvocationsHandedOver',
} as const;

/** The events function's Powertools service name: the `service` dimension of its metrics. */
export const EVENTS_SERVICE = 's3xcopy-events';

/**
 * The events function's per-batch metrics (one EMF line a batch, dimension service=s3xcopy-events), by the
 * ledger field each one sums; the daily digest (functions/digest/) reads them back, so the names live here.
 */
export const EVENTS_BATCH_METRICS = {
  selected: 'ObjectsSelected',
  copied: 'ObjectsCopied',
  bytesCopied: 'BytesCopied',
  skipped: 'ObjectsSkipped',
  failed: 'ObjectsFailed',
  notAttempted: 'ObjectsNotAttempted',
  duplicates: 'DuplicateEvents',
  handedOver: 'ObjectsHandedOver',
} as const;

/**
 * Objects whose failure was final (their message's last delivery failed; they go to the dead-letter queue
 * and were reported then). ObjectsFailed counts every failed delivery, so a key that fails five deliveries
 * counts five times there and once here: the digest counts objects from this one.
 */
export const EVENTS_FAILED_FOR_GOOD = 'ObjectsFailedForGood';

/**
 * Objects the events function ran out of time for on their message's last delivery: they go to the
 * dead-letter queue without a copy attempt. ObjectsNotAttempted counts every such delivery; the digest
 * counts these as failed for good, beside ObjectsFailedForGood.
 */
export const EVENTS_OUT_OF_TIME_FOR_GOOD = 'ObjectsOutOfTimeForGood';
