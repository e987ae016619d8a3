import { CfnParameter } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * The existing PostgreSQL (RDS) holding the internal base and the job store. It is imported, never
 * created: its endpoint, security group and credentials secret are CloudFormation parameters.
 * Services get DATABASE_URL (host, port, database, TLS) and the credentials as PGUSER/PGPASSWORD
 * from Secrets Manager, which `pg` reads for what the URL leaves out.
 */
export class ExistingDatabase extends Construct {
  readonly host: string;
  readonly port: number;
  private readonly portString: string;
  readonly name: string;
  readonly secret: secretsmanager.ISecret;
  readonly securityGroup: ec2.ISecurityGroup;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    // Parameter ids are the stack's parameter names: keep them stable.
    const stack = scope;
    this.host = new CfnParameter(stack, 'DbHost', {
      type: 'String',
      description: 'Endpoint address of the existing RDS PostgreSQL instance (or its proxy)',
      minLength: 1,
    }).valueAsString;
    const port = new CfnParameter(stack, 'DbPort', {
      type: 'Number',
      default: 5432,
      description: 'Port of the RDS PostgreSQL instance',
    });
    this.port = port.valueAsNumber;
    this.portString = port.valueAsString;
    this.name = new CfnParameter(stack, 'DbName', {
      type: 'String',
      default: 'recon',
      description: 'Database holding the internal base and the job store',
    }).valueAsString;
    const secretArn = new CfnParameter(stack, 'DbSecretArn', {
      type: 'String',
      description:
        'Full ARN of the Secrets Manager secret with the credentials (JSON with "username" and "password", as RDS writes it)',
      allowedPattern: '^arn:aws[\\w-]*:secretsmanager:.+',
    }).valueAsString;
    const securityGroupId = new CfnParameter(stack, 'DbSecurityGroupId', {
      type: 'AWS::EC2::SecurityGroup::Id',
      description:
        'Security group of the RDS instance: ingress from each service that needs it is added to it',
    }).valueAsString;

    this.secret = secretsmanager.Secret.fromSecretCompleteArn(this, 'Secret', secretArn);
    this.securityGroup = ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroup', securityGroupId, {
      mutable: true,
      allowAllOutbound: false,
    });
  }

  /** Lets `peer` reach the database: one ingress rule on the database's security group. */
  allowFrom(peer: ec2.ISecurityGroup, description: string): void {
    this.securityGroup.addIngressRule(peer, ec2.Port.tcp(this.port), description);
  }

  /**
   * DATABASE_URL without credentials: `pg` takes the user and password missing from the URL from
   * PGUSER/PGPASSWORD (secrets). TLS verified (§10.4.1) against the RDS CA bundle the image trusts
   * (NODE_EXTRA_CA_CERTS, infra/docker/Dockerfile).
   */
  environment(): Record<string, string> {
    return {
      DATABASE_URL: `postgresql://${this.host}:${this.portString}/${this.name}?sslmode=verify-full`,
    };
  }

  secrets(): Record<string, ecs.Secret> {
    return {
      PGUSER: ecs.Secret.fromSecretsManager(this.secret, 'username'),
      PGPASSWORD: ecs.Secret.fromSecretsManager(this.secret, 'password'),
    };
  }
}
