/**
 * Turns a local run's counts (cli/runner/stats.ts RunStats) into the cost model's UsageCounts, so a run
 * of the real ASL with the real handlers can be priced as AWS would bill it.
 */
import type { RunStats } from '../runner/stats';
import { type S3RequestType, s3RequestTypeOfCommand, type UsageCounts } from './model';

/** The converted counts, plus the S3 commands the model does not price (named, so nothing hides). */
export interface RunUsage {
  usage: UsageCounts;
  unpricedS3Commands: Record<string, number>;
}

/**
 * Converts a run's stats. Transitions: the parent's and the children's states as counted, plus one
 * `MapChildStart` per child execution (AWS charges a Distributed Map one transition per child it starts;
 * the local runner counts states entered, not child starts). Lambda: arm64 at the memory the run records.
 * @param objects the denominator of the per-million figures (normally the objects listed and selected)
 */
export function usageFromRunStats(stats: RunStats, objects: number): RunUsage {
  const stateTransitions: Record<string, number> = { ...stats.transitions.parent };
  for (const [state, count] of Object.entries(stats.transitions.children)) {
    stateTransitions[`child:${state}`] = (stateTransitions[`child:${state}`] ?? 0) + count;
  }
  stateTransitions.MapChildStart = (stateTransitions.MapChildStart ?? 0) + stats.executions.children;

  const s3Requests: Partial<Record<S3RequestType, number>> = {};
  const unpricedS3Commands: Record<string, number> = {};
  for (const byCommand of [stats.s3.source, stats.s3.target, stats.s3.state]) {
    for (const [command, count] of Object.entries(byCommand)) {
      const type = s3RequestTypeOfCommand(command);
      if (type) s3Requests[type] = (s3Requests[type] ?? 0) + count;
      else unpricedS3Commands[command] = (unpricedS3Commands[command] ?? 0) + count;
    }
  }

  return {
    usage: {
      objects,
      stateTransitions,
      lambda: Object.entries(stats.lambda)
        .filter(([, lambda]) => lambda.invocations > 0)
        .map(([name, lambda]) => ({
          name,
          invocations: lambda.invocations,
          totalDurationMs: lambda.totalMs,
          memoryMb: lambda.memoryMB,
          architecture: 'arm64' as const,
        })),
      s3Requests,
      stsCalls: Object.values(stats.sts).reduce((sum, count) => sum + count, 0),
      snsPublishes: stats.sns.publish,
    },
    unpricedS3Commands,
  };
}
