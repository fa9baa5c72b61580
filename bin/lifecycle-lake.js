#!/usr/bin/env node
// Runs the TypeScript CLI through tsx so `npx lifecycle-lake` works straight after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../lambdas/cli.ts');
