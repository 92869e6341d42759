/**
 * Sums of CloudWatch metrics over a period: GetMetricData through the SDK's CloudWatch client (its
 * paginator follows NextToken), one Sum over the whole period per metric.
 */
import { type CloudWatchClient, type MetricDataQuery, paginateGetMetricData } from '@aws-sdk/client-cloudwatch';

/** One metric of the period, by name, with the dimensions the emitter (Powertools' EMF lines) gave it. */
export interface MetricSumsRequest {
  namespace: string;
  dimensions: Record<string, string>;
  names: readonly string[];
  start: Date;
  end: Date;
}

/** One query per metric, its Id `m<index>`; the period spans the request (whole minutes, at least one). */
function metricQueries(request: MetricSumsRequest): MetricDataQuery[] {
  const periodSeconds = Math.max(60, Math.ceil((request.end.getTime() - request.start.getTime()) / 60_000) * 60);
  const dimensions = Object.entries(request.dimensions).map(([Name, Value]) => ({ Name, Value }));
  return request.names.map((name, index) => ({
    Id: `m${index}`,
    MetricStat: {
      Metric: { Namespace: request.namespace, MetricName: name, Dimensions: dimensions },
      Period: periodSeconds,
      Stat: 'Sum',
    },
  }));
}

/**
 * The sum of each metric over the period (0 for a metric with no data points: nothing was emitted).
 * @throws Error naming the namespace and the permission the caller needs, with CloudWatch's own error
 */
export async function metricSums(
  client: CloudWatchClient,
  request: MetricSumsRequest,
): Promise<Record<string, number>> {
  const sums: Record<string, number> = Object.fromEntries(request.names.map((name) => [name, 0]));
  const pages = paginateGetMetricData(
    { client },
    { StartTime: request.start, EndTime: request.end, MetricDataQueries: metricQueries(request) },
  );
  try {
    for await (const page of pages) {
      for (const result of page.MetricDataResults ?? []) {
        const name = request.names[Number(result.Id?.slice(1))];
        if (name === undefined) continue;
        for (const value of result.Values ?? []) sums[name] = (sums[name] ?? 0) + value;
      }
    }
  } catch (error) {
    const { name, message } = error as Error;
    throw new Error(
      `CloudWatch GetMetricData failed (${name}: ${message}) for namespace ${request.namespace}; ` +
        'the caller needs cloudwatch:GetMetricData',
    );
  }
  return sums;
}
