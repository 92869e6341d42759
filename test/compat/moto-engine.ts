/**
 * moto's Step Functions engine (LocalStack's ASL interpreter inside moto_server) running our real ASL with
 * our real handlers. moto's own Lambda runs code only in Docker, which these machines lack, so the engine's
 * Lambda Invoke calls land here instead: moto is started with MOTO_PORT pointing at this process's
 * forwarder (scripts/servers/moto.sh), which answers `POST /2015-03-31/functions/NAME/invocations` by
 * running the list, copy and notify handlers in-process and passes every other request (S3, SNS, Step
 * Functions) through to moto unchanged. The definition is generated from statemachine/copy.asl.json, never
 * kept as a second file: motoDefinition says what it changes and why.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { CreateTopicCommand, SNSClient } from '@aws-sdk/client-sns';
import { STSClient } from '@aws-sdk/client-sts';
import { type AslDefinition, type AslState, DEFINITION_PATH, fillPlaceholders } from '../../cli/runner/definition';
import { invokeLocal, type LocalFunction, type LocalHandler } from '../../cli/runner/lambda';
import { LOCAL_FUNCTIONS, localObservability } from '../../cli/runner/runner';
import { createCopyHandler } from '../../functions/copy/handler';
import { createListHandler } from '../../functions/list/handler';
import { createNotifyHandler } from '../../functions/notify/handler';
import { snsPublisher } from '../../functions/notify/publisher';
import { type Credentials, createS3Client } from '../../functions/shared/clients';
import type { DeploymentConfig } from '../../functions/shared/config';
import type { CopyResult, JobDefaults } from '../../functions/shared/job';
import { TargetClients } from '../../functions/shared/target-role';

/** The function ARNs the definition names; the forwarder routes Invoke by them (the workflow's account). */
export const FUNCTION_ARNS = {
  list: 'arn:aws:lambda:us-east-1:111111111111:function:s3xcopy-list',
  copy: 'arn:aws:lambda:us-east-1:111111111111:function:s3xcopy-copy',
  notify: 'arn:aws:lambda:us-east-1:111111111111:function:s3xcopy-notify',
} as const;

/** moto does not check the execution role; the API requires one. */
const EXECUTION_ROLE = 'arn:aws:iam::111111111111:role/s3xcopy-state-machine';

/** Every Retry of `states` (the Map's child states included) waits 1 s, once per attempt, without growth. */
function quickRetries(states: Record<string, AslState>): void {
  for (const state of Object.values(states)) {
    for (const retrier of state.Retry ?? []) {
      retrier.IntervalSeconds = 1;
      retrier.BackoffRate = 1;
      delete retrier.MaxDelaySeconds;
    }
    const processor = state.ItemProcessor ?? state.Iterator;
    if (processor?.States) quickRetries(processor.States);
  }
}

/**
 * statemachine/copy.asl.json as moto's engine can run it, filled like a deployment's:
 * - ResultWriter's WriterConfig is removed: moto 5.2.1's ASL grammar predates it (ASLParserException).
 *   Its ResultWriter then writes only `<prefix>/<mapRunId>/manifest.json`, naming no result file.
 * - ResultWriter's Parameters name the bucket and `results/<execution name>` without reading the state:
 *   moto evaluates them against the Map's result (the children's outputs), not its input as AWS does,
 *   so `$.list.copyConfig` is not found there. The execution name is the jobId, except in an execution
 *   that continues a job (ContinueAsNew), whose manifests land under its own name.
 * - Every retrier waits 1 s between attempts: the engine sleeps for real, and a batch that fails for
 *   good would otherwise spend about a minute in backoff (the local runner makes retries instant the
 *   same way, with aws-local-stepfunctions' retryIntervalOverrides). The attempts are unchanged.
 */
