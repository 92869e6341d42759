import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** One logger and one metrics instance per function module (Powertools reads its POWERTOOLS_* env). */
export function createObservability(serviceName: string) {
  const logger = new Logger({ serviceName });
  const metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 's3xcopy', serviceName });
  return { logger, metrics };
}

export type Observability = ReturnType<typeof createObservability>;
