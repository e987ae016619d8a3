import { App } from 'aws-cdk-lib';
import { DEFAULT_CONFIG, type ReconConfig } from '../src/config.ts';
import { ReconStack } from '../src/recon-stack.ts';

/** A dummy account and region: nothing is looked up, so synth stays offline. */
export const ENV = { account: '123456789012', region: 'sa-east-1' } as const;

export const TEST_CONFIG: ReconConfig = {
  ...DEFAULT_CONFIG,
  network: { ...DEFAULT_CONFIG.network, availabilityZones: ['sa-east-1a', 'sa-east-1b'] },
  matcher: { minTasks: 1, maxTasks: 12 },
  quickSight: {
    ...DEFAULT_CONFIG.quickSight,
    principalArn: 'arn:aws:quicksight:sa-east-1:123456789012:group/default/recon-analysts',
  },
  notifications: {
    alarmEmail: 'ops@example.com',
    sesIdentity: 'example.com',
    mailFrom: 'recon@example.com',
    mailTo: 'financeiro@example.com',
    slackWebhookSecretArn: 'arn:aws:secretsmanager:sa-east-1:123456789012:secret:recon/slack-AbCdEf',
  },
};

export function buildStack(config: ReconConfig = TEST_CONFIG): { app: App; stack: ReconStack } {
  // CDK's built-in CloudFormation validation costs ~10 s per synth and only warns; the `cdk synth`
  // test runs it (synth.test.ts), the assertion tests skip it.
  const app = new App({ builtinCloudFormationValidation: false });
  const stack = new ReconStack(app, 'Recon', { config, env: ENV });
  return { app, stack };
}
