import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambdas/core/config.ts';
import { MissingEnvironmentError, lambdaDuckDbSettings, readEnv, readPipelineSettings } from '../../lambdas/shared/env.ts';

describe('readEnv', () => {
  it('names every missing or empty required variable at once', () => {
    const read = () => readEnv({ required: ['LAKE_BUCKET', 'PIPELINE_CONFIG', 'GLUE_DATABASE'] }, { LAKE_BUCKET: 'b', PIPELINE_CONFIG: '' });

    expect(read).toThrow(MissingEnvironmentError);
    expect(read).toThrow('missing environment variable(s): PIPELINE_CONFIG, GLUE_DATABASE');
  });

  it('returns required values and optional ones as undefined when unset or empty', () => {
    const values = readEnv({ required: ['LAKE_BUCKET'], optional: ['LAKE_PREFIX', 'SQL_DIR'] }, { LAKE_BUCKET: 'b', SQL_DIR: '' });

    expect(values).toEqual({ LAKE_BUCKET: 'b', LAKE_PREFIX: undefined, SQL_DIR: undefined });
  });
});

describe('lambdaDuckDbSettings', () => {
  it('gives DuckDB 70 % of the function memory and one thread per vCPU', () => {
    // 10240 MB × 0.7 = 7168 MB; 1769 MB × 0.7 = 1238.3 → 1238 MB.
    expect(lambdaDuckDbSettings({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '10240' })).toMatchObject({
      memoryLimit: '7168MB',
      threads: availableParallelism(),
    });
    expect(lambdaDuckDbSettings({ AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '1769' }).memoryLimit).toBe('1238MB');
  });

  it('leaves memory_limit to DuckDB outside Lambda', () => {
    expect(lambdaDuckDbSettings({}).memoryLimit).toBeUndefined();
  });
});

describe('readPipelineSettings', () => {
  const base = { LAKE_BUCKET: 'lake-bucket', PIPELINE_CONFIG: '{}', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '3008' };

  it('normalises the prefix, sizes DuckDB from the function and finds sql/ beside the bundled handler', () => {
    const settings = readPipelineSettings({ ...base, LAKE_PREFIX: '/analytics/lake/', LAMBDA_TASK_ROOT: '/var/task' });

    expect(settings.lakePrefix).toBe('analytics/lake/');
    // 3008 MB × 0.7 = 2105.6 → 2105 MB.
    expect(settings.config.duckdb.memoryLimit).toBe('2105MB');
    expect(settings.sqlDir).toBe(join('/var/task', 'sql'));
  });

  it('lets an explicit DuckDB setting in PIPELINE_CONFIG win over the derived one, and SQL_DIR over the task root', () => {
    const settings = readPipelineSettings({
      ...base,
      PIPELINE_CONFIG: JSON.stringify({ duckdb: { memoryLimit: '1GB', threads: 1 } }),
      SQL_DIR: '/opt/sql',
      LAMBDA_TASK_ROOT: '/var/task',
    });

    expect(settings.lakePrefix).toBe('');
    expect(settings.config.duckdb).toMatchObject({ memoryLimit: '1GB', threads: 1 });
    expect(settings.sqlDir).toBe('/opt/sql');
  });

  it("lets the function's own DUCKDB_MEMORY_LIMIT win over PIPELINE_CONFIG's, which both functions share", () => {
    const shared = { ...base, PIPELINE_CONFIG: JSON.stringify({ duckdb: { memoryLimit: '1GB', threads: 1 } }) };
    expect(readPipelineSettings({ ...shared, DUCKDB_MEMORY_LIMIT: '2560MB' }).config.duckdb).toMatchObject({
      memoryLimit: '2560MB',
      threads: 1,
    });
    expect(readPipelineSettings({ ...base, DUCKDB_MEMORY_LIMIT: '2560MB' }).config.duckdb.memoryLimit).toBe('2560MB');
    expect(readPipelineSettings(shared).config.duckdb.memoryLimit).toBe('1GB');
  });

  it('rejects PIPELINE_CONFIG that is not JSON or not a valid config, naming the variable and the key', () => {
    expect(() => readPipelineSettings({ ...base, PIPELINE_CONFIG: '{clv:' })).toThrow(/PIPELINE_CONFIG is not valid JSON/);
    expect(() => readPipelineSettings({ ...base, PIPELINE_CONFIG: '{"clv":{"horizonMonths":-3}}' })).toThrow(ConfigError);
    expect(() => readPipelineSettings({ ...base, PIPELINE_CONFIG: '{"clv":{"horizonMonths":-3}}' })).toThrow(
      /invalid PIPELINE_CONFIG: clv\.horizonMonths/,
    );
  });
});
