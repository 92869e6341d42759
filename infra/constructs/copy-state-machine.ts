import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { InfraConfig } from '../config';
import { acknowledge, acknowledgePrefixWildcards } from '../nag';
import { resourceArns, resourceNames } from '../names';
import { stateMachineStatements } from '../policies';
import { FUNCTION_SIZING, type FunctionKind, PROJECT_ROOT } from './copy-functions';

/** The ASL file the deployment runs (and `s3xcopy run` runs locally). */
export const DEFAULT_DEFINITION_PATH = path.join(PROJECT_ROOT, 'statemachine', 'copy.asl.json');

/** Every `${Name}` placeholder in an ASL text, once each, in order of appearance. */
export function placeholdersIn(asl: string): string[] {
  return [...new Set([...asl.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((match) => match[1] as string))];
}

/** The values the deployment supplies for the ASL placeholders, from the fixed names. */
export function definitionSubstitutions(config: InfraConfig): Record<string, string> {
  const arns = resourceArns(config);
  return {
    ListFunctionArn: arns.listFunction,
    CopyFunctionArn: arns.copyFunction,
    NotifyFunctionArn: arns.notifyFunction,
    StateBucket: resourceNames(config).stateBucket,
    MapMaxConcurrency: String(config.mapMaxConcurrency),
    SlicesPerExecution: String(config.slicesPerExecution),
  };
}

/** Which function each ARN placeholder names. */
const FUNCTION_PLACEHOLDERS: Record<string, FunctionKind> = {
  '${ListFunctionArn}': 'list',
  '${CopyFunctionArn}': 'copy',
  '${NotifyFunctionArn}': 'notify',
};

/** A Lambda Task of an ASL definition whose timeout does not outlast its function's. */
export interface TaskTimeoutProblem {
  state: string;
  kind: FunctionKind;
  taskTimeoutSeconds: number | undefined;
  functionTimeoutSeconds: number;
}

interface AslStates {
  States?: Record<string, AslState>;
}
interface AslState {
  Type?: string;
  Resource?: string;
  TimeoutSeconds?: number;
  Parameters?: { FunctionName?: unknown };
  ItemProcessor?: AslStates;
  Iterator?: AslStates;
  Branches?: AslStates[];
}

/**
 * The Lambda Tasks (in Maps and Parallels too) whose TimeoutSeconds is missing or not longer than the
 * deployed function's timeout. A Task that gives up first ends the step with States.Timeout while the
 * function still runs: a notify reading many result files would be cut off, and its work lost.
 */
export function taskTimeoutProblems(
  asl: string,
  sizing: Record<FunctionKind, { timeout: { toSeconds(): number } }> = FUNCTION_SIZING,
): TaskTimeoutProblem[] {
  const problems: TaskTimeoutProblem[] = [];
  const visit = (machine: AslStates | undefined) => {
    for (const [name, state] of Object.entries(machine?.States ?? {})) {
      visit(state.ItemProcessor ?? state.Iterator);
      for (const branch of state.Branches ?? []) visit(branch);
      const functionName = state.Parameters?.FunctionName;
      const kind = typeof functionName === 'string' ? FUNCTION_PLACEHOLDERS[functionName] : undefined;
      if (state.Type !== 'Task' || !state.Resource?.startsWith('arn:aws:states:::lambda:invoke') || !kind) continue;
      const functionTimeoutSeconds = sizing[kind].timeout.toSeconds();
      if (state.TimeoutSeconds === undefined || state.TimeoutSeconds <= functionTimeoutSeconds) {
        problems.push({ state: name, kind, taskTimeoutSeconds: state.TimeoutSeconds, functionTimeoutSeconds });
      }
    }
  };
  visit(JSON.parse(asl) as AslStates);
  return problems;
}

export interface CopyStateMachineProps {
  config: InfraConfig;
  /** The ASL file; statemachine/copy.asl.json by default. */
  definitionPath?: string;
}

/**
 * The state machine from the ASL file, inlined with its placeholders filled; every placeholder must have
 * a value, and every Lambda Task must outlast its function, or synth fails naming them. Logs ALL events to a log group with retention; X-Ray tracing on.
 */
export class CopyStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: CopyStateMachineProps) {
    super(scope, id);
    const { config } = props;
    const definitionPath = props.definitionPath ?? DEFAULT_DEFINITION_PATH;
    const asl = readFileSync(definitionPath, 'utf8');
    const substitutions = definitionSubstitutions(config);
    const missing = placeholdersIn(asl).filter((name) => !(name in substitutions));
    if (missing.length > 0) {
      throw new Error(
        `${definitionPath} uses placeholder(s) ${missing.map((name) => `\${${name}}`).join(', ')} that the ` +
          'deployment does not supply: add them to definitionSubstitutions in infra/constructs/copy-state-machine.ts',
      );
    }
    const timeoutProblems = taskTimeoutProblems(asl);
    if (timeoutProblems.length > 0) {
      throw new Error(
        timeoutProblems
          .map(
            (problem) =>
              `${definitionPath}: Task "${problem.state}" ${problem.taskTimeoutSeconds === undefined ? 'has no TimeoutSeconds' : `times out after ${problem.taskTimeoutSeconds} s`}, ` +
              `but the ${problem.kind} function may run ${problem.functionTimeoutSeconds} s: give the Task a longer ` +
              `TimeoutSeconds (e.g. ${problem.functionTimeoutSeconds + 30}), or change FUNCTION_SIZING in infra/constructs/copy-functions.ts.`,
          )
          .join('\n'),
      );
    }
    const names = resourceNames(config);
    this.role = new iam.Role(this, 'Role', {
      description: 's3xcopy state machine',
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      inlinePolicies: {
        'statemachine-access': new iam.PolicyDocument({
          statements: stateMachineStatements(config).map((statement) => iam.PolicyStatement.fromJson(statement)),
        }),
      },
    });
    const logGroup = new logs.LogGroup(this, 'Logs', {
      // Step Functions needs the /aws/vendedlogs/ prefix to avoid the log-resource-policy size limit.
      logGroupName: `/aws/vendedlogs/states/${names.stateMachine}`,
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: names.stateMachine,
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromString(asl),
      definitionSubstitutions: substitutions,
      role: this.role,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
    });
    acknowledge(
      this.role,
      'AwsSolutions-IAM5[Resource::*]',
      'Added by CDK for logging and tracing: the logs:*LogDelivery / resource-policy actions and the X-Ray ' +
        'actions that Step Functions needs have no resource-level permissions in IAM.',
    );
    acknowledgePrefixWildcards(
      this.role,
      stateMachineStatements(config),
      'The Distributed Map reads manifests/<jobId>/part-<n>.json, writes results/<jobId>/ and manages its own ' +
        'child executions (execution:<name>/<map run>:<id>): all named at run time, each scoped to its prefix.',
    );
  }
}
