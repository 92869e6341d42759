/**
 * Keeps the source's additional checksum on both copy paths (docs/checksums in README "Copies that keep
 * everything"). S3 stores at most one checksum algorithm per object, with a type:
 *
 * - FULL_OBJECT: the checksum of the whole object's bytes. CRC64NVME is always full-object; CRC32 and
 *   CRC32C are full-object for a single-part object and may be for a multipart one. S3 combines the part
 *   CRCs of a FULL_OBJECT multipart upload into the whole object's CRC, so a copy in any part layout
 *   has the source's value: the verification compares it, and CompleteMultipartUpload carries it so S3
 *   itself refuses (BadDigest) an object whose bytes differ.
 * - COMPOSITE: a checksum of the parts' checksums ("value-N"), which depends on the part layout. SHA1 and
 *   SHA256 multipart uploads can only be composite, so a single-part SHA256 source copied by the
 *   multipart path keeps its algorithm but gets a composite value; only the algorithm is compared then.
 *
 * CopyObject copies the source's algorithm by default; it is set explicitly all the same (from the
 * listing) so that what the copy asks for does not depend on a default. CreateMultipartUpload copies
 * nothing: it gets the algorithm and type from the source's HEAD (ChecksumMode ENABLED), each
 * UploadPartCopy returns its part's checksum, and CompleteMultipartUpload must list them (S3 answers
 * InvalidRequest "The upload was created using a ... checksum" otherwise).
 */
import type {
  CompletedPart,
  CompleteMultipartUploadCommandInput,
  CopyPartResult,
  CreateMultipartUploadCommandInput,
  HeadObjectCommandOutput,
} from '@aws-sdk/client-s3';
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm } from '../shared/content-identity';

export { isChecksumAlgorithm } from '../shared/content-identity';

export type ChecksumKind = 'FULL_OBJECT' | 'COMPOSITE';

/** An object's checksum as a HEAD with ChecksumMode ENABLED reports it. */
export interface ObjectChecksum {
  algorithm: ChecksumAlgorithm;
  /** Undefined when the server did not say (then a "-N" suffix marks a composite value). */
  type: ChecksumKind | undefined;
  value: string;
}

/** What a multipart upload was created with: kept in the upload's progress record to resume it. */
export interface UploadChecksum {
  algorithm: ChecksumAlgorithm;
  /** Undefined when S3's default type for the algorithm applies (algorithms it does not document yet). */
  type?: ChecksumKind;
}

type ChecksumFields = Partial<Record<`Checksum${ChecksumAlgorithm}`, string>>;

const field = (algorithm: ChecksumAlgorithm) => `Checksum${algorithm}` as const;

/** The checksum a HEAD (with ChecksumMode ENABLED) reports; undefined when it reports none. */
export function checksumOf(head: HeadObjectCommandOutput): ObjectChecksum | undefined {
  const fields = head as ChecksumFields;
  for (const algorithm of CHECKSUM_ALGORITHMS) {
    const value = fields[field(algorithm)];
    if (!value) continue;
    const type =
      head.ChecksumType === 'FULL_OBJECT' || head.ChecksumType === 'COMPOSITE' ? head.ChecksumType : undefined;
    return { algorithm, type, value };
  }
  return undefined;
}

/** Whether the checksum is of the whole object's bytes (so equal bytes give an equal value in any layout). */
export function isFullObjectChecksum(checksum: ObjectChecksum): boolean {
  if (checksum.algorithm === 'CRC64NVME') return true;
  if (checksum.type !== undefined) return checksum.type === 'FULL_OBJECT';
  return !/-\d+$/.test(checksum.value);
}

/**
 * The checksum a multipart copy of `source` is created with: CRC64NVME full-object (its only type),
 * SHA1/SHA256 composite (theirs), CRC32/CRC32C the source's own type, and any newer algorithm with S3's
 * default type. `listed` (the manifest's algorithm) stands in when the HEAD reports no value.
 */
export function uploadChecksumFor(
  source: ObjectChecksum | undefined,
  listed: ChecksumAlgorithm | undefined,
): UploadChecksum | undefined {
  const algorithm = source?.algorithm ?? listed;
  if (!algorithm) return undefined;
  switch (algorithm) {
    case 'CRC64NVME':
      return { algorithm, type: 'FULL_OBJECT' };
    case 'SHA1':
    case 'SHA256':
      return { algorithm, type: 'COMPOSITE' };
    case 'CRC32':
    case 'CRC32C':
      return { algorithm, type: source && !isFullObjectChecksum(source) ? 'COMPOSITE' : 'FULL_OBJECT' };
    default:
      return { algorithm };
  }
}

/** The CreateMultipartUpload fields for the checksum. */
export function createUploadChecksumFields(
  checksum: UploadChecksum | undefined,
): Pick<CreateMultipartUploadCommandInput, 'ChecksumAlgorithm' | 'ChecksumType'> {
  if (!checksum) return {};
  return { ChecksumAlgorithm: checksum.algorithm, ...(checksum.type ? { ChecksumType: checksum.type } : {}) };
}

/** The part's checksum UploadPartCopy returned for the upload's algorithm (undefined if the server gave none). */
export function partChecksumOf(
  result: CopyPartResult | undefined,
  checksum: UploadChecksum | undefined,
): string | undefined {
  if (!checksum || !result) return undefined;
  return (result as ChecksumFields)[field(checksum.algorithm)];
}

/** A part as CompleteMultipartUpload lists it: with its checksum when the upload has one. */
export function completedPart(
  PartNumber: number,
  ETag: string,
  checksum: UploadChecksum | undefined,
  value: string | undefined,
): CompletedPart {
  return { PartNumber, ETag, ...(checksum && value ? { [field(checksum.algorithm)]: value } : {}) };
}

/**
 * CompleteMultipartUpload's whole-object fields: for a FULL_OBJECT upload of a source whose full-object
 * value is known, that value, so S3 checks the assembled object against the source before it exists.
 */
export function completeChecksumFields(
  checksum: UploadChecksum | undefined,
  source: ObjectChecksum | undefined,
): Partial<CompleteMultipartUploadCommandInput> {
  if (checksum?.type !== 'FULL_OBJECT' || !source || source.algorithm !== checksum.algorithm) return {};
  if (!isFullObjectChecksum(source)) return {};
  return { ChecksumType: 'FULL_OBJECT', [field(checksum.algorithm)]: source.value };
}

/**
 * How the target's checksum differs from the source's: a different (or missing) algorithm, or, when both
 * are full-object, a different value. Composite values depend on the part layout and are not compared.
 * Nothing is compared when the source reports no checksum (servers without checksums, older objects).
 */
export function checksumDifferences(source: ObjectChecksum | undefined, target: ObjectChecksum | undefined): string[] {
  if (!source) return [];
  if (!target) return [`no checksum instead of ${source.algorithm}`];
  if (target.algorithm !== source.algorithm)
    return [`checksum algorithm ${target.algorithm} instead of ${source.algorithm}`];
  if (isFullObjectChecksum(source) && isFullObjectChecksum(target) && source.value !== target.value) {
    return [`${source.algorithm} checksum ${target.value} instead of ${source.value}`];
  }
  return [];
}
