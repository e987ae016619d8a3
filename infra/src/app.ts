import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from './cdk-nag.ts';
import { configFromContext } from './config.ts';
import { ReconStack } from './recon-stack.ts';

/**
 * `cdk synth` / `cdk deploy` entry (infra/cdk.json). Configuration: the `recon` context object
 * (cdk.json, or `-c recon='{"matcher":{"maxTasks":20}}'`); account and region from the context
 * (`-c account=… -c region=…`) or the CLI's environment.
 */
const app = new App();
const config = configFromContext(app.node.tryGetContext('recon'));
const account = app.node.tryGetContext('account') ?? process.env.CDK_DEFAULT_ACCOUNT;
const region = app.node.tryGetContext('region') ?? process.env.CDK_DEFAULT_REGION;

new ReconStack(app, app.node.tryGetContext('stackName') ?? 'Recon', {
  config,
  env: { account, region },
  description: 'recon: financial reconciliation (S3, EventBridge, SQS, ECS Fargate, Glue, QuickSight)',
  tags: { project: 'recon' },
});

// cdk-nag: AWS Solutions rules on every synth; a finding fails the synth unless acknowledged
// (each acknowledgement with its reason: src/nag.ts).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
