/**
 * Sums of CloudWatch metrics over a period: GetMetricData on CloudWatch's Query API (the API every
 * CloudWatch endpoint answers, moto's too), signed with the SDK's own SigV4 signer and the credentials of
 * an SDK client's default chain. The project carries no CloudWatch client (package.json), and the digest
 * needs this one read-only call, once a day.
 */
import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Checksum, SourceData } from '@smithy/types';

/** One metric of the period, by name, with the dimensions the emitter (Powertools' EMF lines) gave it. */
export interface MetricSumsRequest {
  namespace: string;
  dimensions: Record<string, string>;
  names: readonly string[];
  start: Date;
  end: Date;
}

export interface MetricSumsClient {
  region: string;
  /** CloudWatch's endpoint; default `https://monitoring.<region>.amazonaws.com`. */
  endpoint?: string;
  credentials: () => Promise<AwsCredentialIdentity>;
}

/** SHA-256 (or HMAC-SHA-256 with a secret) for the signer, from node:crypto. */
class NodeSha256 implements Checksum {
  private hash;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    throw new Error('NodeSha256 cannot be reset: create a new one');
  }
}

function toBuffer(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** The Query API form of one GetMetricData page: one Sum over the whole period per metric. */
function queryForm(request: MetricSumsRequest, nextToken?: string): URLSearchParams {
  const form = new URLSearchParams({
    Action: 'GetMetricData',
    Version: '2010-08-01',
    StartTime: request.start.toISOString(),
    EndTime: request.end.toISOString(),
  });
  const periodSeconds = Math.max(60, Math.ceil((request.end.getTime() - request.start.getTime()) / 60_000) * 60);
  for (const [index, name] of request.names.entries()) {
    const query = `MetricDataQueries.member.${index + 1}`;
    form.set(`${query}.Id`, `m${index}`);
    form.set(`${query}.MetricStat.Metric.Namespace`, request.namespace);
    form.set(`${query}.MetricStat.Metric.MetricName`, name);
    for (const [position, [dimension, value]] of Object.entries(request.dimensions).entries()) {
      form.set(`${query}.MetricStat.Metric.Dimensions.member.${position + 1}.Name`, dimension);
      form.set(`${query}.MetricStat.Metric.Dimensions.member.${position + 1}.Value`, value);
    }
    form.set(`${query}.MetricStat.Period`, String(periodSeconds));
    form.set(`${query}.MetricStat.Stat`, 'Sum');
  }
  if (nextToken) form.set('NextToken', nextToken);
  return form;
}

const xmlText = (value: string) =>
  value
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

/**
 * The values of each result (by its Id) in a GetMetricDataResponse. A result holds one `<Id>` and one
 * `<Values>` list (whose items are `<member>`s too), in any order: the lists are taken out first, so the
 * rest splits into results at each `</member>`.
 */
export function parseMetricData(xml: string): { values: Map<string, number[]>; nextToken?: string } {
  const values = new Map<string, number[]>();
  const lists: string[] = [];
  const results = (/<MetricDataResults>([\s\S]*?)<\/MetricDataResults>/.exec(xml)?.[1] ?? '')
    .replace(/<Timestamps>[\s\S]*?<\/Timestamps>|<Timestamps\/>/g, '')
    .replace(/<Messages>[\s\S]*?<\/Messages>|<Messages\/>/g, '')
    .replace(/<Values>([\s\S]*?)<\/Values>|<Values\/>/g, (_whole, list: string | undefined) => {
      lists.push(list ?? '');
      return `<List>${lists.length - 1}</List>`;
    });
  for (const block of results.split('</member>')) {
    const id = /<Id>([^<]*)<\/Id>/.exec(block)?.[1];
    const list = lists[Number(/<List>(\d+)<\/List>/.exec(block)?.[1] ?? -1)];
    if (id === undefined || list === undefined) continue;
    const numbers = [...list.matchAll(/<member>([^<]*)<\/member>/g)].map((match) => Number(match[1]));
    values.set(xmlText(id), [...(values.get(xmlText(id)) ?? []), ...numbers]);
  }
  const nextToken = /<NextToken>([^<]+)<\/NextToken>/.exec(xml)?.[1];
  return { values, ...(nextToken ? { nextToken: xmlText(nextToken) } : {}) };
}

/**
 * Sends one request of CloudWatch's Query API (`Action` and its parameters), signed.
 * @returns the response document
 * @throws Error naming the action, the HTTP status and CloudWatch's error code
 */
export async function cloudWatchQuery(client: MetricSumsClient, form: URLSearchParams): Promise<string> {
  const url = new URL(client.endpoint ?? `https://monitoring.${client.region}.amazonaws.com`);
  const signer = new SignatureV4({
    service: 'monitoring',
    region: client.region,
    credentials: client.credentials,
    sha256: NodeSha256,
  });
  const body = form.toString();
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  const response = await fetch(url, { method: 'POST', headers: signed.headers, body });
  const text = await response.text();
  if (!response.ok) {
    const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? 'UnknownError';
    const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1] ?? text.slice(0, 200);
    throw new Error(`CloudWatch ${form.get('Action')} failed (HTTP ${response.status} ${code}): ${xmlText(message)}`);
  }
  return text;
}

/**
 * The sum of each metric over the period (0 for a metric with no data points: nothing was emitted).
 * @throws Error from cloudWatchQuery, naming the namespace and the permission the caller needs
 */
export async function metricSums(
  client: MetricSumsClient,
  request: MetricSumsRequest,
): Promise<Record<string, number>> {
  const sums: Record<string, number> = Object.fromEntries(request.names.map((name) => [name, 0]));
  let nextToken: string | undefined;
  do {
    let text: string;
    try {
      text = await cloudWatchQuery(client, queryForm(request, nextToken));
    } catch (error) {
      throw new Error(
        `${(error as Error).message} (namespace ${request.namespace}); the caller needs cloudwatch:GetMetricData`,
      );
    }
    const page = parseMetricData(text);
    for (const [index, name] of request.names.entries()) {
      for (const value of page.values.get(`m${index}`) ?? []) sums[name] = (sums[name] ?? 0) + value;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return sums;
}
