import { type EventType, QUEUES, type QueueName, ROUTES } from '@recon/contracts';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { configFromContext } from '../src/config.ts';
import { routeRuleName } from '../src/constructs/messaging.ts';
import { buildStack, TEST_CONFIG } from './fixture.ts';

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation template JSON, navigated by the assertions
type Json = any;
type Resource = { Type: string; Properties: Record<string, Json> };

let template: Template;
let resources: Record<string, Resource>;

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
/** The admin API's task definition. */
const adminTaskDefinition = () =>
  Object.values(resources).find(
    (r) => r.Type === 'AWS::ECS::TaskDefinition' && r.Properties.ContainerDefinitions[0].Name === 'admin-api',
  )!;
const queueLogicalId = (name: string) => {
  const found = ofType('AWS::SQS::Queue').find(([, r]) => r.Properties.QueueName === name);
  if (!found) throw new Error(`no queue ${name}`);
  return found[0];
};
const bucketLogicalId = (role: string) => {
  const found = Object.keys(resources).find(
    (id) => id.startsWith(`Storage${role}Bucket`) && resources[id]!.Type === 'AWS::S3::Bucket',
  );
  if (!found) throw new Error(`no ${role} bucket`);
  return found;
};
const DATA_BUCKETS = ['Ingress', 'Intermediate', 'Output', 'Checkpoints'];

beforeAll(() => {
  const { stack } = buildStack();
  template = Template.fromStack(stack); // one synth for the whole file
  resources = template.toJSON().Resources;
});

describe('SQS', () => {
  it('one queue per service of the contracts, each with its DLQ, KMS-encrypted and TLS-only', () => {
    for (const name of QUEUES) {
      const queue = resources[queueLogicalId(`recon-${name}`)]!;
      const dlqId = queueLogicalId(`recon-${name}-dlq`);
      expect(queue.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] },
        maxReceiveCount: 5,
      });
      expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(60);
    }
    for (const [id, queue] of ofType('AWS::SQS::Queue')) {
      expect(queue.Properties.KmsMasterKeyId, id).toBeDefined();
    }
    const policies = ofType('AWS::SQS::QueuePolicy').map(([, p]) => JSON.stringify(p.Properties));
    for (const [id] of ofType('AWS::SQS::Queue')) {
      expect(
        policies.some((p) => p.includes(id) && p.includes('"aws:SecureTransport":"false"')),
        `${id} TLS-only`,
      ).toBe(true);
    }
  });

  it('every queue has a DLQ, except the DLQs themselves', () => {
    const queues = ofType('AWS::SQS::Queue');
    const dlqIds = new Set(
      queues.flatMap(([, q]) =>
        q.Properties.RedrivePolicy ? [q.Properties.RedrivePolicy.deadLetterTargetArn['Fn::GetAtt'][0]] : [],
      ),
    );
    // EventBridge's delivery DLQ is a DLQ too (rule targets' DeadLetterConfig).
    for (const [, rule] of ofType('AWS::Events::Rule')) {
      for (const t of rule.Properties.Targets ?? []) {
        if (t.DeadLetterConfig) dlqIds.add(t.DeadLetterConfig.Arn['Fn::GetAtt'][0]);
      }
    }
    for (const [id, q] of queues) {
      if (dlqIds.has(id)) continue;
      expect(q.Properties.RedrivePolicy, `${q.Properties.QueueName} has no DLQ`).toBeDefined();
    }
    expect(dlqIds.size).toBe(QUEUES.length + 1);
  });
});

