import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { Lake, LakeObject } from '../core/lake.ts';

/** A lake in a local folder; keys are paths relative to the folder, with '/' separators. */
export class LocalLake implements Lake {
  readonly location: string;

  constructor(root: string) {
    this.location = resolve(root);
  }

  private pathOf(key: string): string {
    const path = resolve(this.location, key);
    if (path !== this.location && !path.startsWith(this.location + sep)) {
      throw new Error(`key ${key} escapes the lake folder ${this.location}`);
    }
    return path;
  }

  async list(prefix: string): Promise<LakeObject[]> {
    const start = this.pathOf(prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '');
    const found: LakeObject[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile() && !entry.name.endsWith('.partial')) {
          const key = relative(this.location, path).split(sep).join('/');
          if (key.startsWith(prefix)) found.push({ key, size: (await stat(path)).size });
        }
      }
    };
    await walk(start);
    return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async getText(key: string): Promise<string | undefined> {
    try {
      return await readFile(this.pathOf(key), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async putText(key: string, body: string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    // Write beside, then rename: a reader sees the old or the new file, never half of one.
    const partial = `${path}.${process.pid}.partial`;
    await writeFile(partial, body);
    await rename(partial, path);
  }

  async fetch(keys: readonly string[]): Promise<string[]> {
    return keys.map((key) => this.pathOf(key));
  }

  async upload(localPath: string, key: string): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const partial = `${path}.${process.pid}.partial`;
    await copyFile(localPath, partial);
    await rename(partial, path);
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.pathOf(key), { force: true })));
  }
}
