import { readFileSync } from 'node:fs';
import { DEFINITION_PATH } from '../../cli/runner/definition';
import { definitionSubstitutions } from '../../infra/constructs/copy-state-machine';
import { COPY_MAP_LABEL } from '../../infra/constructs/dashboard';
import { resourceArns } from '../../infra/names';
import { deployment, isAllowed } from './iam-proofs';
import type { TemplateJson } from './resolve-template';
import { synthesize } from './synth';

/**
 * ContinueAsNew: the state machine starts a new execution of itself, and of nothing else; and a redrive
 * of a failed execution may restart its Map Run's children.
 */
describe('the state machine role and states:StartExecution', () => {
  const built = synthesize();
  const template = built.sourceTemplate.toJSON() as TemplateJson;
  const d = deployment(built.config, template);
  const arns = resourceArns(built.config);
  const roleId = d.source
    .idsOfType('AWS::IAM::Role')
    .find((id) =>
      JSON.stringify(template.Resources[id]?.Properties?.AssumeRolePolicyDocument).includes('states.amazonaws.com'),
    ) as string;

  it('may start executions of its own state machine only', async () => {
    // Arrange
    const machines = [arns.stateMachine, arns.stateMachine.replace(/:s3xcopy-copy$/, ':someone-elses-machine')];
    // Act
    const allowed: string[] = [];
    for (const machine of machines) {
      const ok = await isAllowed(
        {
          principal: d.source.roleArn(roleId),
          action: 'states:StartExecution',
          resource: machine,
          resourceAccount: built.config.source.account,
        },
        d.source.identityPolicies(roleId),
      );
      if (ok) allowed.push(machine);
    }
    // Assert
    expect(allowed).toEqual([arns.stateMachine]);
  });

  it("may redrive its Distributed Map's child executions, and no other execution", async () => {
    // Arrange: redriving a failed parent redrives its Map Run, whose children Step Functions restarts as this role
    const executions = arns.stateMachineExecutions.replace(/\/\*$/, '');
    const child = `${executions}/${COPY_MAP_LABEL}:0f7c2d3a-5b7e-4a8b-9c1d-2e3f4a5b6c7d`;
    const others = [
      `${executions}/SomeOtherMap:0f7c2d3a-5b7e-4a8b-9c1d-2e3f4a5b6c7d`,
      child.replace(':s3xcopy-copy/', ':someone-elses-machine/'),
    ];
    // Act
    const allowed: string[] = [];
    for (const execution of [child, ...others]) {
      const ok = await isAllowed(
        {
          principal: d.source.roleArn(roleId),
          action: 'states:RedriveExecution',
          resource: execution,
          resourceAccount: built.config.source.account,
        },
        d.source.identityPolicies(roleId),
      );
      if (ok) allowed.push(execution);
    }
    // Assert
    expect(allowed).toEqual([child]);
  });

  it('names its own state machine by context, so the definition needs no ARN (no circular reference)', () => {
    // Act
    const asl = JSON.parse(readFileSync(DEFINITION_PATH, 'utf8'));
    const substitutions = Object.values(definitionSubstitutions(built.config));
    // Assert
    expect(asl.States.ContinueAsNew.Parameters['StateMachineArn.$']).toBe('$$.StateMachine.Id');
    expect(substitutions.some((value) => value.includes(':stateMachine:'))).toBe(false);
  });
});
