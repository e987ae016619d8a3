// cdk-nag is CommonJS whose exports Node's ESM loader cannot detect statically: import the
// module object and re-export what we use, so `node --import tsx` and vitest both work.
import cdkNag from 'cdk-nag';

export const { AwsSolutionsChecks } = cdkNag;
