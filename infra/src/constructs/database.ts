import { CfnParameter } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Which of the deployment's existing databases a construct imports. */
export interface ExistingDatabaseProps {
  /** Prefix of its stack parameters (`<prefix>Host`, `<prefix>Port`…): keep it stable. */
  parameterPrefix: 'Db' | 'BaseDb';
  /** What it holds, for the parameters' descriptions. */
  holds: string;
  /** Default of `<prefix>Name`. */
  defaultName: string;
}

/** The job store's database: also the internal base's unless it has its own (`baseDatabase`). */
export const JOB_STORE_DATABASE: ExistingDatabaseProps = {
  parameterPrefix: 'Db',
  holds: 'the job store and read model (and the internal base, unless BaseDb* name its own)',
  defaultName: 'recon',
};

/** The internal base's own database (`baseDatabase: 'separate'`), e.g. the company's RDS. */
export const BASE_DATABASE: ExistingDatabaseProps = {
  parameterPrefix: 'BaseDb',
  holds:
    'the internal base (transacoes), read only: a read-only user is enough when ordem_id has a unique index (else it also needs TEMP)',
  defaultName: 'postgres',
};

/**
 * An existing PostgreSQL (RDS): the job store's, and the internal base's when it has one of its
 * own. Imported, never created: its endpoint, security group and credentials secret are
 * CloudFormation parameters. Services get its URL (host, port, database, TLS) and the credentials
 * from Secrets Manager as variables of their own, which `pg` reads for what the URL leaves out
 * (PGUSER/PGPASSWORD for DATABASE_URL; the services put RECON_BASE_PGUSER/RECON_BASE_PGPASSWORD
 * into RECON_BASE_DATABASE_URL themselves).
 */
export class ExistingDatabase extends Construct {
  readonly host: string;
  readonly port: number;
  private readonly portString: string;
  readonly name: string;
  readonly secret: secretsmanager.ISecret;
  readonly securityGroup: ec2.ISecurityGroup;

  constructor(scope: Construct, id: string, props: ExistingDatabaseProps = JOB_STORE_DATABASE) {
    super(scope, id);
    // Parameter ids are the stack's parameter names: keep them stable.
    const stack = scope;
    const p = props.parameterPrefix;
    this.host = new CfnParameter(stack, `${p}Host`, {
      type: 'String',
      description: `Endpoint address of the existing RDS PostgreSQL instance (or its proxy) holding ${props.holds}`,
      minLength: 1,
    }).valueAsString;
    const port = new CfnParameter(stack, `${p}Port`, {
      type: 'Number',
      default: 5432,
      description: `Port of the RDS PostgreSQL instance holding ${props.holds}`,
    });
    this.port = port.valueAsNumber;
    this.portString = port.valueAsString;
    this.name = new CfnParameter(stack, `${p}Name`, {
      type: 'String',
      default: props.defaultName,
      description: `Database holding ${props.holds}`,
    }).valueAsString;
    const secretArn = new CfnParameter(stack, `${p}SecretArn`, {
      type: 'String',
      description:
        'Full ARN of the Secrets Manager secret with the credentials (JSON with "username" and "password", as RDS writes it)',
      allowedPattern: '^arn:aws[\\w-]*:secretsmanager:.+',
    }).valueAsString;
    const securityGroupId = new CfnParameter(stack, `${p}SecurityGroupId`, {
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
   * Its URL without credentials: `pg` takes the user and password missing from it from the
   * variables of `secrets`. TLS verified (§10.4.1) against the RDS CA bundle the image trusts
   * (NODE_EXTRA_CA_CERTS, infra/docker/Dockerfile).
   */
  url(): string {
    return `postgresql://${this.host}:${this.portString}/${this.name}?sslmode=verify-full`;
  }

  /** The job store's variables: DATABASE_URL (see `url`). */
  environment(): Record<string, string> {
    return { DATABASE_URL: this.url() };
  }

  /** Its credentials, from the secret, as `user` and `password` (default PGUSER, PGPASSWORD). */
  secrets(user = 'PGUSER', password = 'PGPASSWORD'): Record<string, ecs.Secret> {
    return {
      [user]: ecs.Secret.fromSecretsManager(this.secret, 'username'),
      [password]: ecs.Secret.fromSecretsManager(this.secret, 'password'),
    };
  }
}
