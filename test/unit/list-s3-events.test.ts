import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeNotificationKey, isEventsRequest, parseObjectCreatedEvents } from '../../functions/list/s3-events';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(path.join(__dirname, '../fixtures/events', name), 'utf8'));

describe('parseObjectCreatedEvents', () => {
  it('keeps an EventBridge key without encoding characters as its only candidate', () => {
    // Act
    const { refs, ignored } = parseObjectCreatedEvents(fixture('eventbridge-object-created.json'));
    // Assert
    expect(refs).toEqual([{ bucket: 'events-src', key: 'incoming/2026-11-28T10:15:30.csv' }]);
    expect(ignored).toEqual([]);
  });

  it('deduplicates keys and ignores events that create nothing', () => {
    // Act
    const { refs, ignored } = parseObjectCreatedEvents(fixture('eventbridge-batch.json'));
    // Assert
    expect(refs.map((r) => `${r.bucket}/${r.key}`)).toEqual([
      'events-src/incoming/red flower.jpg',
      'events-src/incoming/a b=c:d;e,f$g@h&i.csv',
      'events-src/incoming/ü/日本語 ファイル.txt',
      'some-other-bucket/incoming/elsewhere.txt',
      'events-src/outside/not-in-prefix.txt',
      'events-src/incoming/deleted-before-listing.txt',
    ]);
    expect(ignored).toEqual(['request[7]: detail-type "Object Deleted" is not "Object Created"']);
  });

  it('gives an EventBridge key its form-decoded form first and the raw key as the fallback', () => {
    // Act
    const { refs, ignored } = parseObjectCreatedEvents(fixture('eventbridge-encoded-keys.json'));
    // Assert
    expect(refs).toEqual([
      { bucket: 'events-src', key: 'incoming/enc/space as plus.txt', fallbackKeys: ['incoming/enc/space+as+plus.txt'] },
      {
        bucket: 'events-src',
        key: 'incoming/enc/space as pct.txt',
        fallbackKeys: ['incoming/enc/space%20as%20pct.txt'],
      },
      { bucket: 'events-src', key: 'incoming/enc/real plus.txt', fallbackKeys: ['incoming/enc/real+plus.txt'] },
      { bucket: 'events-src', key: 'incoming/enc/realA.txt', fallbackKeys: ['incoming/enc/real%41.txt'] },
      // "%.c" is no valid escape: only the raw key is a candidate.
      { bucket: 'events-src', key: 'incoming/enc/100%.csv' },
      { bucket: 'events-src', key: 'incoming/enc/never existed.txt', fallbackKeys: ['incoming/enc/never+existed.txt'] },
    ]);
    expect(ignored).toEqual([]);
  });

  it('merges the fallbacks of events whose keys decode to the same primary key', () => {
    // Arrange: "a+b" and "a%20b" both decode to "a b"
    const event = (key: string) => ({
      'detail-type': 'Object Created',
      detail: { bucket: { name: 'events-src' }, object: { key } },
    });
    // Act
    const { refs } = parseObjectCreatedEvents([event('incoming/a+b'), event('incoming/a%20b'), event('incoming/a b')]);
    // Assert
    expect(refs).toEqual([
      { bucket: 'events-src', key: 'incoming/a b', fallbackKeys: ['incoming/a+b', 'incoming/a%20b'] },
    ]);
  });

  it('reads EventBridge events from the JSON bodies of SQS records, once per key', () => {
    // Act
    const { refs, ignored } = parseObjectCreatedEvents(fixture('sqs-pipe-eventbridge.json'));
    // Assert
    expect(refs.map((r) => r.key)).toEqual([0, 1, 2, 3, 4].map((n) => `incoming/pipe/00${n} report.json`));
    expect(ignored).toEqual([]);
  });

  it('decodes the form-URL-encoded keys of classic S3 notifications and skips the test event', () => {
    // Act
    const { refs, ignored } = parseObjectCreatedEvents(fixture('sqs-s3-notification.json'));
    // Assert
    expect(refs.map((r) => r.key)).toEqual([
      'incoming/red flower.jpg',
      'incoming/a+b=c:d;e,f$g@h&i.csv',
      'incoming/ü/日本語 ファイル.txt',
    ]);
    expect(ignored).toEqual(['request[0].body: S3 test event']);
  });

  it('accepts the events under an "events" field', () => {
    // Act
    const { refs } = parseObjectCreatedEvents({ events: fixture('eventbridge-batch.json') });
    // Assert
    expect(refs).toHaveLength(6);
  });

  it('lists a record whose body is not JSON as ignored instead of failing the batch', () => {
    // Arrange
    const records = [{ messageId: 'm1', body: 'not json' }, ...(fixture('sqs-pipe-eventbridge.json') as unknown[])];
    // Act
    const { refs, ignored } = parseObjectCreatedEvents(records);
    // Assert
    expect(refs).toHaveLength(5);
    expect(ignored).toEqual(['request[0].body: not JSON']);
  });
});

describe('decodeNotificationKey', () => {
  it('turns "+" into a space and "%2B" into "+"', () => {
    // Act / Assert
    expect(decodeNotificationKey('a+b%2Bc%3D%C3%BC')).toBe('a b+c=ü');
  });
});

describe('isEventsRequest', () => {
  it('tells event batches from jobs', () => {
    // Act / Assert
    expect(isEventsRequest(fixture('eventbridge-object-created.json'))).toBe(true);
    expect(isEventsRequest(fixture('sqs-pipe-eventbridge.json'))).toBe(true);
    expect(isEventsRequest({ source: { bucket: 'b' } })).toBe(false);
    expect(isEventsRequest({})).toBe(false);
    expect(isEventsRequest(null)).toBe(false);
  });
});