describe('S3', () => {
  it('data buckets: SSE-KMS with the data key, public access blocked, TLS-only, EventBridge on ingress', () => {
    for (const role of DATA_BUCKETS) {
      const bucket = resources[bucketLogicalId(role)]!;
      const sse = bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0];
      expect(sse.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('aws:kms');
      expect(sse.ServerSideEncryptionByDefault.KMSMasterKeyID).toEqual({
        'Fn::GetAtt': [expect.stringMatching(/^StorageDataKey/), 'Arn'],
      });
      expect(sse.BucketKeyEnabled).toBe(true);
    }
    for (const [id, bucket] of ofType('AWS::S3::Bucket')) {
      expect(bucket.Properties.PublicAccessBlockConfiguration, id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: id },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              Principal: { AWS: '*' },
            }),
          ]),
        },
      });
    }
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: bucketLogicalId('Ingress') },
      NotificationConfiguration: { EventBridgeConfiguration: {} },
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true, RotationPeriodInDays: 90 });
  });

  it('versioning where data must not be lost; 2-year retention with a Glacier transition', () => {
    for (const role of ['Ingress', 'Output', 'Checkpoints']) {
      const bucket = resources[bucketLogicalId(role)]!;
      expect(bucket.Properties.VersioningConfiguration, role).toEqual({ Status: 'Enabled' });
      const retention = bucket.Properties.LifecycleConfiguration.Rules.find(
        (r: Json) => r.Id === 'retention',
      );
      expect(retention.ExpirationInDays, role).toBe(730);
      expect(retention.Transitions[0].TransitionInDays).toBe(90);
      expect(retention.Transitions[0].StorageClass).toMatch(/^GLACIER/);
    }
    // Athena/QuickSight cannot read Glacier Flexible Retrieval: the output goes to Instant Retrieval.
    const output = resources[bucketLogicalId('Output')]!;
    expect(output.Properties.LifecycleConfiguration.Rules[1].Transitions[0].StorageClass).toBe('GLACIER_IR');
    expect(resources[bucketLogicalId('Intermediate')]!.Properties.VersioningConfiguration).toBeUndefined();
  });
});

describe('EventBridge', () => {
  const routes = Object.entries(ROUTES).filter(([, q]) => q.length > 0) as [
    EventType,
    readonly QueueName[],
  ][];
  const ruleNamed = (name: string) => {
    const found = ofType('AWS::Events::Rule').find(([, r]) => r.Properties.Name === name);
    if (!found) throw new Error(`no rule ${name}`);
    return found[1];
  };

  it.each(routes)('route %s has its rule, targeting exactly its queues', (type, queues) => {
    const rule = ruleNamed(routeRuleName('recon', type));
    const targets = rule.Properties.Targets as Json[];
    expect(targets.map((t) => t.Arn).sort()).toEqual(
      queues.map((q) => ({ 'Fn::GetAtt': [queueLogicalId(`recon-${q}`), 'Arn'] })).sort(),
    );
    if (type === 'object.created') {
      // AWS's own event: S3 "Object Created" of the ingress bucket, delivered whole.
      expect(rule.Properties.EventPattern).toEqual({
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ Ref: bucketLogicalId('Ingress') }] },
          // `.csv` in any case, as ingest takes vendor files (isVendorFileKey).
          object: { key: [{ suffix: { 'equals-ignore-case': '.csv' } }] },
        },
      });
      expect(rule.Properties.EventBusName).toBeUndefined();
      for (const t of targets) expect(t.InputPath).toBeUndefined();
    } else {
      expect(rule.Properties.EventPattern).toEqual({ source: ['recon'], 'detail-type': [type] });
      expect(rule.Properties.EventBusName).toEqual({ Ref: expect.stringMatching(/^MessagingBus/) });
      for (const t of targets) expect(t.InputPath).toBe('$.detail');
    }
    for (const t of targets) expect(t.DeadLetterConfig).toBeDefined();
  });

  it('no rule routes anything the table does not', () => {
    const routeRules = ofType('AWS::Events::Rule').filter(([, r]) =>
      String(r.Properties.Name).startsWith('recon-route-'),
    );
    expect(routeRules.map(([, r]) => r.Properties.Name).sort()).toEqual(
      routes.map(([t]) => routeRuleName('recon', t)).sort(),
    );
  });

  it('the missing-delivery check runs on a schedule as a Fargate task', () => {
    const rule = ruleNamed('recon-missing-delivery-check');
    expect(rule.Properties.ScheduleExpression).toBe(TEST_CONFIG.deliveryCheckSchedule);
    expect(rule.Properties.Targets[0].EcsParameters).toMatchObject({ LaunchType: 'FARGATE', TaskCount: 1 });
  });
});

