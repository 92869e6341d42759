/**
 * Resolves the intrinsics in a synthesized template to plain strings, from the deterministic names the
 * stacks set (RoleName, FunctionName, BucketName, ...), so IAM policies can be fed to iam-simulate.
 * Anything it cannot resolve throws: a proof must never run on a half-resolved policy.
 */

export interface TemplateJson {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

export interface StackEnv {
  account: string;
  region: string;
  partition?: string;
}

export class TemplateResolver {
  private readonly partition: string;

  constructor(
    readonly template: TemplateJson,
    readonly env: StackEnv,
  ) {
    this.partition = env.partition ?? 'aws';
  }

  /** Resolves every intrinsic inside `value`. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((item) => this.resolve(item));
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [key, arg] = entries[0] as [string, unknown];
      if (key === 'Ref') return this.ref(arg as string);
      if (key === 'Fn::GetAtt') {
        const [id, attribute] = arg as [string, string];
        return this.getAtt(id, attribute);
      }
      if (key === 'Fn::Join') {
        const [separator, parts] = arg as [string, unknown[]];
        return parts.map((part) => this.str(part)).join(separator);
      }
      if (key === 'Fn::Sub') {
        const text = typeof arg === 'string' ? arg : (arg as [string])[0];
        if (typeof arg !== 'string') throw new Error(`Fn::Sub with variables is not supported: ${JSON.stringify(arg)}`);
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          const [id, attribute] = name.split('.');
          return attribute ? this.str(this.getAtt(id as string, attribute)) : this.str(this.ref(id as string));
        });
      }
      if (key.startsWith('Fn::')) throw new Error(`Cannot resolve ${key}: ${JSON.stringify(arg)}`);
    }
    return Object.fromEntries(entries.map(([key, item]) => [key, this.resolve(item)]));
  }

  private str(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved !== 'string') throw new Error(`Expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  private resource(id: string) {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`No resource ${id} in the template`);
    return { type: resource.Type, props: resource.Properties ?? {} };
  }

  private ref(id: string): string {
    const { account, region } = this.env;
    const pseudo: Record<string, string> = {
      'AWS::Partition': this.partition,
      'AWS::AccountId': account,
      'AWS::Region': region,
      'AWS::URLSuffix': 'amazonaws.com',
    };
    if (id in pseudo) return pseudo[id] as string;
    const { type, props } = this.resource(id);
    switch (type) {
      case 'AWS::IAM::Role':
      case 'AWS::Lambda::Function':
      case 'AWS::S3::Bucket':
      case 'AWS::Logs::LogGroup':
        return this.name(id);
      case 'AWS::SNS::Topic':
      case 'AWS::StepFunctions::StateMachine':
        return this.getAtt(id, 'Arn');
      case 'AWS::KMS::Key':
        return id;
      case 'AWS::SQS::Queue':
        return `https://sqs.${region}.amazonaws.com/${account}/${this.name(id)}`;
      default:
        throw new Error(`Cannot resolve Ref to ${type} ${id} (${JSON.stringify(props).slice(0, 80)})`);
    }
  }

  /** The physical name: the fixed name when the stack sets one, else a stand-in derived from the logical ID. */
  private name(id: string): string {
    const { type, props } = this.resource(id);
    const nameProperty: Record<string, string> = {
      'AWS::IAM::Role': 'RoleName',
      'AWS::Lambda::Function': 'FunctionName',
      'AWS::S3::Bucket': 'BucketName',
      'AWS::Logs::LogGroup': 'LogGroupName',
      'AWS::SNS::Topic': 'TopicName',
      'AWS::StepFunctions::StateMachine': 'StateMachineName',
      'AWS::SQS::Queue': 'QueueName',
    };
    const property = nameProperty[type];
    const fixed = property ? props[property] : undefined;
    if (fixed !== undefined) return this.str(fixed);
    return type === 'AWS::S3::Bucket' ? id.toLowerCase() : id;
  }

