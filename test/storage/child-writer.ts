/**
 * A second process for the storage tests: opens its own storage on a folder and writes.
 * Usage: node --import tsx child-writer.ts '<json command>'
 *   {"op":"create","root":...,"name":...}            create a Car, print "done"
 *   {"op":"update","root":...,"name":...,"resourceVersion":...,"engine":...}   print "ok" or the error code
 *   {"op":"churn","root":...,"name":...,"size":...}  rewrite a big ConfigMap forever, print "ready" once
 */
import { openStorage } from '../../src/storage/index.js';
import { GitOpsError } from '../../src/runtime/index.js';
import { car, carKey, carScheme } from './helpers.js';

interface Command {
  op: 'create' | 'update' | 'churn';
  root: string;
  name: string;
  resourceVersion?: string;
  engine?: string;
  size?: number;
}

const command = JSON.parse(process.argv[2] ?? '{}') as Command;
const storage = await openStorage({ root: command.root, scheme: carScheme(), watch: false });

if (command.op === 'create') {
  await storage.create(car(command.name));
  process.stdout.write('done\n');
} else if (command.op === 'update') {
  const current = await storage.get(carKey(command.name));
  current.metadata.resourceVersion = command.resourceVersion;
  current.spec = { ...(current.spec as object), engine: command.engine };
  try {
    await storage.update(current);
    process.stdout.write('ok\n');
  } catch (err) {
    process.stdout.write(`${err instanceof GitOpsError ? err.code : String(err)}\n`);
  }
} else {
  // Each version fills every value with one letter, so a mix of two versions is easy to see.
  const key = { group: '', kind: 'ConfigMap', namespace: 'default', name: command.name };
  const size = command.size ?? 1_000_000;
  let round = 0;
  process.stdout.write('ready\n');
  for (;;) {
    const letter = String.fromCharCode(97 + (round % 26));
    round += 1;
    await storage.patch(key, {
      type: 'merge',
      patch: { data: { a: letter.repeat(size), b: letter.repeat(size) } },
    });
  }
}
await storage.close();
