/**
 * The clients one local run talks through: the source, the target (through the target role when the job
 * names one) and the state store, each counting its requests into the run's statistics, which is what the
 * cost model prices. Without a state bucket of the caller's, the state store is a private in-process
 * server that the run starts and stops.
 */
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import type { STSClient } from '@aws-sdk/client-sts';
import { installCallRecorder } from '../../functions/shared/call-recorder';
import { createS3Client, createStsClient, type S3Endpoint } from '../../functions/shared/clients';
import { TargetClients } from '../../functions/shared/target-role';
import { startEmbeddedS3 } from '../embedded-s3';
import { countRequests, type RunStats } from './stats';

/** The state bucket of the in-process store used when the run is given none. */
export const LOCAL_STATE_BUCKET = 's3xcopy-local-state';

export interface RunClientOptions {
  endpoint: S3Endpoint;
  stateBucket?: string;
  sts?: STSClient;
  configureS3?: (client: S3Client, role: 'source' | 'target' | 'state') => void;
}

export interface RunClients {
  sourceS3: S3Client;
  stateS3: S3Client;
  stateBucket: string;
  targetClients: TargetClients;
  /** True when the state store is the run's private in-process server (its files are saved locally). */
  privateState: boolean;
  /** Stops what the run started; clients the caller passed in (sts) are left open. */
  close(): Promise<void>;
}

/** Opens the run's clients; the private state store gets its bucket, uncounted (a deployment has one). */
export async function openRunClients(options: RunClientOptions, stats: RunStats): Promise<RunClients> {
  const localState = options.stateBucket ? undefined : await startEmbeddedS3();
  const stateBucket = options.stateBucket ?? LOCAL_STATE_BUCKET;
  const counted = (role: 'source' | 'target' | 'state', endpoint: S3Endpoint): S3Endpoint => ({
    ...endpoint,
    configure: (client) => {
      endpoint.configure?.(client);
      countRequests(client, stats.s3[role]);
      options.configureS3?.(client, role);
    },
  });
  const stateS3 = createS3Client(counted('state', localState?.endpoint ?? options.endpoint));
  const sourceS3 = createS3Client(counted('source', options.endpoint));
  const targetEndpoint = counted('target', options.endpoint);
  const sts = options.sts ?? createStsClient(options.endpoint.region);
  countRequests(sts, stats.sts);
  installCallRecorder(sts, 'sts');
  const targetClients = new TargetClients(sts, (credentials) =>
    createS3Client(targetEndpoint, credentials ? { credentials } : {}),
  );
  const close = async () => {
    sourceS3.destroy();
    stateS3.destroy();
    if (!options.sts) sts.destroy();
    if (localState) await localState.stop();
  };
  if (localState) {
    try {
      await stateS3.send(new CreateBucketCommand({ Bucket: stateBucket }));
    } catch (error) {
      await close();
      throw error;
    }
    // The private store's setup is not part of what a deployed execution does (or is billed for).
    delete stats.s3.state.CreateBucketCommand;
  }
  return { sourceS3, stateS3, stateBucket, targetClients, privateState: localState !== undefined, close };
}