export function motoDefinition(values: { stateBucket: string; slicesPerExecution: number; mapMaxConcurrency: number }) {
  const text = fillPlaceholders(readFileSync(DEFINITION_PATH, 'utf8'), {
    ListFunctionArn: FUNCTION_ARNS.list,
    CopyFunctionArn: FUNCTION_ARNS.copy,
    NotifyFunctionArn: FUNCTION_ARNS.notify,
    StateBucket: values.stateBucket,
    MapMaxConcurrency: String(values.mapMaxConcurrency),
    SlicesPerExecution: String(values.slicesPerExecution),
  });
  const definition = JSON.parse(text) as AslDefinition;
  let writers = 0;
  for (const state of Object.values(definition.States)) {
    if (state.ResultWriter?.WriterConfig) {
      delete state.ResultWriter.WriterConfig;
      state.ResultWriter.Parameters = {
        Bucket: values.stateBucket,
        'Prefix.$': "States.Format('results/{}', $$.Execution.Name)",
      };
      writers++;
    }
  }
  if (writers === 0)
    throw new Error(`${DEFINITION_PATH} has no ResultWriter with a WriterConfig any more: update motoDefinition`);
  quickRetries(definition.States);
  return definition;
}

/** One Lambda Invoke answered in-process: the handler's result, or Lambda's error document with X-Amz-Function-Error. */
async function answerInvoke(fn: LocalFunction, body: string, response: ServerResponse): Promise<void> {
  try {
    const { Payload } = await invokeLocal(fn, body === '' ? {} : JSON.parse(body));
    response.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
    response.end(JSON.stringify(Payload ?? null));
  } catch (error) {
    // invokeLocal's error message is Lambda's JSON error document (errorType, errorMessage, trace).
    const document = error instanceof Error ? error.message : JSON.stringify({ errorMessage: String(error) });
    response.writeHead(200, { 'content-type': 'application/json', 'x-amz-function-error': 'Unhandled' });
    response.end(document);
  }
}

/** Passes one request to moto as it came (chunked bodies included: the body is piped, headers kept). */
function forward(upstream: URL, request: IncomingMessage, response: ServerResponse): void {
  const outgoing = httpRequest(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: request.headers,
    },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(response);
    },
  );
  outgoing.on('error', (error) => {
    if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
    response.end(`forwarder: ${error.message}`);
  });
  request.pipe(outgoing);
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations(?:\?|$)/;

/**
 * The endpoint the engine calls for everything (MOTO_PORT): Lambda Invoke answered by `functions`
 * (keyed by function ARN or name), the rest forwarded to moto.
 */
export async function startForwarder(
  port: number,
  motoEndpoint: string,
  functions: Map<string, LocalFunction>,
): Promise<Server> {
  const upstream = new URL(motoEndpoint);
  const server = createServer((request, response) => {
    const invoke = request.method === 'POST' ? INVOKE_PATH.exec(request.url ?? '') : null;
    if (!invoke) {
      forward(upstream, request, response);
      return;
    }
    const name = decodeURIComponent(invoke[1] ?? '');
    const fn = functions.get(name);
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (!fn) {
        response.writeHead(404, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ResourceNotFoundException',
        });
        response.end(JSON.stringify({ message: `Function not found: ${name}` }));
        return;
      }
      void answerInvoke(fn, Buffer.concat(chunks).toString('utf8'), response);
    });
  });
  // The engine calls http://localhost:PORT; on this machine localhost is 127.0.0.1 (Python tries each address).
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return server;
}

/** The engine as a test uses it. */
export interface MotoEngine {
  sfn: SFNClient;
  /**
   * The deployment's job defaults (S3XCOPY_* in a deployment), read by every List invocation: an S3-event
   * batch copies with them, and a test may set options that `s3xcopy start` has no flag for.
   */
  defaults: JobDefaults;
  sns: SNSClient;
  stateBucket: string;
  topicArn: string;
  /** Creates a state machine from the generated definition; returns its ARN. */
  createStateMachine(name: string, slicesPerExecution: number): Promise<string>;
  /** Invocations per function, for assertions that a step ran. */
  invocations: Record<keyof typeof FUNCTION_ARNS, number>;
  /** What every successful copy invocation returned, in order (the copy function's own account). */
  copyResults: CopyResult[];
  /**
   * Target keys whose copy the target refuses (AccessDenied), as a bucket policy would: moto enforces no
   * permission here, and the engine's handling of a failed batch is what these tests are about.
   */
  deniedTargetKeys: Set<string>;
  close(): Promise<void>;
}

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Refuses writes to the keys in `denied` with S3's AccessDenied (a 403, as a bucket policy would). */
function denyKeys(client: S3Client, denied: ReadonlySet<string>): void {
  const writes = new Set(['CopyObjectCommand', 'PutObjectCommand', 'CreateMultipartUploadCommand']);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const key = (args.input as { Key?: string }).Key;
      if (writes.has(context.commandName ?? '') && key !== undefined && denied.has(key)) {
        throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      }
      return next(args);
    },
    { step: 'initialize', name: 'deniedTargetKeys' },
  );
}

