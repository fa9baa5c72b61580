/** Runs a measurement (bench/measure.ts) in a fresh process and reads its result. */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MeasureRequest, Measurement } from './measure.ts';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, '..');

/** Runs bench/measure.ts in a fresh Node process (started through `prefix` when given) and reads what it measured. */
export async function measureInChild<M extends Measurement>(request: MeasureRequest, prefix: readonly string[] = []): Promise<M> {
  const command = [...prefix, process.execPath, '--import', 'tsx', join(benchDir, 'measure.ts'), JSON.stringify(request)];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exitCode = await new Promise<number | null>((done, fail) => {
    child.on('error', fail);
    child.on('close', done);
  });
  try {
    if (exitCode !== 0) throw new Error(`measure.ts (${request.kind}) exited with ${exitCode}:\n${output}`);
    return JSON.parse(await readFile(request.result, 'utf8')) as M;
  } finally {
    await rm(request.workDir, { recursive: true, force: true });
  }
}

/** A failed measurement's error line (the first line of its stack trace), else its last lines. */
export function failureSummary(message: string): string {
  const lines = message.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  return lines.find((line) => /^\w*Error\b/.test(line)) ?? lines.slice(-3).join(' / ');
}
