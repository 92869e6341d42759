import fc from 'fast-check';
import { parseObjectCreatedEvents } from '../../functions/list/s3-events';
import { synthesize } from './synth';

/** Step Functions' limit on an execution's input. */
const MAX_INPUT_BYTES = 256 * 1024;
/** What "room to spare" means here: the worst case stays under two thirds of the limit. */
const BUDGET_BYTES = Math.floor((MAX_INPUT_BYTES * 2) / 3);

/**
 * Applies a Pipes input template to one record as EventBridge Pipes does it: a JSON SQS body is parsed
 * implicitly, and each `<$.path>` is replaced by the value at that path WITHOUT escaping ("EventBridge
 * doesn't escape values extracted by Input Path, when populating the Input Template"): a string goes in
 * as its raw characters, whatever quotes the template puts around it, and an object or array as its JSON
 * text. The result is parsed as the execution input is, so a template that lets a value break the JSON
 * fails here. A path that finds nothing throws, so a template naming a field the events lack fails too.
 */
function applyInputTemplate(template: string, record: Record<string, unknown>): unknown {
  const event = { ...record, body: typeof record.body === 'string' ? JSON.parse(record.body) : record.body };
  const filled = template.replace(/<\$\.([A-Za-z0-9_.-]+)>/g, (_match, path: string) => {
    let value: unknown = event;
    for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part];
    if (value === undefined) throw new Error(`template path $.${path} finds nothing in the record`);
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
  return JSON.parse(filled);
}

/** A 1,024-byte key with every byte percent-encoded, as EventBridge might send it: 3,072 characters. */
function encodedKey(index: number): { key: string; sent: string } {
  const key = `data/incoming/${String(index).padStart(4, '0')}/`.padEnd(1024, 'é').slice(0, 1024);
  const bytes = Buffer.from(key, 'utf8').subarray(0, 1024);
  const whole = bytes.toString('utf8').replace(/\uFFFD+$/, '');
  const sent = [...Buffer.from(whole, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`);
  return { key: whole, sent: sent.join('') };
}

/** An SQS record as a Pipe receives it, its body a full EventBridge "Object Created" event. */
function sqsRecord(index: number, bucket: string, sentKey: string): Record<string, unknown> {
  const event = {
    version: '0',
    id: `17793124-05d4-b198-2fde-${String(index).padStart(12, '0')}`,
    'detail-type': 'Object Created',
    source: 'aws.s3',
    account: '111111111111',
    time: '2026-11-28T10:15:30Z',
    region: 'eu-west-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: {
        key: sentKey,
        size: 5_368_709_120,
        etag: 'd41d8cd98f00b204e9800998ecf8427e-1000',
        'version-id': 'Wc2rZ7v3Sx0dI6nqA9mBqvUtdz3yjZ1H',
        sequencer: '0064D3901D00059242',
      },
      'request-id': 'N4N7GDK58NMKJ12R',
      requester: '111111111111',
      'source-ip-address': '203.0.113.7',
      reason: 'CompleteMultipartUpload',
    },
  };
  return {
    messageId: `059f36b4-87a3-44ab-83d2-${String(index).padStart(12, '0')}`,
    receiptHandle: 'AQEB'.padEnd(600, 'x'),
    body: JSON.stringify(event),
    attributes: {
      ApproximateReceiveCount: '5',
      SentTimestamp: '1795860930000',
      SenderId: 'AIDAIENQZJOLO23YVJ4VO',
      ApproximateFirstReceiveTimestamp: '1795860930005',
    },
    messageAttributes: {},
    md5OfBody: '97c5b663276e1ff764c521cad5d65e3f',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:111111111111:s3xcopy-object-created',
    awsRegion: 'eu-west-1',
  };
}

describe('the S3 event pipe: execution input with room to spare', () => {
  const built = synthesize({ s3Events: { delivery: 'pipe' } });
  const pipe = Object.values(built.sourceTemplate.findResources('AWS::Pipes::Pipe'))[0];
  const template = pipe?.Properties.TargetParameters.InputTemplate as string | undefined;
  const batchSize = pipe?.Properties.SourceParameters.SqsQueueParameters.BatchSize as number;
  const bucket = 'a'.repeat(63);

  it('trims each record with an input template', () => {
    expect(typeof template).toBe('string');
  });

  it('keeps the worst case (50 events, 1,024-byte keys, every byte percent-encoded) under two thirds of 256 KiB', () => {
    // Arrange
    expect(batchSize).toBe(50);
    const keys = Array.from({ length: batchSize }, (_, index) => encodedKey(index));
    const records = keys.map(({ sent }, index) => sqsRecord(index, bucket, sent));
    // Act
    const input = JSON.stringify(records.map((record) => applyInputTemplate(template as string, record)));
    // Assert
    const untrimmed = Buffer.byteLength(JSON.stringify(records));
    const trimmed = Buffer.byteLength(input);
    expect({ untrimmedOverBudget: untrimmed > BUDGET_BYTES, trimmedUnderBudget: trimmed < BUDGET_BYTES }).toEqual({
      untrimmedOverBudget: true,
      trimmedUnderBudget: true,
    });
    // Measured: 243,451 bytes untrimmed, 168,151 trimmed (the object's size, ETag, version and sequencer included).
    expect(trimmed).toBeLessThan(172_000);
  });

  it('hands List every key of the batch, recoverable from its trimmed record', () => {
    // Arrange
    const keys = Array.from({ length: batchSize }, (_, index) => encodedKey(index));
    const records = keys.map(({ sent }, index) => sqsRecord(index, bucket, sent));
    // Act
    const parsed = parseObjectCreatedEvents(records.map((record) => applyInputTemplate(template as string, record)));
    // Assert: the decoded key is the first candidate List HEADs
    expect(parsed.ignored).toEqual([]);
    expect(parsed.refs.map((ref) => ({ bucket: ref.bucket, key: ref.key }))).toEqual(
      keys.map(({ key }) => ({ bucket, key })),
    );
  });

  it('carries any key List can read back as it was sent, for any key characters', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }), (key) => {
        // Act
        const trimmed = applyInputTemplate(template as string, sqsRecord(0, 'events-src', key));
        const parsed = parseObjectCreatedEvents([trimmed]);
        // Assert: the key as sent is one of the candidates
        const ref = parsed.refs[0];
        return parsed.refs.length === 1 && [ref?.key, ...(ref?.fallbackKeys ?? [])].includes(key);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the execution input valid JSON for keys holding quotes, backslashes and control characters', () => {
    // Arrange: keys S3 accepts, as EventBridge may send them (unencoded); one bad record would send its
    // whole batch of 50 to the dead-letter queue
    const keys = ['data/say "hi".txt', 'data/back\\slash\\', 'data/tab\there', 'data/"}],"x":{"', 'data/\\u0041'];
    for (const key of keys) {
      // Act
      const trimmed = applyInputTemplate(template as string, sqsRecord(0, 'events-src', key));
      const parsed = parseObjectCreatedEvents([trimmed]);
      // Assert
      const ref = parsed.refs[0];
      expect({ key, found: [ref?.key, ...(ref?.fallbackKeys ?? [])].includes(key) }).toEqual({ key, found: true });
    }
  });

  it('passes the event type through, so List still ignores anything but Object Created', () => {
    // Arrange
    const record = sqsRecord(0, 'events-src', 'data/x');
    const body = JSON.parse(record.body as string);
    body['detail-type'] = 'Object Deleted';
    // Act
    const parsed = parseObjectCreatedEvents([
      applyInputTemplate(template as string, { ...record, body: JSON.stringify(body) }),
    ]);
    // Assert
    expect(parsed.refs).toEqual([]);
    expect(parsed.ignored).toEqual([expect.stringMatching(/Object Deleted/)]);
  });
});