/**
 * Starts the forwarder on `lambdaPort` with the real handlers, whose clients talk to moto directly, and
 * creates the state bucket and the SNS topic.
 * @param defaults the deployment's job defaults (an S3-event batch copies with them)
 */
export async function startMotoEngine(options: {
  motoEndpoint: string;
  lambdaPort: number;
  run: string;
  defaults: JobDefaults;
  /** Where the handlers' log lines go (one file for the three functions). */
  logFile: string;
}): Promise<MotoEngine> {
  const { motoEndpoint, run } = options;
  const region = 'us-east-1';
  const s3 = createS3Client({ endpoint: motoEndpoint, region, credentials });
  const sfn = new SFNClient({ endpoint: motoEndpoint, region, credentials });
  const sns = new SNSClient({ endpoint: motoEndpoint, region, credentials });
  const sts = new STSClient({ endpoint: motoEndpoint, region, credentials });
  const stateBucket = `engine-state-${run}`;
  await s3.send(new CreateBucketCommand({ Bucket: stateBucket }));
  const topic = await sns.send(new CreateTopicCommand({ Name: `s3xcopy-${run}` }));
  const topicArn = topic.TopicArn ?? '';
  const config: DeploymentConfig = { defaults: options.defaults, stateBucket, topicArn, notifyOnSuccess: true };
  const deniedTargetKeys = new Set<string>();
  const makeS3 = (override?: Credentials) =>
    createS3Client(
      { endpoint: motoEndpoint, region, credentials, configure: (client) => denyKeys(client, deniedTargetKeys) },
      override ? { credentials: override } : {},
    );
  const targetClients = new TargetClients(sts, makeS3);
  const logStream = createWriteStream(options.logFile, { flags: 'a' });
  const observability = (name: string) => localObservability(`s3xcopy-${name}`, logStream);
  const invocations = { list: 0, copy: 0, notify: 0 };
  const copyResults: CopyResult[] = [];
  const local = (name: keyof typeof FUNCTION_ARNS, handler: unknown): LocalFunction => ({
    name: `s3xcopy-${name}`,
    ...LOCAL_FUNCTIONS[name],
    handler: (async (event, context) => {
      invocations[name]++;
      return (handler as LocalHandler)(event, context);
    }) as LocalHandler,
  });
  const functions = new Map<string, LocalFunction>([
    [
      FUNCTION_ARNS.list,
      local(
        'list',
        createListHandler({ config, sourceS3: s3, stateS3: s3, targetClients, observability: observability('list') }),
      ),
    ],
    [
      FUNCTION_ARNS.copy,
      {
        ...local(
          'copy',
          createCopyHandler({
            targetClients,
            state: { s3, bucket: stateBucket },
            observability: observability('copy'),
          }),
        ),
        onResult: (result) => copyResults.push(result as CopyResult),
      },
    ],
    [
      FUNCTION_ARNS.notify,
      local(
        'notify',
        createNotifyHandler({
          config,
          publisher: snsPublisher(sns, topicArn),
          stateS3: s3,
          observability: observability('notify'),
        }),
      ),
    ],
  ]);
  const server = await startForwarder(options.lambdaPort, motoEndpoint, functions);
  return {
    sfn,
    defaults: options.defaults,
    sns,
    stateBucket,
    topicArn,
    invocations,
    copyResults,
    deniedTargetKeys,
    async createStateMachine(name, slicesPerExecution) {
      const definition = motoDefinition({ stateBucket, slicesPerExecution, mapMaxConcurrency: 4 });
      const created = await sfn.send(
        new CreateStateMachineCommand({ name, definition: JSON.stringify(definition), roleArn: EXECUTION_ROLE }),
      );
      return created.stateMachineArn ?? '';
    },
    async close() {
      // close() waits for open connections; the engine's keep-alive ones would hold it, so end them too.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      for (const client of [s3, sfn, sns, sts]) client.destroy();
      await new Promise<void>((resolve) => logStream.end(() => resolve()));
    },
  };
}
