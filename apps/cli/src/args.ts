import { ReconError } from '@recon/contracts';

/** Typed access to parsed options, with errors that name the option and what it expects. */
export function intOption(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value.replaceAll('_', ''));
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `--${name} ${JSON.stringify(value)}: expected a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

export function numberOption(
  value: string | undefined,
  name: string,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `--${name} ${JSON.stringify(value)}: expected a number from ${min} to ${max}`,
    );
  }
  return n;
}

export function choiceOption<T extends string>(
  value: string | undefined,
  name: string,
  choices: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) {
    throw new ReconError(
      'INVALID_ARGUMENT',
      `--${name} ${JSON.stringify(value)}: expected one of ${choices.join(', ')}`,
    );
  }
  return value as T;
}

export function required(value: string | undefined, name: string, usage: string): string {
  if (value === undefined || value === '')
    throw new ReconError('INVALID_ARGUMENT', `--${name} is required. Usage: ${usage}`);
  return value;
}