  private getAtt(id: string, attribute: string): string {
    const { account, region } = this.env;
    const p = this.partition;
    const { type } = this.resource(id);
    const name = () => this.name(id);
    const arns: Record<string, () => string> = {
      'AWS::IAM::Role': () => `arn:${p}:iam::${account}:role/${name()}`,
      'AWS::Lambda::Function': () => `arn:${p}:lambda:${region}:${account}:function:${name()}`,
      'AWS::S3::Bucket': () => `arn:${p}:s3:::${name()}`,
      'AWS::KMS::Key': () => `arn:${p}:kms:${region}:${account}:key/${id}`,
      'AWS::Logs::LogGroup': () => `arn:${p}:logs:${region}:${account}:log-group:${name()}:*`,
      'AWS::SQS::Queue': () => `arn:${p}:sqs:${region}:${account}:${name()}`,
      'AWS::SNS::Topic': () => `arn:${p}:sns:${region}:${account}:${name()}`,
      'AWS::StepFunctions::StateMachine': () => `arn:${p}:states:${region}:${account}:stateMachine:${name()}`,
    };
    const arn = arns[type];
    if (arn && (attribute === 'Arn' || attribute === 'TopicArn')) return arn();
    throw new Error(`Cannot resolve Fn::GetAtt ${id}.${attribute} (${type})`);
  }

  /** The logical IDs of every resource of a type. */
  idsOfType(type: string): string[] {
    return Object.entries(this.template.Resources)
      .filter(([, resource]) => resource.Type === type)
      .map(([id]) => id);
  }

  /** The ARN of a role, by logical ID. */
  roleArn(id: string): string {
    return this.getAtt(id, 'Arn');
  }

  /**
   * Every identity policy attached to a role: its inline policies and each AWS::IAM::Policy naming it.
   * Managed policies are refused: the proofs would not see what they allow.
   */
  identityPolicies(roleId: string): Array<{ name: string; policy: unknown }> {
    const { props } = this.resource(roleId);
    if (props.ManagedPolicyArns) {
      throw new Error(`Role ${roleId} has managed policies; the proofs cannot see what they allow`);
    }
    const inline = ((props.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: unknown }>).map((policy) => ({
      name: policy.PolicyName,
      policy: this.resolve(policy.PolicyDocument),
    }));
    const attached = this.idsOfType('AWS::IAM::Policy')
      .filter((id) =>
        ((this.resource(id).props.Roles ?? []) as unknown[]).some(
          (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }),
        ),
      )
      .map((id) => ({ name: id, policy: this.resolve(this.resource(id).props.PolicyDocument) }));
    return [...inline, ...attached];
  }

  /** A role's trust policy. */
  trustPolicy(roleId: string): unknown {
    return this.resolve(this.resource(roleId).props.AssumeRolePolicyDocument);
  }

  /** The policy of a bucket, by bucket name (undefined when the template has none). */
  bucketPolicy(bucketName: string): unknown {
    const id = this.idsOfType('AWS::S3::BucketPolicy').find(
      (policyId) => this.str(this.resource(policyId).props.Bucket) === bucketName,
    );
    return id ? this.resolve(this.resource(id).props.PolicyDocument) : undefined;
  }

  /** The key policy of a KMS key, by logical ID. */
  keyPolicy(keyId: string): unknown {
    return this.resolve(this.resource(keyId).props.KeyPolicy);
  }

  /** The ARN of a KMS key, by logical ID (a stand-in key ID: the logical ID). */
  keyArn(keyId: string): string {
    return this.getAtt(keyId, 'Arn');
  }

  /** Every alarm with its ARN (from its fixed AlarmName; throws without one) and its resolved actions. */
  alarms(): Array<{ id: string; arn: string; actions: string[] }> {
    const { account, region } = this.env;
    return this.idsOfType('AWS::CloudWatch::Alarm').map((id) => {
      const { props } = this.resource(id);
      if (props.AlarmName === undefined) throw new Error(`Alarm ${id} has no fixed AlarmName`);
      return {
        id,
        arn: `arn:${this.partition}:cloudwatch:${region}:${account}:alarm:${this.str(props.AlarmName)}`,
        actions: ((props.AlarmActions ?? []) as unknown[]).map((action) => this.str(action)),
      };
    });
  }

  /** The policy of a topic, by topic ARN. */
  topicPolicy(topicArn: string): unknown {
    const id = this.idsOfType('AWS::SNS::TopicPolicy').find((policyId) =>
      ((this.resource(policyId).props.Topics ?? []) as unknown[]).some((topic) => this.str(topic) === topicArn),
    );
    return id ? this.resolve(this.resource(id).props.PolicyDocument) : undefined;
  }
}
