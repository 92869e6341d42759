/**
 * S3's "url" encoding of keys, as classic event notifications and ListObjectsV2 with
 * `encoding-type=url` use it: form URL encoding. A space is "+", a literal "+" is "%2B", other
 * reserved, control and non-ASCII characters are "%XX" escapes of their UTF-8 bytes ("/" stays as it
 * is). botocore decodes such listings with unquote_plus and the AWS SDK for Java v2 with a form
 * decoder; S3 has been seen to send "%20" for a space as well, which this decodes just the same.
 */

/**
 * Decodes a form-URL-encoded key: "+" becomes a space, then every "%XX" escape a UTF-8 byte.
 * @throws URIError when a "%" is not followed by two hex digits or the bytes are not UTF-8
 */
export function decodeFormUrl(encoded: string): string {
  return decodeURIComponent(encoded.replace(/\+/g, ' '));
}

/**
 * Form-URL-encodes a key as S3's event notifications do ("/" kept, space as "+", "+" as "%2B"):
 * decodeFormUrl gives back exactly the key.
 */
export function encodeFormUrl(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}
