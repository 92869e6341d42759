import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { configFromContext, type InfraConfig, isSameAccount } from './config';
import { SourceStack } from './source-stack';
import { TargetStack } from './target-stack';

export interface S3xcopyApp {
  app: App;
  config: InfraConfig;
  source: SourceStack;
  /** Absent for same-account deployments. */
  target?: TargetStack;
}

export interface BuildAppOptions {
  appProps?: AppProps;
  functionsDir?: string;
  definitionPath?: string;
  /** Run the cdk-nag AwsSolutions and Serverless packs at synth (default true). */
  nag?: boolean;
}

/**
 * Builds the s3xcopy app from CDK context (cdk.json plus `-c` overrides): SourceStack, and TargetStack
 * when the target bucket lives in another account. cdk-nag runs as a validation plugin, so an
 * unacknowledged finding fails synth.
 */
export function buildApp(options: BuildAppOptions = {}): S3xcopyApp {
  const app = new App(options.appProps);
  const config = configFromContext(app.node.getAllContext());
  const source = new SourceStack(app, 'S3xcopySource', {
    config,
    ...(options.functionsDir ? { functionsDir: options.functionsDir } : {}),
    ...(options.definitionPath ? { definitionPath: options.definitionPath } : {}),
  });
  const target = isSameAccount(config) ? undefined : new TargetStack(app, 'S3xcopyTarget', { config });
  if (options.nag ?? true) {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  }
  return { app, config, source, ...(target ? { target } : {}) };
}

// `cdk synth` runs this file (cdk.json "app"); tests import buildApp instead.
if (require.main === module) {
  buildApp().app.synth();
}
