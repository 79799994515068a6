/**
 * `node --import tsx test/support/forge/cli.ts build` builds (or checks) the cached Gitea, e.g. as
 * a CI step before the tests; `... start` runs a forge with an admin until Ctrl-C, for poking at.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureGitea } from './build.js';
import { startForge } from './server.js';

async function main(command: string | undefined): Promise<void> {
  if (command === 'build') {
    const build = await ensureGitea();
    process.stdout.write(`${build.binary}\n`);
    return;
  }
  if (command === 'start') {
    const forge = await startForge();
    // The password goes to a private file, not to the terminal (which may be recorded).
    const credentials = join(forge.workDir, 'admin-credentials.json');
    await writeFile(credentials, JSON.stringify(forge.admin), { mode: 0o600 });
    process.stdout.write(`${forge.url}  admin: ${forge.admin.username}  (password in ${credentials})\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    await forge.stop();
    return;
  }
  process.stderr.write('usage: forge/cli.ts build | start\n');
  process.exitCode = 2;
}

main(process.argv[2]).catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
