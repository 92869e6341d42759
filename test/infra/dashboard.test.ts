import { readFileSync } from 'node:fs';
import { DEFINITION_PATH } from '../../cli/runner/definition';
import { createObservability } from '../../functions/shared/observability';
import { COPY_MAP_LABEL, METRICS_NAMESPACE, serviceOf } from '../../infra/constructs/dashboard';
import { synthesize } from './synth';

/** The dashboard body with every CloudFormation token replaced by its logical ID or "<pseudo>". */
function dashboardBody(resources: Record<string, Record<string, unknown>>) {
  const [dashboard] = Object.values(resources) as Array<{
    Properties: { DashboardBody: unknown; DashboardName: string };
  }>;
  const join = dashboard?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const text = join['Fn::Join'][1]
    .map((part) => {
      if (typeof part === 'string') return part;
      const token = part as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
      return token.Ref ?? token['Fn::GetAtt']?.[0] ?? '<token>';
    })
    .join('');
  return {
    name: dashboard?.Properties.DashboardName,
    body: JSON.parse(text) as { widgets: Array<{ properties: { title?: string; metrics?: unknown[][] } }> },
  };
}

/** Every metric of the dashboard as "namespace metric dimension=value". */
function metricsOf(body: ReturnType<typeof dashboardBody>['body']): string[] {
  const out: string[] = [];
  for (const widget of body.widgets) {
    for (const metric of widget.properties.metrics ?? []) {
      const parts = metric.filter((part): part is string => typeof part === 'string');
      const [namespace, name, ...dims] = parts;
      const pairs: string[] = [];
      for (let i = 0; i + 1 < dims.length; i += 2) pairs.push(`${dims[i]}=${dims[i + 1]}`);
      out.push([namespace, name, ...pairs].join(' '));
    }
  }
  return out;
}

describe('the CloudWatch dashboard', () => {
  const built = synthesize();
  const { name, body } = dashboardBody(built.sourceTemplate.findResources('AWS::CloudWatch::Dashboard'));
  const metrics = metricsOf(body);
  const stateMachineArn = 'arn:aws:states:eu-west-1:111111111111:stateMachine:s3xcopy-copy';

  it('is named after the deployment', () => {
    expect(name).toBe('s3xcopy');
  });

  it('shows executions by status', () => {
    for (const status of ['Started', 'Succeeded', 'Failed', 'TimedOut', 'Aborted']) {
      expect(metrics).toContainEqual(
        expect.stringMatching(new RegExp(`^AWS/States Executions${status} StateMachineArn=`)),
      );
    }
  });

  it('shows objects copied, failed, skipped and bytes copied from the metrics the functions emit', () => {
    // Arrange: what Powertools writes for the copy function in Lambda (namespace and service from its env)
    const saved = process.env.POWERTOOLS_METRICS_NAMESPACE;
    process.env.POWERTOOLS_METRICS_NAMESPACE = METRICS_NAMESPACE;
    const { metrics: emitter } = createObservability('s3xcopy-copy');
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_NAMESPACE;
    else process.env.POWERTOOLS_METRICS_NAMESPACE = saved;
    emitter.addMetric('ObjectsCopied', 'Count', 1);
    const emf = emitter.serializeMetrics() as unknown as {
      _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][] }> };
      service: string;
    };
    const [directive] = emf._aws.CloudWatchMetrics;
    // Assert: the dashboard reads that namespace and dimension
    expect(directive?.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive?.Dimensions).toEqual([['service']]);
    expect(emf.service).toBe(serviceOf('copy'));
    for (const metric of [
      'ObjectsCopied',
      'ObjectsFailed',
      'ObjectsSkipped',
      'BytesCopied',
      'InvocationsFailed',
      'InvocationsHandedOver',
    ]) {
      expect(metrics).toContain(`s3xcopy ${metric} service=s3xcopy-copy`);
    }
    expect(metrics).toContain('s3xcopy ObjectsSkipped service=s3xcopy-list');
  });

  it('shows Lambda errors and throttles of every function', () => {
    for (const metric of ['Errors', 'Throttles']) {
      // list, copy, notify, and the events and events digest functions of the direct event path
      expect(metrics.filter((m) => m.startsWith(`AWS/Lambda ${metric} FunctionName=`))).toHaveLength(5);
    }
  });

  it("shows the Map Run's batches under the Map's Label, which the ASL sets", () => {
    // Arrange
    const asl = JSON.parse(readFileSync(DEFINITION_PATH, 'utf8'));
    // Assert
    expect(asl.States.CopyBatches.Label).toBe(COPY_MAP_LABEL);
    for (const metric of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed']) {
      expect(metrics).toContain(`AWS/States ${metric} StateMachineArn=${stateMachineArn}/${COPY_MAP_LABEL}`);
    }
  });

  it('shows the depth of every dead-letter queue (schedule, events queue, events digest schedule)', () => {
    expect(metrics.filter((m) => m.startsWith('AWS/SQS ApproximateNumberOfMessagesVisible QueueName='))).toHaveLength(
      3,
    );
  });
});
