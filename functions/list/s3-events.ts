/**
 * Keys mode: the execution input is a batch of S3 "Object Created" events instead of a job. Accepted
 * shapes (docs/state-bucket.md repeats them):
 * - one EventBridge event (what an EventBridge rule with a Step Functions target passes);
 * - an array of EventBridge events;
 * - an array of SQS records whose `body` is such an event as a JSON string (what an EventBridge Pipe
 *   from an SQS queue delivers to a Step Functions target), or a classic S3 notification
 *   (`{"Records":[...]}`, when S3 notifies the queue directly);
 * - `{ "events": [...] }` holding any of the above.
 *
 * Key encoding. Classic S3 notifications (`Records[].s3.object.key`) URL-encode the key form-style
 * ("red flower.jpg" arrives as "red+flower.jpg", "+" as "%2B"), as AWS documents; they are decoded.
 * For EventBridge (`detail.object.key`) AWS's documentation does not settle it: its sample events show
 * reserved characters such as ":" unescaped, yet Powertools for Python decodes EventBridge keys with
 * unquote_plus and users report encoded keys. Guessing wrong either way loses objects (a key that
 * really holds "+" or "%41" would be decoded away; an encoded one would never be found), so an
 * EventBridge key yields two candidates: its form-decoded form first, then the key as sent (one
 * candidate when both agree or the key is no valid encoding). The list step HEADs them in that order
 * and takes the first that exists; the object has vanished only when every candidate is missing.
 * Events are deduplicated, sorted and resumed by the first (primary) candidate. When both candidates
 * exist (both "a b" and "a+b" are stored), the decoded one is copied.
 */

import { decodeFormUrl } from './s3-url-encoding';

/** One object named by an event. */
export interface ObjectRef {
  bucket: string;
  /** The primary candidate key: the key to deduplicate, sort and resume by, and to HEAD first. */
  key: string;
  /** Further candidates, HEADed in this order only while the earlier ones are missing (EventBridge). */
  fallbackKeys?: string[];
}

export interface ParsedEvents {
  /** Object Created events' objects, deduplicated by bucket and primary key, in arrival order. */
  refs: ObjectRef[];
  /** Items that named no created object (other event types, S3 test events, unreadable bodies), with why. */
  ignored: string[];
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when the execution input is a batch of events rather than a job (a job has none of these fields). */
export function isEventsRequest(request: unknown): boolean {
  if (Array.isArray(request)) return true;
  if (!isRecord(request)) return false;
  return 'detail-type' in request || 'Records' in request || 'events' in request || 'body' in request;
}

/**
 * Decodes a classic S3 notification key: form URL encoding, where "+" is a space.
 * @throws URIError when the key is no valid encoding (a "%" not followed by two hex digits of UTF-8)
 */
export function decodeNotificationKey(encoded: string): string {
  return decodeFormUrl(encoded);
}

/**
 * The keys an EventBridge event's `detail.object.key` may stand for, most likely first: the
 * form-decoded key, then the key as sent; one key when both agree or the key does not decode.
 */
export function eventBridgeKeyCandidates(key: string): [string, ...string[]] {
  let decoded: string;
  try {
    decoded = decodeFormUrl(key);
  } catch {
    return [key];
  }
  return decoded === key ? [key] : [decoded, key];
}

/**
 * Extracts the created objects from a keys-mode request, in any of the accepted shapes.
 * Never throws on a bad item: it is listed in `ignored` (the handler logs it), so one malformed message
 * cannot block the rest of the batch.
 */
export function parseObjectCreatedEvents(request: unknown): ParsedEvents {
  const refs: ObjectRef[] = [];
  const ignored: string[] = [];
  const byId = new Map<string, ObjectRef>();
  const add = (bucket: string, [key, ...fallbacks]: [string, ...string[]]) => {
    const id = `${bucket}\u0000${key}`;
    const known = byId.get(id);
    const ref: ObjectRef = known ?? { bucket, key };
    const added = fallbacks.filter((fallback) => fallback !== key && !ref.fallbackKeys?.includes(fallback));
    if (added.length > 0) ref.fallbackKeys = [...(ref.fallbackKeys ?? []), ...added];
    if (known) return;
    byId.set(id, ref);
    refs.push(ref);
  };

  const visit = (item: unknown, where: string): void => {
    if (Array.isArray(item)) {
      for (const [index, child] of item.entries()) visit(child, `${where}[${index}]`);
      return;
    }
    if (!isRecord(item)) {
      ignored.push(`${where}: not an object`);
      return;
    }
    if (Array.isArray(item.events)) {
      visit(item.events, `${where}.events`);
      return;
    }
    if ('body' in item) {
      // An SQS record. Pipes pass the body as the queue holds it (a string); accept it parsed as well.
      let body: unknown = item.body;
      if (typeof body === 'string') {
        try {
          body = JSON.parse(body);
        } catch {
          ignored.push(`${where}.body: not JSON`);
          return;
        }
      }
      visit(body, `${where}.body`);
      return;
    }
    if ('detail-type' in item) {
      const detail = isRecord(item.detail) ? item.detail : {};
      const bucket = isRecord(detail.bucket) ? detail.bucket.name : undefined;
      const key = isRecord(detail.object) ? detail.object.key : undefined;
      if (item['detail-type'] !== 'Object Created') {
        ignored.push(`${where}: detail-type "${String(item['detail-type'])}" is not "Object Created"`);
      } else if (typeof bucket !== 'string' || typeof key !== 'string' || key === '') {
        ignored.push(`${where}: no detail.bucket.name or detail.object.key`);
      } else {
        add(bucket, eventBridgeKeyCandidates(key));
      }
      return;
    }
    if (Array.isArray(item.Records)) {
      for (const [index, record] of (item.Records as unknown[]).entries()) {
        visitNotification(record, `${where}.Records[${index}]`);
      }
      return;
    }
    if (item.Event === 's3:TestEvent') {
      ignored.push(`${where}: S3 test event`);
      return;
    }
    ignored.push(`${where}: neither an EventBridge event, an SQS record nor an S3 notification`);
  };

  const visitNotification = (record: unknown, where: string): void => {
    if (!isRecord(record) || !isRecord(record.s3)) {
      ignored.push(`${where}: not an S3 notification record`);
      return;
    }
    const eventName = typeof record.eventName === 'string' ? record.eventName : '';
    const bucket = isRecord(record.s3.bucket) ? record.s3.bucket.name : undefined;
    const encodedKey = isRecord(record.s3.object) ? record.s3.object.key : undefined;
    if (!eventName.startsWith('ObjectCreated:')) {
      ignored.push(`${where}: eventName "${eventName}" is not ObjectCreated:*`);
      return;
    }
    if (typeof bucket !== 'string' || typeof encodedKey !== 'string' || encodedKey === '') {
      ignored.push(`${where}: no s3.bucket.name or s3.object.key`);
      return;
    }
    try {
      add(bucket, [decodeNotificationKey(encodedKey)]);
    } catch {
      ignored.push(`${where}: key "${encodedKey}" is not valid URL encoding`);
    }
  };

  visit(request, 'request');
  return { refs, ignored };
}