describe('ECS Fargate', () => {
  it('one service per recon service plus the admin API; containers run as non-root with tini', () => {
    const names = ofType('AWS::ECS::Service')
      .map(([, s]) => s.Properties.ServiceName)
      .sort();
    expect(names).toEqual([...QUEUES.map((q) => `recon-${q}`), 'recon-admin-api'].sort());
    for (const [id, td] of ofType('AWS::ECS::TaskDefinition')) {
      const [container] = td.Properties.ContainerDefinitions;
      expect(container.User, id).toBe('node');
      expect(container.LinuxParameters.InitProcessEnabled).toBe(true);
      const env = Object.fromEntries(container.Environment.map((e: Json) => [e.Name, e.Value]));
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining(['DATABASE_URL', 'RECON_STORE_BUCKET', 'RECON_INGRESS_BUCKET']),
      );
      expect(container.Secrets.map((s: Json) => s.Name)).toEqual(
        expect.arrayContaining(['PGUSER', 'PGPASSWORD']),
      );
    }
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internal' });
    template.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      HealthCheckPath: '/health',
    });
    template.hasResourceProperties('AWS::ECS::Service', {
      ServiceName: 'recon-admin-api',
      LoadBalancers: [Match.objectLike({ ContainerName: 'admin-api', ContainerPort: 8080 })],
    });
  });

  it('the matcher scales in steps on its queue backlog, between the configured min and max', () => {
    const matcherService = ofType('AWS::ECS::Service').find(
      ([, s]) => s.Properties.ServiceName === 'recon-matcher',
    )![0];
    const [targetId, target] = ofType('AWS::ApplicationAutoScaling::ScalableTarget')[0]!;
    expect(JSON.stringify(target.Properties.ResourceId)).toContain(matcherService);
    expect(target.Properties).toMatchObject({ MinCapacity: 1, MaxCapacity: TEST_CONFIG.matcher.maxTasks });
    const policies = ofType('AWS::ApplicationAutoScaling::ScalingPolicy').filter(
      ([, p]) => p.Properties.ScalingTargetId?.Ref === targetId,
    );
    const adjustments = policies.flatMap(([, p]) =>
      p.Properties.StepScalingPolicyConfiguration.StepAdjustments.map((s: Json) => s.ScalingAdjustment),
    );
    expect(policies.every(([, p]) => p.Properties.PolicyType === 'StepScaling')).toBe(true);
    expect(Math.min(...adjustments)).toBeLessThan(0); // scales in…
    expect(adjustments.filter((a: number) => a > 0).length).toBeGreaterThan(1); // …and out in several steps
    const backlogAlarms = ofType('AWS::CloudWatch::Alarm').filter(([, a]) =>
      JSON.stringify(a.Properties.Metrics ?? []).includes(queueLogicalId('recon-matcher')),
    );
    expect(backlogAlarms).toHaveLength(2);
  });
});

