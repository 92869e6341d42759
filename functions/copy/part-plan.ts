import { MiB, S3_LIMITS } from '../shared/job';

/** One UploadPartCopy: an inclusive byte range of the source, as `x-amz-copy-source-range` wants it. */
export interface PartRange {
  /** 1..10,000 */
  partNumber: number;
  /** First byte, zero-based. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

/**
 * The part size a multipart copy of `objectSize` bytes uses: the requested size, kept within S3's
 * 5 MiB..5 GiB, and raised (to a whole MiB) when the requested size would need more than 10,000 parts.
 * @throws RangeError for a size S3 cannot hold (negative, fractional or above about 48.8 TiB).
 */
export function choosePartSize(objectSize: number, requestedPartSize: number): number {
  if (!Number.isSafeInteger(objectSize) || objectSize < 0 || objectSize > S3_LIMITS.maxObjectBytes) {
    throw new RangeError(
      `Object size ${objectSize} is outside 0..${S3_LIMITS.maxObjectBytes} bytes, the range S3 can store`,
    );
  }
  const requested = Number.isFinite(requestedPartSize) ? Math.floor(requestedPartSize) : S3_LIMITS.minPartBytes;
  let partSize = Math.min(Math.max(requested, S3_LIMITS.minPartBytes), S3_LIMITS.maxPartBytes);
  if (Math.ceil(objectSize / partSize) > S3_LIMITS.maxParts) {
    // Whole MiB keeps part boundaries readable; 5 GiB is a whole MiB, so rounding never passes the maximum.
    partSize = Math.ceil(objectSize / S3_LIMITS.maxParts / MiB) * MiB;
  }
  return partSize;
}

/**
 * Splits an object into the byte ranges of a multipart copy: consecutive, covering every byte exactly
 * once, every part but the last exactly the chosen part size, at most 10,000 parts. A 0-byte object has
 * no parts (the engine copies it with CopyObject, as multipart needs at least one byte).
 * @throws RangeError for a size S3 cannot hold.
 */
export function planParts(objectSize: number, requestedPartSize: number): PartRange[] {
  const partSize = choosePartSize(objectSize, requestedPartSize);
  const parts: PartRange[] = [];
  for (let start = 0, partNumber = 1; start < objectSize; start += partSize, partNumber++) {
    parts.push({ partNumber, start, end: Math.min(start + partSize, objectSize) - 1 });
  }
  return parts;
}
