import { normalizeEtag, sameContent } from '../shared/content-identity';
import { recordProves } from '../shared/identity-record';
import type { ManifestObject } from '../shared/job';
import { compareKeys } from './key-order';
import type { ListedPage } from './s3-listing';

/**
 * The sync rule on two listing entries: functions/shared/content-identity.ts (same size and ETag; a
 * listing carries no checksum values, so different ETags mean "copy"). Never a timestamp.
 */
export function targetIsCurrent(source: ManifestObject, target: ManifestObject): boolean {
  return sameContent({ size: source.size, etag: source.etag }, { size: target.size, etag: target.etag });
}

/**
 * What the sync does with a source object whose target exists: undefined when the target is current;
 * otherwise the manifest entry to copy. A target that holds the source's content (same size and ETag)
 * but is older than the source (the source's LastModified is later than the target's, which a copy
 * writes after reading it) may miss a change of headers, metadata or tags made in place (CopyObject onto
 * itself keeps a single-part ETag): such an entry carries `checkSettings`, and the copy worker compares
 * them before it copies (functions/copy/settings-check.ts). Only those objects cost HEADs.
 *
 * `recordEtag`: the listed ETag of the target key's identity record (shared/identity-record.ts), when the
 * ETags differ and one was found. A record that states exactly this source write and this target write
 * makes the target current as equal ETags would, the settings rule included.
 */
export function syncEntry(
  source: ManifestObject,
  target: ManifestObject,
  recordEtag?: string,
): ManifestObject | undefined {
  const byRecord = !targetIsCurrent(source, target) && provenByRecord(source, target, recordEtag);
  if (!byRecord && !targetIsCurrent(source, target)) return source;
  const sourceWritten = Date.parse(source.lastModified);
  const targetWritten = Date.parse(target.lastModified);
  if (!(sourceWritten > targetWritten)) return undefined;
  // The copy worker checks the target again before it compares settings: it must accept this ETag too.
  return { ...source, checkSettings: true, ...(byRecord ? { recordedTargetEtag: target.etag } : {}) };
}

/**
 * Whether only an identity record can tell (shared/identity-record.ts): the same size, and two ETags that
 * differ. Different sizes are different content whatever a record says.
 */
export function needsIdentityRecord(source: ManifestObject, target: ManifestObject): boolean {
  if (source.size !== target.size) return false;
  const [a, b] = [normalizeEtag(source.etag), normalizeEtag(target.etag)];
  return a !== '' && b !== '' && a !== b;
}

/** True when the record listed with `recordEtag` proves the target a copy of this source write. */
function provenByRecord(source: ManifestObject, target: ManifestObject, recordEtag: string | undefined): boolean {
  if (recordEtag === undefined || !needsIdentityRecord(source, target)) return false;
  return recordProves({ size: source.size, sourceEtag: source.etag, targetEtag: target.etag }, recordEtag);
}

/** What the target cursor knows about one target key. */
export type TargetLookup =
  | { kind: 'found'; object: ManifestObject }
  | { kind: 'absent' }
  /**
   * The cursor stopped before fetching another target page (the slice is out of time). Every target
   * key up to and including `after` was passed over, and all of them sort before the key looked up.
   */
  | { kind: 'paused'; after: string };

export interface TargetCursorOptions {
  /**
   * Asked before each target page but the first: true stops the lookup with `paused`. Without it, one
   * lookup could page through any number of target-only keys, far beyond the slice's time.
   */
  shouldPause?: () => boolean;
  /**
   * Mirror deletes: called for each target object passed over with no source key
   * looked up for it (a target-only key), and `seen` counts every target object walked.
   */
  onTargetOnly?: (object: ManifestObject) => void;
}

/**
 * The target side of the one-pass merge: walks the target listing (sorted in S3's order, fetched a page
 * at a time) alongside the source listing. Lookups must come in ascending key order; each target page is
 * read once, and no object is HEADed.
 *
 * One page ahead: the first target page is requested when the cursor is built, and
 * each next page as soon as the current one is handed to the merge, so target requests overlap the
 * source listing instead of adding to it. At most one request is ahead; a page fetched ahead but never
 * needed (the slice paused or ended) is dropped, and its error too, since nothing depended on it.
 */
