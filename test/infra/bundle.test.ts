import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLifecycleLake, readInfraConfig } from '../../infra/lifecycle-lake.ts';
import { cdkJsonContext, repoRoot } from './app-fixture.ts';

/** ELF e_machine values (System V ABI): what the shared object was compiled for. */
const elfMachine = { aarch64: 0xb7, x86_64: 0x3e } as const;

interface ElfHeader {
  readonly isElf: boolean;
  readonly is64Bit: boolean;
  readonly littleEndian: boolean;
  readonly machine: number;
}

function readElfHeader(path: string): ElfHeader {
  const header = readFileSync(path).subarray(0, 20);
  return {
    isElf: header.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46])),
    is64Bit: header[4] === 2,
    littleEndian: header[5] === 1,
    machine: header.readUInt16LE(18),
  };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1))
    .sort();
}

/**
 * The one real bundled synthesis of the suite (esbuild locally, then `npm ci` of @duckdb/node-api in
 * the asset, which needs the npm registry or its cache): the transform asset must carry DuckDB's
 * binding for the function's architecture (arm64 by default), never the build machine's.
 */
describe('bundled transform asset', () => {
  let outdir: string;
  let asset: string;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), 'lifecycle-lake-bundle-'));
    const app = new App({
      outdir,
      context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': ['Pipeline'] },
      builtinCloudFormationValidation: false,
    });
    const config = readInfraConfig(app);
    expect(config.lambda.architecture).toBe('arm64');
    const { pipeline } = buildLifecycleLake(app, config);
    app.synth();
    const template = JSON.parse(readFileSync(join(outdir, `${pipeline.artifactId}.template.json`), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties: { Code?: { S3Key?: string } } }>;
    };
    const transform = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('TransformFunction'));
    const hash = transform?.[1].Properties.Code?.S3Key?.replace(/\.zip$/, '');
    asset = join(outdir, `asset.${hash}`);
  }, 300_000);

  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
  });

  it('holds the linux-arm64 DuckDB binding as a 64-bit little-endian aarch64 ELF, and no other platform’s', () => {
    const duckdbPackages = readdirSync(join(asset, 'node_modules/@duckdb')).sort();
    expect(duckdbPackages).toEqual(['node-api', 'node-bindings', 'node-bindings-linux-arm64']);
    for (const library of ['duckdb.node', 'libduckdb.so']) {
      expect(readElfHeader(join(asset, 'node_modules/@duckdb/node-bindings-linux-arm64', library)), library).toEqual({
        isElf: true,
        is64Bit: true,
        littleEndian: true,
        machine: elfMachine.aarch64,
      });
    }
  });

  it('carries the ESM handler bundle and the sql/ folder beside it', () => {
    expect(readdirSync(asset)).toEqual(expect.arrayContaining(['index.mjs', 'sql', 'node_modules']));
    expect(listFiles(join(asset, 'sql'))).toEqual(listFiles(join(repoRoot, 'sql')));
    expect(readFileSync(join(asset, 'index.mjs'), 'utf8')).toMatch(/export\s*\{[^}]*\bhandler\b/);
  });
});