describe('IAM least privilege', () => {
  const policiesOfRole = (roleNamePrefix: string) => {
    const roleId = ofType('AWS::IAM::Role').find(([, r]) => r.Properties.RoleName === roleNamePrefix)![0];
    return ofType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
  };
  const actionsOf = (s: Json): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

  it('no wildcard action on a data bucket, anywhere', () => {
    const bucketIds = DATA_BUCKETS.map(bucketLogicalId);
    let checked = 0;
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      for (const statement of policy.Properties.PolicyDocument.Statement as Json[]) {
        const resourcesText = JSON.stringify(statement.Resource);
        if (!bucketIds.some((id) => resourcesText.includes(`"${id}"`))) continue;
        checked++;
        for (const action of actionsOf(statement)) expect(action, resourcesText).not.toContain('*');
      }
    }
    expect(checked).toBeGreaterThan(10);
  });

  it.each(QUEUES)('the %s task role consumes only its own queue', (name) => {
    const statements = policiesOfRole(`recon-${name}-task`);
    const sqsResources = statements
      .filter((s) => actionsOf(s).some((a) => a.startsWith('sqs:')))
      .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
    expect(sqsResources).toEqual([{ 'Fn::GetAtt': [queueLogicalId(`recon-${name}`), 'Arn'] }]);
  });

  it('S3 access is by prefix: the matcher touches only work/ and checkpoints/', () => {
    const statements = policiesOfRole('recon-matcher-task').filter((s) =>
      actionsOf(s).some((a) => a.startsWith('s3:')),
    );
    const objects = statements.flatMap((s) => s.Resource).map((r: Json) => JSON.stringify(r));
    expect(objects).toHaveLength(2);
    expect(objects.some((o) => o.includes(bucketLogicalId('Intermediate')) && o.includes('/work/*'))).toBe(
      true,
    );
    expect(
      objects.some((o) => o.includes(bucketLogicalId('Checkpoints')) && o.includes('/checkpoints/*')),
    ).toBe(true);
  });

  it.each(['ingest', 'partition'])(
    'the %s role may list the ingress bucket (a missing file is a 404)',
    (name) => {
      const list = policiesOfRole(`recon-${name}-task`).filter((s) => actionsOf(s).includes('s3:ListBucket'));
      expect(list.some((s) => JSON.stringify(s.Resource).includes(bucketLogicalId('Ingress')))).toBe(true);
    },
  );

  const statements = () =>
    policiesOfRole('recon-admin-api-task').filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
  const text = (r: Json) => JSON.stringify(r);

  it('may list the checkpoints bucket (a missing checkpoint is then a 404, not a 403) and delete only its uploads', () => {
    const list = statements().filter((s) => actionsOf(s).includes('s3:ListBucket'));
    const checkpointsList = list.find((s) => text(s.Resource).includes(bucketLogicalId('Checkpoints')));
    expect(checkpointsList, 'ListBucket on the checkpoints bucket').toBeDefined();
    // Unconditional: a HEAD carries no s3:prefix, so a prefix condition would not turn its 403 into a 404.
    expect(checkpointsList!.Condition).toBeUndefined();
    const deletes = statements()
      .filter((s) => actionsOf(s).includes('s3:DeleteObject'))
      .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]))
      .map(text);
    expect(deletes).toHaveLength(1);
    expect(deletes[0]).toContain(bucketLogicalId('Ingress'));
    expect(deletes[0]).toContain('/uploads/*');
  });

  it('the first admin key goes to a secret only the admin API may write (never read), which its container names', () => {
    const secrets = ofType('AWS::SecretsManager::Secret');
    const found = secrets.find(([, r]) => r.Properties.Name === 'recon/admin-bootstrap-key');
    expect(found, 'the bootstrap key secret').toBeDefined();
    const secretRef = JSON.stringify({ Ref: found![0] });
    // Every statement on that secret, in every policy of the stack.
    const onSecret = ofType('AWS::IAM::Policy').flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[])
        .filter((s) => JSON.stringify(s.Resource).includes(secretRef))
        .map((s) => ({ roles: JSON.stringify(p.Properties.Roles), actions: actionsOf(s) })),
    );
    const adminRole = ofType('AWS::IAM::Role').find(
      ([, r]) => r.Properties.RoleName === 'recon-admin-api-task',
    )![0];
    expect(onSecret).toEqual([
      { roles: JSON.stringify([{ Ref: adminRole }]), actions: ['secretsmanager:PutSecretValue'] },
    ]);
    const admin = adminTaskDefinition();
    expect(admin.Properties.ContainerDefinitions[0].Environment).toContainEqual({
      Name: 'RECON_BOOTSTRAP_KEY_SECRET',
      Value: { Ref: found![0] },
    });
    expect(template.toJSON().Outputs.AdminBootstrapKeySecret.Value).toEqual({ Ref: found![0] });
  });
});

describe('CloudWatch alarms', () => {
  const alarm = (name: string) =>
    ofType('AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.AlarmName === name)![1].Properties;

  it('processing time > 18 min, error rate > 5%, divergence rate > 10%, on the Reconciliation metrics', () => {
    const cases = [
      ['recon-processing-time', 1080, 'MAX(ProcessingTime)', "stage = 'total'"],
      ['recon-error-rate', 5, 'MAX(ErrorRate)', "error_type = 'invalid_lines'"],
      ['recon-divergence-rate', 10, 'MAX(DivergenceRate)', 'SCHEMA("Reconciliation", job_id)'],
    ] as const;
    for (const [name, threshold, metric, filter] of cases) {
      const a = alarm(name);
      expect(a.Threshold).toBe(threshold);
      expect(a.ComparisonOperator).toBe('GreaterThanThreshold');
      const expression: string = a.Metrics[0].Expression;
      expect(expression).toContain(metric);
      expect(expression).toContain('"Reconciliation"');
      expect(expression).toContain(filter);
    }
  });

  it('every DLQ and job failures alarm; every alarm notifies the SNS topic', () => {
    const dlqs = ofType('AWS::SQS::Queue').filter(([, q]) => String(q.Properties.QueueName).endsWith('-dlq'));
    for (const [id] of dlqs) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id, 'QueueName'] } }],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
    expect(alarm('recon-job-failures').Metrics[0].Expression).toContain(
      "RuleName = 'recon-route-job-failed'",
    );
    const [topicId] = ofType('AWS::SNS::Topic')[0]!;
    const systemAlarms = ofType('AWS::CloudWatch::Alarm').filter(([, a]) => a.Properties.AlarmName);
    expect(systemAlarms).toHaveLength(3 + dlqs.length + 1);
    for (const [, a] of systemAlarms) expect(a.Properties.AlarmActions).toEqual([{ Ref: topicId }]);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });
});

