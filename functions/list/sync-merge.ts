import type { ManifestObject } from '../shared/job';
import { compareKeys } from './key-order';
import type { ListedPage } from './s3-listing';

/**
 * DESIGN.md's sync rule, as `aws s3 sync` applies it: the target already has the object when the
 * sizes match and either the ETags match or the target is not older than the source. (ETags of
 * multipart copies differ from the source's when the part sizes differ, hence the date fallback.)
 */
export function targetIsCurrent(source: ManifestObject, target: ManifestObject): boolean {
  if (source.size !== target.size) return false;
  return source.etag === target.etag || Date.parse(target.lastModified) >= Date.parse(source.lastModified);
}

/**
 * The target side of the one-pass merge: walks the target listing (sorted in S3's order, fetched a page
 * at a time) alongside the source listing. Lookups must come in ascending key order; each target page is
 * read once, and no object is HEADed.
 */
export class TargetCursor {
  private page: ManifestObject[] = [];
  private index = 0;
  private done = false;
  private readonly pages: AsyncIterator<ListedPage>;

  /**
   * @param pages the target prefix's listing, starting where the source slice starts (mapped onto the
   *   target prefix). The source and target keys share their prefixes, so comparing whole target keys
   *   orders them as their relative parts.
   */
  constructor(pages: AsyncIterable<ListedPage>) {
    this.pages = pages[Symbol.asyncIterator]();
  }

  /**
   * The target object with this key, or undefined if the target lacks it. Calls must come in ascending
   * order (by compareKeys); target keys passed over are not revisited.
   */
  async find(targetKey: string): Promise<ManifestObject | undefined> {
    for (;;) {
      while (this.index < this.page.length) {
        const candidate = this.page[this.index] as ManifestObject;
        const order = compareKeys(candidate.key, targetKey);
        if (order > 0) return undefined;
        this.index++;
        if (order === 0) return candidate;
      }
      if (this.done) return undefined;
      const next = await this.pages.next();
      if (next.done) {
        this.done = true;
        return undefined;
      }
      this.page = next.value.objects;
      this.index = 0;
    }
  }
}
