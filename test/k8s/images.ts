/**
 * The container images `test/k8s/images.sh` builds on this machine (no registry), for tests on
 * the real one-node cluster of `node.ts`:
 *
 *   const images = await testImages();   // builds what changed; cached otherwise
 *   images.refs.app                      // localhost/evshare:<hash>
 *   images.archives.app                  // its OCI archive, for node.importImages / startNode
 *
 * Keys: app (every evshare process), node (the Debian base with Node.js), redis, nats, postgres,
 * haproxy, pause (registry.k8s.io/pause:3.6, the pod sandbox).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

export type ImageName = 'app' | 'node' | 'redis' | 'nats' | 'postgres' | 'haproxy' | 'pause';

export interface TestImages {
  refs: Record<ImageName, string>;
  archives: Record<ImageName, string>;
}

const script = path.join(__dirname, 'images.sh');

export async function testImages(): Promise<TestImages> {
  const { stdout } = await promisify(execFile)('bash', [script], { maxBuffer: 16 << 20, timeout: 30 * 60_000 }).catch((error: Error & { stderr?: string }) => {
    throw new Error(`test/k8s/images.sh failed: ${error.stderr?.split('\n').slice(-30).join('\n') ?? error.message}`);
  });
  return parseImages(stdout);
}

/** The NAME=value lines images.sh prints: EVSHARE_<X>_IMAGE=ref and EVSHARE_ARCHIVE_<X>_IMAGE=file. */
export function parseImages(text: string): TestImages {
  const refs: Partial<Record<ImageName, string>> = {};
  const archives: Partial<Record<ImageName, string>> = {};
  for (const line of text.split('\n')) {
    const match = /^EVSHARE_(ARCHIVE_)?(?:([A-Z]+)_)?IMAGE=(.+)$/.exec(line.trim());
    if (!match) continue;
    const name = (match[2]?.toLowerCase() ?? 'app') as ImageName;
    (match[1] ? archives : refs)[name] = match[3]!;
  }
  const names: ImageName[] = ['app', 'node', 'redis', 'nats', 'postgres', 'haproxy', 'pause'];
  const missing = names.filter((name) => !refs[name] || !archives[name]);
  if (missing.length > 0) throw new Error(`test/k8s/images.sh printed no image or archive for ${missing.join(', ')}`);
  return { refs: refs as Record<ImageName, string>, archives: archives as Record<ImageName, string> };
}