export class TargetCursor {
  private page: ManifestObject[] = [];
  private index = 0;
  private done = false;
  /** The page requested ahead, not yet handed to the merge. */
  private ahead: Promise<IteratorResult<ListedPage>> | undefined;
  /** The last target key passed over or found; undefined until the first page is read. */
  private lastPassed: string | undefined;
  private readonly pages: AsyncIterator<ListedPage>;
  private readonly shouldPause: () => boolean;
  private readonly onTargetOnly: ((object: ManifestObject) => void) | undefined;
  /** Target objects walked so far (passed over or found). */
  seen = 0;

  /**
   * @param pages the target prefix's listing, starting where the source slice starts (mapped onto the
   *   target prefix). The source and target keys share their prefixes, so comparing whole target keys
   *   orders them as their relative parts.
   */
  constructor(pages: AsyncIterable<ListedPage>, options: TargetCursorOptions = {}) {
    this.pages = pages[Symbol.asyncIterator]();
    this.shouldPause = options.shouldPause ?? (() => false);
    this.onTargetOnly = options.onTargetOnly;
    this.requestAhead();
  }

  private requestAhead(): void {
    const ahead = this.pages.next();
    // Awaited by nextPage when the merge needs the page; until then a failure must not surface as an
    // unhandled rejection (and is dropped if the page is never needed).
    ahead.catch(() => undefined);
    this.ahead = ahead;
  }

  /** Hands out the page requested ahead and requests the one after it, unless this one is the last. */
  private async nextPage(): Promise<IteratorResult<ListedPage>> {
    const next = await (this.ahead ?? this.pages.next());
    this.ahead = undefined;
    if (!next.done && next.value.more) this.requestAhead();
    return next;
  }

  /**
   * Walks the rest of the target listing (the source is exhausted), reporting every key left as
   * target-only. Not paused by time: the tail is listed in one go.
   */
  async drain(): Promise<void> {
    for (;;) {
      while (this.index < this.page.length) {
        const candidate = this.page[this.index] as ManifestObject;
        this.index++;
        this.seen++;
        this.lastPassed = candidate.key;
        this.onTargetOnly?.(candidate);
      }
      if (this.done) return;
      const next = await this.nextPage();
      if (next.done) {
        this.done = true;
        return;
      }
      this.page = next.value.objects;
      this.index = 0;
      this.done = !next.value.more;
    }
  }

  /**
   * Looks up the target object with this key. Calls must come in ascending order (by compareKeys);
   * target keys passed over are not revisited. It pauses only after it has passed over at least one
   * key, so a slice that stops here always moves the merge forward.
   */
  async find(targetKey: string): Promise<TargetLookup> {
    for (;;) {
      while (this.index < this.page.length) {
        const candidate = this.page[this.index] as ManifestObject;
        const order = compareKeys(candidate.key, targetKey);
        if (order > 0) return { kind: 'absent' };
        this.index++;
        this.seen++;
        this.lastPassed = candidate.key;
        if (order === 0) return { kind: 'found', object: candidate };
        this.onTargetOnly?.(candidate);
      }
      if (this.done) return { kind: 'absent' };
      if (this.lastPassed !== undefined && this.shouldPause()) return { kind: 'paused', after: this.lastPassed };
      const next = await this.nextPage();
      if (next.done) {
        this.done = true;
        return { kind: 'absent' };
      }
      this.page = next.value.objects;
      this.index = 0;
      // The last page: nothing more to fetch, so no reason to pause after it.
      this.done = !next.value.more;
    }
  }

  /**
   * Stops the target listing: no further pages are requested. A page still in flight is waited for
   * (an async generator queues return() behind it) and dropped, so no request outlives the slice.
   */
  async close(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = undefined;
    await ahead?.catch(() => undefined);
    await this.pages.return?.();
  }
}
