import type { Lake } from '../../lambdas/core/lake.ts';

/** What a lake was asked for, in order: the keys of `fetch` (each a download on S3) and of `getText`. */
export interface LakeRequests {
  readonly fetched: string[];
  readonly read: string[];
}

/** Records, on `lake` itself (its methods wrapped in place), the keys it is asked to fetch and read. */
export function recordRequests(lake: Lake): LakeRequests {
  const requests: LakeRequests = { fetched: [], read: [] };
  const fetch = lake.fetch.bind(lake);
  const getText = lake.getText.bind(lake);
  lake.fetch = (keys, workDir) => {
    requests.fetched.push(...keys);
    return fetch(keys, workDir);
  };
  lake.getText = (key) => {
    requests.read.push(key);
    return getText(key);
  };
  return requests;
}
