/**
 * The fields of a deployment's configuration (InfraConfig, config.ts) that names and ARNs derive from,
 * spelled out here so that this module does not import config.ts, which imports it.
 */
export interface NamingConfig {
  namePrefix: string;
  partition: string;
  source: { account: string; region: string; bucket: string };
  target: { account: string; bucket: string };
}

/**
 * Fixed names for everything another account or policy refers to. Fixed names let the target account
 * trust the source roles before either stack is deployed, keep ARNs out of cross-stack exports, and let
 * tests resolve every ARN in a synthesized template.
 */
export interface ResourceNames {
  listRole: string;
  copyRole: string;
  notifyRole: string;
  /** The direct event path's function role (s3Events.delivery "lambda"). */
  eventsRole: string;
  /** The direct event path's digest function role (daily summary of the events function's metrics). */
  digestRole: string;
  targetRole: string;
  listFunction: string;
  copyFunction: string;
  notifyFunction: string;
  eventsFunction: string;
  digestFunction: string;
  /** The queue the direct event path reads S3 events from. */
  eventsQueue: string;
  stateMachine: string;
  topic: string;
  stateBucket: string;
  /** Every alarm's name starts with this, so the topic and key policies can name "our alarms" by pattern. */
  alarmPrefix: string;
  dashboard: string;
}

/** The fixed names of a deployment. */
export function resourceNames(config: NamingConfig): ResourceNames {
  const p = config.namePrefix;
  return {
    listRole: `${p}-list`,
    copyRole: `${p}-copy`,
    notifyRole: `${p}-notify`,
    eventsRole: `${p}-events`,
    digestRole: `${p}-events-digest`,
    targetRole: `${p}-target`,
    listFunction: `${p}-list`,
    copyFunction: `${p}-copy`,
    notifyFunction: `${p}-notify`,
    eventsFunction: `${p}-events`,
    digestFunction: `${p}-events-digest`,
    eventsQueue: `${p}-events`,
    stateMachine: `${p}-copy`,
    topic: `${p}-notifications`,
    // Bucket names are global: the account and region make the name unique without a random suffix.
    stateBucket: `${p}-state-${config.source.account}-${config.source.region}`,
    alarmPrefix: `${p}-`,
    dashboard: p,
  };
}

/**
 * The Distributed Map's Label in the ASL: its child executions are named `<state machine>/<Label>:<id>`
 * and report AWS/States metrics under `<state machine ARN>/<Label>`.
 */
export const COPY_MAP_LABEL = 'CopyBatches';

/** ARNs derived from the fixed names. */
export interface ResourceArns {
  listRole: string;
  copyRole: string;
  notifyRole: string;
  eventsRole: string;
  digestRole: string;
  targetRole: string;
  sourceAccountRoot: string;
  listFunction: string;
  copyFunction: string;
  notifyFunction: string;
  eventsFunction: string;
  eventsQueue: string;
  stateMachine: string;
  /** Executions of the state machine, including the Distributed Map's child executions. */
  stateMachineExecutions: string;
  /** The copy Map's child executions only (what a redrive of the Map Run restarts). */
  copyMapChildren: string;
  topic: string;
  /** The deployment's CloudWatch alarms (a name pattern): the only alarms that may publish to the topic. */
  alarms: string;
  stateBucket: string;
  sourceBucket: string;
  targetBucket: string;
}

/** The ARNs of a deployment, built from its configuration alone (no lookups, no tokens). */
export function resourceArns(config: NamingConfig): ResourceArns {
  const names = resourceNames(config);
  const { partition } = config;
  const { account, region } = config.source;
  const role = (acct: string, name: string) => `arn:${partition}:iam::${acct}:role/${name}`;
  const fn = (name: string) => `arn:${partition}:lambda:${region}:${account}:function:${name}`;
  return {
    listRole: role(account, names.listRole),
    copyRole: role(account, names.copyRole),
    notifyRole: role(account, names.notifyRole),
    eventsRole: role(account, names.eventsRole),
    digestRole: role(account, names.digestRole),
    targetRole: role(config.target.account, names.targetRole),
    sourceAccountRoot: `arn:${partition}:iam::${account}:root`,
    listFunction: fn(names.listFunction),
    copyFunction: fn(names.copyFunction),
    notifyFunction: fn(names.notifyFunction),
    eventsFunction: fn(names.eventsFunction),
    eventsQueue: `arn:${partition}:sqs:${region}:${account}:${names.eventsQueue}`,
    stateMachine: `arn:${partition}:states:${region}:${account}:stateMachine:${names.stateMachine}`,
    // Distributed Map children run as executions of "<state machine>/<map run id>".
    stateMachineExecutions: `arn:${partition}:states:${region}:${account}:execution:${names.stateMachine}/*`,
    copyMapChildren: `arn:${partition}:states:${region}:${account}:execution:${names.stateMachine}/${COPY_MAP_LABEL}:*`,
    topic: `arn:${partition}:sns:${region}:${account}:${names.topic}`,
    alarms: `arn:${partition}:cloudwatch:${region}:${account}:alarm:${names.alarmPrefix}*`,
    stateBucket: `arn:${partition}:s3:::${names.stateBucket}`,
    sourceBucket: `arn:${partition}:s3:::${config.source.bucket}`,
    targetBucket: `arn:${partition}:s3:::${config.target.bucket}`,
  };
}