describe('PostgreSQL', () => {
  it('RDS is imported by parameters, never created; only the services reach it', () => {
    expect(Object.values(resources).filter((r) => r.Type.startsWith('AWS::RDS::'))).toEqual([]);
    const params = template.toJSON().Parameters;
    expect(Object.keys(params)).toEqual(
      expect.arrayContaining(['DbHost', 'DbPort', 'DbName', 'DbSecretArn', 'DbSecurityGroupId']),
    );
    const ingress = ofType('AWS::EC2::SecurityGroupIngress').filter(
      ([, r]) => r.Properties.GroupId?.Ref === 'DbSecurityGroupId',
    );
    expect(ingress).toHaveLength(QUEUES.length + 2); // + admin-api, delivery-check
    for (const [, r] of ingress) {
      expect(r.Properties.FromPort).toEqual({ Ref: 'DbPort' });
      expect(r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).toMatch(/^Services.*sg/);
      expect(r.Properties.CidrIp).toBeUndefined();
    }
    // The admin API keeps a job in the read model as long as the output bucket keeps its Parquet.
    const admin = adminTaskDefinition();
    expect(admin.Properties.ContainerDefinitions[0].Environment).toContainEqual({
      Name: 'RECON_READ_MODEL_RETENTION_DAYS',
      Value: String(TEST_CONFIG.retention.expireAfterDays),
    });
    // Behind the ALB: the caller's address is the one the ALB appends to X-Forwarded-For.
    expect(admin.Properties.ContainerDefinitions[0].Environment).toContainEqual({
      Name: 'RECON_TRUST_PROXY_HOPS',
      Value: '1',
    });
    // By default the internal base is in that same database: nothing names another.
    expect(Object.keys(params).filter((p) => p.startsWith('BaseDb'))).toEqual([]);
    expect(JSON.stringify(resources)).not.toContain('RECON_BASE_');
  });

  it("baseDatabase 'separate': the base's own RDS, reached by partition and matcher only, as its own user", () => {
    const separate = Template.fromStack(
      buildStack({ ...TEST_CONFIG, baseDatabase: 'separate' }).stack,
    ).toJSON();
    expect(Object.keys(separate.Parameters)).toEqual(
      expect.arrayContaining([
        'BaseDbHost',
        'BaseDbPort',
        'BaseDbName',
        'BaseDbSecretArn',
        'BaseDbSecurityGroupId',
      ]),
    );
    const all = Object.entries(separate.Resources as Record<string, Resource>);
    const containers = all
      .filter(([, r]) => r.Type === 'AWS::ECS::TaskDefinition')
      .map(([, td]) => td.Properties.ContainerDefinitions[0]);
    const readers = containers.filter((c: Json) =>
      c.Environment.some((e: Json) => e.Name === 'RECON_BASE_DATABASE_URL'),
    );
    expect(readers.map((c: Json) => c.Name).sort()).toEqual(['matcher', 'partition']);
    for (const c of readers) {
      const url = c.Environment.find((e: Json) => e.Name === 'RECON_BASE_DATABASE_URL').Value;
      // No credentials in it, TLS verified, the BaseDb* endpoint and database.
      expect(JSON.stringify(url)).toContain('"Ref":"BaseDbHost"');
      expect(JSON.stringify(url)).toContain('"Ref":"BaseDbName"');
      expect(JSON.stringify(url)).toContain('sslmode=verify-full');
      const secrets = Object.fromEntries(c.Secrets.map((x: Json) => [x.Name, JSON.stringify(x.ValueFrom)]));
      expect(secrets.RECON_BASE_PGUSER).toContain('"Ref":"BaseDbSecretArn"');
      expect(secrets.RECON_BASE_PGUSER).toContain(':username::');
      expect(secrets.RECON_BASE_PGPASSWORD).toContain('"Ref":"BaseDbSecretArn"');
      expect(secrets.RECON_BASE_PGPASSWORD).toContain(':password::');
      // The job store is still reached as before.
      expect(secrets.PGUSER).toContain('"Ref":"DbSecretArn"');
    }
    // The base's security group admits the two readers, nothing else.
    const baseIngress = all.filter(
      ([, r]) =>
        r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId?.Ref === 'BaseDbSecurityGroupId',
    );
    expect(baseIngress.map(([, r]) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0]).sort()).toEqual([
      expect.stringMatching(/^Servicesmatchersg/),
      expect.stringMatching(/^Servicespartitionsg/),
    ]);
    for (const [, r] of baseIngress) expect(r.Properties.FromPort).toEqual({ Ref: 'BaseDbPort' });
  });

  it('refuses a baseDatabase it does not know', () => {
    expect(() => configFromContext({ baseDatabase: 'elsewhere' })).toThrow(
      /baseDatabase: 'job-store' or 'separate'/,
    );
  });
});

