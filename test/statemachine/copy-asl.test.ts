import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  adaptForLocal,
  DEFINITION_PATH,
  fillPlaceholders,
  LOCAL_MAP_RESOURCE,
  loadDefinition,
  PLACEHOLDERS,
  validateDefinition,
} from '../../cli/runner/definition';
import { parseInfraConfig } from '../../infra/config';
import { definitionSubstitutions } from '../../infra/constructs/copy-state-machine';
import { EXAMPLE_DEFINITION_VALUES } from '../support/example-definition';

const text = readFileSync(DEFINITION_PATH, 'utf8');
const values = EXAMPLE_DEFINITION_VALUES;

describe('statemachine/copy.asl.json', () => {
  it('is valid ASL as written and with its placeholders filled', () => {
    // Prepare
    const raw = JSON.parse(text);
    const filled = JSON.parse(fillPlaceholders(text, values));

    // Act
    const errors = [...validateDefinition(raw), ...validateDefinition(filled)];

    // Assess
    expect(errors).toEqual([]);
  });

  it('uses exactly the placeholders the runner and infra supply', () => {
    // Act
    const used = new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((match) => match[1]));

    // Assess
    expect([...used].sort()).toEqual([...PLACEHOLDERS].sort());
  });

  it('gets a value for every placeholder from infra, the same names the local runner fills', () => {
    // Prepare
    const config = parseInfraConfig({
      source: { account: '111111111111', region: 'us-east-1', bucket: 'src-bucket' },
      target: { account: '222222222222', region: 'us-east-1', bucket: 'dst-bucket' },
    });

    // Act
    const supplied = Object.keys(definitionSubstitutions(config));

    // Assess
    expect(supplied.sort()).toEqual([...PLACEHOLDERS].sort());
    expect(validateDefinition(JSON.parse(fillPlaceholders(text, definitionSubstitutions(config))))).toEqual([]);
  });

  it('reports a transition to a state that does not exist', () => {
    // Prepare
    const broken = JSON.parse(text);
    broken.States.PrepareCopy.Next = 'NoSuchState';

    // Act
    const errors = validateDefinition(broken);

    // Assess
    expect(errors.join('\n')).toMatch(/NoSuchState/);
  });

  it('refuses to fill a placeholder it has no value for', () => {
    // Act / Assess
    const { StateBucket: _missing, ...partial } = values;
    expect(() => fillPlaceholders(text, partial)).toThrow(/\$\{StateBucket\}/);
  });

  it('stays on JSONPath and invokes Lambda through lambda:invoke in every Task', () => {
    // Prepare
    const definition = JSON.parse(text);
    const tasks = [
      definition.States.List,
      definition.States.NotifySuccess,
      definition.States.NotifyFailure,
      definition.States.CopyBatches.ItemProcessor.States.Copy,
    ];

    // Assess
    expect(text).not.toMatch(/QueryLanguage|JSONata|"Assign"/);
    for (const task of tasks) {
      expect(task.Resource).toBe('arn:aws:states:::lambda:invoke');
      expect(task.Retry[0].ErrorEquals).toEqual([
        'Lambda.ClientExecutionTimeoutException',
        'Lambda.ServiceException',
        'Lambda.AWSLambdaException',
        'Lambda.SdkClientException',
        'Lambda.TooManyRequestsException',
        'Lambda.Unknown',
      ]);
      expect(task.Retry[0]).toMatchObject({ JitterStrategy: 'FULL', BackoffRate: 2 });
    }
  });

  it('retries copy batch and time budget errors but never a role or job error', () => {
    // Prepare
    const copy = JSON.parse(text).States.CopyBatches.ItemProcessor.States.Copy;
    const retried = copy.Retry.flatMap((retrier: { ErrorEquals: string[] }) => retrier.ErrorEquals);

    // Assess
    expect(retried).toEqual(expect.arrayContaining(['CopyBatchError', 'CopyTimeBudgetError']));
    expect(retried).not.toEqual(expect.arrayContaining(['AssumeRoleError']));
    expect(retried).not.toContain('InvalidJobError');
    expect(retried).not.toContain('States.ALL');
  });

  it('lists a slice again after S3 throttling or server errors, but not after a job error', () => {
    // Prepare
    const list = JSON.parse(text).States.List;
    const retried = list.Retry.flatMap((retrier: { ErrorEquals: string[] }) => retrier.ErrorEquals);

    // Assess
    expect(retried).toEqual(expect.arrayContaining(['SlowDown', 'InternalError', 'ServiceUnavailable']));
    expect(retried).not.toContain('InvalidJobError');
    expect(retried).not.toContain('AssumeRoleError');
    expect(retried).not.toContain('States.ALL');
  });

  it('runs the copy as a Distributed Map over the manifest, writing results per job', () => {
    // Prepare
    const map = JSON.parse(text).States.CopyBatches;

    // Assess
    expect(map.ItemProcessor.ProcessorConfig).toEqual({ Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' });
    expect(map.ItemReader).toMatchObject({
      Resource: 'arn:aws:states:::s3:getObject',
      ReaderConfig: { InputType: 'JSON' },
    });
    expect(map.ItemSelector).toEqual({
      'job.$': '$.list.job',
      'jobId.$': '$.list.jobId',
      'batch.$': '$$.Map.Item.Value',
    });
    expect(map.ToleratedFailurePercentagePath).toBe('$.list.job.options.toleratedFailurePercentage');
    expect(map.ResultWriter.Resource).toBe('arn:aws:states:::s3:putObject');
    expect(map.ResultPath).toBe('$.list.mapRun');
  });

  it('writes COMPACT results, so a succeeded batch is recorded by its copy output and not its whole input', () => {
    // Prepare: asl-validator 4 accepts WriterConfig without checking its values; this test and the local
    // runner (writerConfigOf) are what check them.
    const writer = JSON.parse(text).States.CopyBatches.ResultWriter;

    // Assess
    expect(writer.WriterConfig).toEqual({ Transformation: 'COMPACT', OutputType: 'JSON' });
  });

  it('never sends the execution input to Notify, which could pass the payload limit no Catch can catch', () => {
    // Prepare
    const states = JSON.parse(text).States;

    // Assess
    for (const name of ['NotifySuccess', 'NotifyFailure']) {
      expect(JSON.stringify(states[name].Parameters)).not.toContain('$$.Execution.Input');
      expect(JSON.stringify(states[name].Parameters)).not.toContain('$.carry.request');
      expect(states[name].Parameters.Payload['state.$']).toBe('$.list');
    }
  });

  it('still succeeds when the success notification fails, keeping the notify error beside the state', () => {
    // Prepare
    const states = JSON.parse(text).States;

    // Assess
    expect(states.NotifySuccess.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.list.notificationError', Next: 'Done' },
    ]);
    expect(states.NotifySuccess.Next).toBe('Done');
    expect(states.Done.Type).toBe('Succeed');
  });

  it('reaches Done only through NotifySuccess, so every successful execution writes its reports', () => {
    // Prepare
    const states = JSON.parse(text).States as Record<string, Record<string, unknown>>;
    const targets = (state: Record<string, unknown>): string[] => [
      ...(typeof state.Next === 'string' ? [state.Next] : []),
      ...(typeof state.Default === 'string' ? [state.Default] : []),
      ...((state.Choices as Array<{ Next: string }> | undefined) ?? []).map((choice) => choice.Next),
      ...((state.Catch as Array<{ Next: string }> | undefined) ?? []).map((catcher) => catcher.Next),
    ];

    // Act
    const intoDone = Object.entries(states)
      .filter(([, state]) => targets(state).includes('Done'))
      .map(([name]) => name);

    // Assess
    expect(intoDone).toEqual(['NotifySuccess']);
  });

  it('says in its Comment how many slices one execution holds and what to do beyond that', () => {
    // Act
    const comment = JSON.parse(text).Comment as string;

    // Assess
    expect(comment).toMatch(/25,000 history events/);
    expect(comment).toMatch(/new execution of this state machine/);
  });

  it('ends every failure in a Fail state that keeps the caught Error and Cause', () => {
    // Prepare
    const states = JSON.parse(text).States;

    // Assess
    for (const name of ['List', 'CopyBatches', 'ContinueAsNew']) {
      expect(states[name].Catch).toEqual([
        { ErrorEquals: ['States.ALL'], ResultPath: '$.list.error', Next: 'NotifyFailure' },
      ]);
    }
    // Through the renaming of reserved error names (test/statemachine/failed-error-names.test.ts).
    expect(states.NotifyFailure.Next).toBe('ReservedErrorName');
    expect(states.RenameReservedError.Next).toBe('Failed');
    expect(states.Failed).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.list.error.Error',
      CausePath: '$.list.error.Cause',
    });
  });

  it('refuses to load a definition whose state names a Next that does not exist', () => {
    // Prepare: the repository's file with one transition broken, in a file of its own.
    const broken = JSON.parse(text);
    const state = Object.values(broken.States as Record<string, { Next?: string }>).find((each) => each.Next);
    if (!state) throw new Error('the definition has no state with a Next');
    state.Next = 'NoSuchState';
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'asl-')), 'broken.asl.json');
    writeFileSync(file, JSON.stringify(broken));

    // Act and Assess
    expect(() => loadDefinition(values, file)).toThrow(/with its placeholders filled is not a valid state machine/);
  });

  it('turns the Distributed Map into a Task the runner binds, keeping its Catch and ResultPath', () => {
    // Prepare
    const filled = loadDefinition(values);

    // Act
    const { definition, maps } = adaptForLocal(filled);

    // Assess
    expect(Object.keys(maps)).toEqual(['CopyBatches']);
    expect(definition.States.CopyBatches).toMatchObject({
      Type: 'Task',
      Resource: LOCAL_MAP_RESOURCE,
      ResultPath: '$.list.mapRun',
      Next: 'MoreSlices',
      Catch: filled.States.CopyBatches?.Catch,
    });
    expect(definition.States.List).toEqual(filled.States.List);
  });
});
