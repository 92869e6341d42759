/**
 * Percent-encodes one key segment as RFC 3986 wants it: everything but the unreserved characters
 * A-Z a-z 0-9 - _ . ~ . encodeURIComponent also leaves ! ' ( ) * alone; S3 decodes either form, but the
 * strict form is what the AWS SDKs' own copy helpers send, so no proxy or server can misread it.
 * `+` becomes %2B: S3 would otherwise read it as a space.
 */
function encodeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The `CopySource` of CopyObject (with `?versionId=` when a version is named) and UploadPartCopy: `bucket/key` with each key segment percent-encoded
 * and the `/` separators kept, as S3 requires ("The value must be URL-encoded"). Keys with spaces, `+`,
 * `%`, `&`, `=`, unicode or empty segments (`a//b`) round-trip exactly through decodeURIComponent.
 */
export function encodeCopySource(bucket: string, key: string, versionId?: string): string {
  const path = `${bucket}/${key.split('/').map(encodeSegment).join('/')}`;
  // A manifest row's version, as S3 takes it: `?versionId=` after the encoded key.
  return versionId === undefined ? path : `${path}?versionId=${encodeSegment(versionId)}`;
}
