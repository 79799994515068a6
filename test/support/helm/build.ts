/**
 * Builds the `helm` command from the Go module proxy at a pinned release, once per machine, in
 * the test cache beside the control plane's binaries (same marker, same lock). Tests and
 * `npm start` use it through LIBGITOPS_HELM; production finds helm on PATH or through a setting.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { ensureBuilt } from '../cluster/build.js';
import type { BuildOptions } from '../cluster/build.js';

export const HELM_VERSION = 'v3.21.4';

const templates = fileURLToPath(new URL('../go/helm/', import.meta.url));

async function fill(name: string): Promise<string> {
  return (await readFile(join(templates, name), 'utf8')).replaceAll('{{HELM_VERSION}}', HELM_VERSION);
}

/** The path of the helm binary, building it if it is missing. */
export async function ensureHelm(options: BuildOptions = {}): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`[helm] ${line}\n`));
  const dir = await ensureBuilt(
    {
      key: `helm-${HELM_VERSION}`,
      version: HELM_VERSION,
      binaries: ['helm'],
      prepare: async (moduleDir) => {
        await writeFile(join(moduleDir, 'go.mod'), await fill('go.mod.tmpl'));
        await writeFile(join(moduleDir, 'tools.go'), await fill('tools.go.tmpl'));
        return [];
      },
      packages: ['helm.sh/helm/v3/cmd/helm'],
      ldflags: [`-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`],
      versionArgs: ['version', '--short'],
      versionText: HELM_VERSION,
    },
    log,
    options.signal,
  );
  return join(dir, 'helm');
}
