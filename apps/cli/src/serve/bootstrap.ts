import type { ApiKeyStore } from '@recon/adapters/read-model';
import { ReconError } from '@recon/contracts';

/** Where the first admin key goes instead of the log: a Secrets Manager secret, in AWS. */
export interface BootstrapKeySink {
  /** What the printed line names (the secret's ARN). */
  where: string;
  put(key: string): Promise<void>;
}

const NAME = 'bootstrap (first start of recon serve)';
const OTHERS = 'Create keys for others with `recon keys create --role viewer|operator|admin`.\n';

/**
 * A first admin key for a server that has no active key, and what to print about it (null when
 * keys exist). Without a sink the key itself is printed, once: a server on one machine, whose
 * operator reads its terminal. With one (the admin API's Fargate task, whose output is its
 * CloudWatch log, read by more people and kept far longer than a key should be) the key is
 * written there and only its id is printed. A key that could not be written is revoked, since no
 * one could ever use it, and the server does not start.
 */
export async function bootstrapAdminKey(
  keys: Pick<ApiKeyStore, 'count' | 'create' | 'revoke'>,
  sink?: BootstrapKeySink,
): Promise<string | null> {
  if ((await keys.count()) > 0) return null;
  const { key, record } = await keys.create('admin', NAME);
  if (sink === undefined) {
    return `No API keys yet: created admin key ${record.id}. Keep it safe, it is shown only now:\n  ${key}\n${OTHERS}`;
  }
  try {
    await sink.put(key);
  } catch (error) {
    await keys.revoke(record.id);
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new ReconError(
      'INVALID_CONFIG',
      `could not write the first admin key to ${sink.where} (${reason}); key ${record.id} was revoked. Let the admin API write that secret (secretsmanager:PutSecretValue), or create a key with \`recon keys create --role admin\`, then start it again.`,
      { cause: error },
    );
  }
  return `No API keys yet: created admin key ${record.id}; it is not printed: read it from ${sink.where}.\n${OTHERS}`;
}
