import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { AwsSolutionsChecks } from '../src/cdk-nag.ts';
import { buildStack, TEST_CONFIG } from './fixture.ts';

type Report = ReturnType<InstanceType<typeof AwsSolutionsChecks>['validateScope']>;

function findings(report: Report): string[] {
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} at ${r.constructPath}: ${v.description.slice(0, 120)}`),
  );
}

describe('cdk-nag AwsSolutions', () => {
  const { stack } = buildStack();

  it('the stack passes every AwsSolutions rule (acknowledged findings excepted)', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
    expect(findings(report)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('so does the stack whose internal base has an RDS of its own', () => {
    const separate = buildStack({ ...TEST_CONFIG, baseDatabase: 'separate' }).stack;
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(separate);
    expect(findings(report)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('every acknowledgement carries a reason', () => {
    const acknowledged: { path: string; id: string; reason: string }[] = [];
    const visit = (c: IConstruct) => {
      for (const entry of c.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, value] of Object.entries(entry.data as Record<string, unknown>)) {
          const reason =
            typeof value === 'string' ? value : String((value as { reason?: unknown }).reason ?? '');
          acknowledged.push({ path: c.node.path, id, reason });
        }
      }
      for (const child of c.node.children) visit(child);
    };
    visit(stack);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const a of acknowledged) expect(a.reason.length, `${a.id} at ${a.path}`).toBeGreaterThan(20);
  });

  it('the check can fail: an unencrypted, public-ish bucket is reported', () => {
    const app = new App();
    const bad = new Stack(app, 'Bad', { env: { account: '123456789012', region: 'sa-east-1' } });
    new s3.Bucket(bad, 'Plain', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS_ONLY });
    const report = new AwsSolutionsChecks().validateScope(bad);
    expect(report.success).toBe(false);
    expect(report.violations.map((v) => v.ruleName)).toEqual(
      expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']),
    );
  });
});