describe('notifier email', () => {
  const notifierEnv = (r: Record<string, Json>) => {
    const td = Object.values(r).find(
      (x) =>
        x.Type === 'AWS::ECS::TaskDefinition' && x.Properties.ContainerDefinitions[0].Name === 'notifier',
    )!;
    return Object.fromEntries(
      td.Properties.ContainerDefinitions[0].Environment.map((e: Json) => [e.Name, e.Value]),
    ) as Record<string, string>;
  };

  it('with an SES identity the notifier sends its email through SES, from and to the configured addresses', () => {
    expect(notifierEnv(resources)).toMatchObject({
      RECON_EMAIL_TRANSPORT: 'ses',
      RECON_MAIL_FROM: TEST_CONFIG.notifications.mailFrom,
      RECON_MAIL_TO: TEST_CONFIG.notifications.mailTo,
    });
  });

  it('without one it sends no email (Slack and the log only), and an SES identity needs both addresses', () => {
    const { stack } = buildStack({ ...TEST_CONFIG, notifications: { alarmEmail: 'ops@example.com' } });
    const env = notifierEnv(Template.fromStack(stack).toJSON().Resources as Record<string, Json>);
    expect(env.RECON_EMAIL_TRANSPORT).toBeUndefined();
    expect(() =>
      configFromContext({ notifications: { sesIdentity: 'example.com', mailFrom: 'r@example.com' } }),
    ).toThrow(/an sesIdentity needs mailFrom/);
  });
});

describe('Glue and QuickSight', () => {
  it('the divergences table has the columns of RULES §6 and projects dt', () => {
    const [, table] = ofType('AWS::Glue::Table')[0]!;
    const input = table.Properties.TableInput;
    // RULES §6, written out here independently of the stack's own list.
    expect(input.StorageDescriptor.Columns).toEqual([
      { Name: 'job_id', Type: 'string' },
      { Name: 'tipo_divergencia', Type: 'string' },
      { Name: 'severidade', Type: 'string' },
      { Name: 'ordem_id', Type: 'string' },
      { Name: 'fornecedor_id', Type: 'string' },
      { Name: 'nome', Type: 'string' },
      { Name: 'ativo_id', Type: 'string' },
      { Name: 'data', Type: 'date' },
      { Name: 'data_base', Type: 'date' },
      { Name: 'valor_csv', Type: 'decimal(18,2)' },
      { Name: 'valor_base', Type: 'decimal(18,2)' },
      { Name: 'diferenca', Type: 'decimal(18,2)' },
      { Name: 'campo', Type: 'string' },
      { Name: 'detalhes', Type: 'string' },
      { Name: 'hash_linha', Type: 'string' },
      { Name: 'linha_arquivo', Type: 'int' },
      { Name: 'timestamp', Type: 'timestamp' },
    ]);
    expect(input.PartitionKeys).toEqual([{ Name: 'dt', Type: 'string' }]);
    expect(input.Parameters).toMatchObject({
      'projection.enabled': 'true',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy-MM-dd',
    });
    expect(JSON.stringify(input.Parameters['storage.location.template'])).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's projection template, literally
      '/divergencias/dt=${dt}/',
    );
  });

  it('QuickSight: Athena data source, SPICE dataset with the reporter’s id, the analysis', () => {
    template.hasResourceProperties('AWS::QuickSight::DataSource', {
      Type: 'ATHENA',
      SslProperties: { DisableSsl: false },
    });
    template.hasResourceProperties('AWS::QuickSight::DataSet', {
      DataSetId: 'recon-divergencias',
      ImportMode: 'SPICE',
    });
    template.resourceCountIs('AWS::QuickSight::Analysis', 1);
    const reporter = ofType('AWS::ECS::TaskDefinition').find(
      ([, t]) => t.Properties.Family === 'recon-reporter',
    )![1];
    const env = reporter.Properties.ContainerDefinitions[0].Environment;
    expect(env).toEqual(
      expect.arrayContaining([{ Name: 'RECON_QUICKSIGHT_DATASET_ID', Value: 'recon-divergencias' }]),
    );
  });
});
