/**
 * Where the target role is assumed. On AWS, STS's regional endpoint. On an S3-compatible server
 * (--endpoint), STS is served by the same server (Ceph RGW, moto, MinIO), so the role must be assumed
 * there: an AWS STS session is useless against it.
 */
import { UsageError } from './errors';

/**
 * The STS endpoint for a run, or undefined for the SDK's own choice. In order: --sts-endpoint; the
 * standard AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL variables (left to the SDK, which reads them itself);
 * --endpoint; AWS.
 * @throws UsageError when --sts-endpoint is not an http(s) URL
 */
export function stsEndpointFor(
  flags: { endpoint?: string; stsEndpoint?: string },
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (flags.stsEndpoint !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(flags.stsEndpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UsageError(
        `--sts-endpoint: "${flags.stsEndpoint}" is not an http:// or https:// URL. Example: --sts-endpoint http://127.0.0.1:7480`,
      );
    }
    return flags.stsEndpoint;
  }
  if (env.AWS_ENDPOINT_URL_STS || env.AWS_ENDPOINT_URL) return undefined;
  return flags.endpoint;
}
