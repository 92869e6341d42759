/**
 * What an object of the S3 model holds, without its bytes: a list of byte ranges of ORIGINS (an origin is
 * the content some PutObject wrote, named by an id). A copy carries its source's segments, a part copy a
 * slice of them, a completed multipart upload the concatenation of its parts'. Normalized (adjacent ranges
 * of one origin merged, empty ones dropped), two descriptors are equal exactly when the bytes they stand
 * for are, so a test can prove a composed target holds its source's bytes.
 */
import { createHash } from 'node:crypto';

/** Bytes [start, end) of an origin. */
export interface Segment {
  origin: string;
  start: number;
  /** Exclusive. */
  end: number;
}

export type Content = readonly Segment[];

/** Raised for a range outside the content: a programming error in the model's caller. */
export class ContentRangeError extends RangeError {
  constructor(start: number, end: number, size: number) {
    super(`Byte range [${start}, ${end}) is outside content of ${size} bytes`);
    this.name = 'ContentRangeError';
  }
}

/** Content of `size` bytes of one origin. */
export function wholeOrigin(origin: string, size: number): Content {
  return normalize([{ origin, start: 0, end: size }]);
}

/** Merges adjacent ranges of one origin and drops empty ones. */
export function normalize(segments: readonly Segment[]): Content {
  const out: Segment[] = [];
  for (const segment of segments) {
    if (segment.end <= segment.start) continue;
    const last = out[out.length - 1];
    if (last && last.origin === segment.origin && last.end === segment.start) {
      out[out.length - 1] = { origin: last.origin, start: last.start, end: segment.end };
    } else {
      out.push({ origin: segment.origin, start: segment.start, end: segment.end });
    }
  }
  return out;
}

export function contentSize(content: Content): number {
  let size = 0;
  for (const segment of content) size += segment.end - segment.start;
  return size;
}

/** Bytes [start, end) of the content. */
export function sliceContent(content: Content, start: number, end: number): Content {
  const size = contentSize(content);
  if (start < 0 || end > size || start > end) throw new ContentRangeError(start, end, size);
  const out: Segment[] = [];
  let offset = 0;
  for (const segment of content) {
    const length = segment.end - segment.start;
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + length);
    if (from < to)
      out.push({ origin: segment.origin, start: segment.start + from - offset, end: segment.start + to - offset });
    offset += length;
    if (offset >= end) break;
  }
  return normalize(out);
}

/** The content of several pieces one after another. */
export function concatContent(pieces: readonly Content[]): Content {
  return normalize(pieces.flat());
}

export function sameContent(a: Content, b: Content): boolean {
  const x = normalize(a);
  const y = normalize(b);
  return (
    x.length === y.length &&
    x.every((s, i) => s.origin === y[i]?.origin && s.start === y[i]?.start && s.end === y[i]?.end)
  );
}

/**
 * The MD5 hex digest standing for the content's bytes: equal for equal content, as S3's ETag of a
 * single-part upload is the MD5 of its bytes. Content of one whole stored body ("md5:<hex>" origin from
 * 0) gets that body's real MD5.
 */
export function contentDigest(content: Content): string {
  const only = content[0];
  if (content.length === 1 && only && only.origin.startsWith('md5:') && only.start === 0) {
    const [, hex, length] = only.origin.split(':');
    if (hex && Number(length) === only.end) return hex;
  }
  if (content.length === 0) return 'd41d8cd98f00b204e9800998ecf8427e';
  const hash = createHash('md5');
  for (const segment of content) hash.update(`${segment.origin}\u0000${segment.start}\u0000${segment.end}\u0001`);
  return hash.digest('hex');
}

/** The origin id of a stored body: its MD5 and length, so equal bodies are equal content. */
export function bytesOrigin(bytes: Uint8Array): string {
  return `md5:${createHash('md5').update(bytes).digest('hex')}:${bytes.length}`;
}
