/**
 * Published on-demand list prices, AWS region us-east-1 (N. Virginia), in US dollars, as read on the
 * date below. One table, so a price change is one edit; docs/cost.md and shared/NOTES.md quote it.
 * Free tiers are left out on purpose: a cost per million objects should not depend on what else the
 * account ran that month.
 */
export const PRICES_AS_OF = '2026-11-28';

/** The region these prices are for. Other regions differ by up to ~50% (for example Sao Paulo). */
export const PRICES_REGION = 'us-east-1';

export const PRICES = {
  s3: {
    // https://aws.amazon.com/s3/pricing/ (Requests & data retrievals, S3 Standard):
    // "PUT, COPY, POST, LIST requests (per 1,000 requests) $0.005"; "GET, SELECT, and all other
    // requests (per 1,000 requests) $0.0004". CreateMultipartUpload and CompleteMultipartUpload are
    // POSTs and UploadPartCopy is a PUT, so all three are billed at the PUT tier; HEAD is billed as GET.
    // A COPY is billed to the target bucket's owner; the source GET it implies is not billed separately.
    putCopyPostListPerRequest: 0.005 / 1000,
    getHeadPerRequest: 0.0004 / 1000,
    // DELETE (and AbortMultipartUpload, which is a DELETE) is free.
    deletePerRequest: 0,
  },
  stepFunctions: {
    // https://aws.amazon.com/step-functions/pricing/ : Standard workflows, "$0.025 per 1,000 state
    // transitions" in US East (N. Virginia); retries are charged as transitions too.
    // https://docs.aws.amazon.com/step-functions/latest/dg/concepts-transitions.html : a Distributed Map
    // is charged one state transition for each child workflow execution it starts (Standard or Express).
    standardPerTransition: 0.025 / 1000,
    // Same pricing page, Express workflows: "$1.00 per 1M requests" and duration "$0.00001667 per
    // GB-second" (first 1,000 GB-hours a month; $0.06 per GB-hour), duration rounded up to 100 ms and
    // memory billed in 64 MB chunks. Cheaper tiers above 1,000 GB-hours are left out (conservative).
    expressPerRequest: 1.0 / 1_000_000,
    expressPerGbSecond: 0.00001667,
    expressDurationRoundingMs: 100,
    expressMemoryChunkMb: 64,
  },
  lambda: {
    // https://aws.amazon.com/lambda/pricing/ : "$0.20 per 1M requests"; duration per GB-second, first
    // 6 billion GB-seconds a month: x86 $0.0000166667, Arm (Graviton) $0.0000133334. Billed per 1 ms.
    perRequest: 0.2 / 1_000_000,
    perGbSecond: { arm64: 0.0000133334, x86_64: 0.0000166667 },
  },
  sts: {
    // https://aws.amazon.com/iam/faqs/ ("IAM and AWS STS are features of your AWS account offered at no
    // additional charge"): AssumeRole is free. Kept in the table so the model can show it is zero.
    perRequest: 0,
  },
  sns: {
    // https://aws.amazon.com/sns/pricing/ : Standard topics, "$0.50 per 1 million" API requests
    // (Publish; each 64 KB chunk of a payload counts as one request). Email deliveries are
    // "$2.00 per 100,000"; one notification per job makes either negligible.
    publishPerRequest: 0.5 / 1_000_000,
    emailDeliveryPerNotification: 2.0 / 100_000,
  },
  sqs: {
    // https://aws.amazon.com/sqs/pricing/ : Standard queues, "$0.40 per million requests" (after the first
    // million a month, left out) and "each 64 KB chunk of a payload is billed as 1 request". A message costs
    // its SendMessage, plus its share of the ReceiveMessage and DeleteMessageBatch calls that fetch and
    // delete it (up to 10 messages each; an event source mapping's pollers batch them).
    perRequest: 0.4 / 1_000_000,
    messagesPerReceive: 10,
  },
  pipes: {
    // https://aws.amazon.com/eventbridge/pricing/ (Pipes): "$0.40 per million requests" after filtering,
    // each 64 KB chunk of a payload one request; a request is one event read from the source.
    perRequest: 0.4 / 1_000_000,
  },
  eventBridge: {
    // https://aws.amazon.com/eventbridge/pricing/ (Event buses): AWS management events are ingested for
    // free, but S3's object-level events are "AWS opt-in data events" (sent once EventBridge notifications
    // are turned on for a bucket), billed per million like custom events: $1.00. Delivery to a target in
    // the same account is free. S3's own event notifications to an SQS queue cost nothing.
    optInDataEventPerEvent: 1.0 / 1_000_000,
  },
  replication: {
    // https://aws.amazon.com/s3/pricing/ (Replication): S3 Replication has no per-object charge of its own
    // (only its PUTs at the target's tier, and inter-region transfer for CRR); replicating objects that
    // existed before the rule needs S3 Batch Replication, a Batch Operations job ($0.25 + $1.00 per million).
    // Replication Time Control, if wanted, adds $0.015 per GB (left out).
    perObject: 0,
  },
  archiveRetrieval: {
    // Restoring archived objects before copying them (RestoreObject).
    // https://aws.amazon.com/s3/pricing/ (Requests & data retrievals), quoted with a worked example in
    // https://repost.aws/knowledge-center/s3-manage-data-retrieval: S3 Glacier Flexible Retrieval
    // Expedited "$10 per 1,000 requests" + "$0.03 per GB", Standard "$0.05 per 1,000" + "$0.01 per GB";
    // Bulk retrievals are free for Flexible Retrieval ("Bulk retrievals are free for objects that are
    // stored in S3 Glacier Flexible Retrieval", AWS's "Archive retrieval options" page). S3 Glacier Deep
    // Archive: Standard "$0.10 per 1,000" + "$0.02 per GB", Bulk "$0.025 per 1,000" + "$0.0025 per GB";
    // no Expedited tier.
    GLACIER: {
      Expedited: { perRequest: 10 / 1000, perGb: 0.03 },
      Standard: { perRequest: 0.05 / 1000, perGb: 0.01 },
      Bulk: { perRequest: 0, perGb: 0 },
    },
    DEEP_ARCHIVE: {
      Standard: { perRequest: 0.1 / 1000, perGb: 0.02 },
      Bulk: { perRequest: 0.025 / 1000, perGb: 0.0025 },
    },
    // The restored temporary copy is billed as S3 Standard storage for the days it is kept: "$0.023 per GB"
    // a month (first 50 TB), prorated here per day (30-day month).
    restoredCopyPerGbMonth: 0.023,
  },
  batchOperations: {
    // https://aws.amazon.com/s3/pricing/ (Management & insights, S3 Batch Operations): "$0.25 per job"
    // and "$1.00 per million object operations performed", plus the S3 requests each operation makes.
    perJob: 0.25,
    perObject: 1.0 / 1_000_000,
  },
} as const;
