// Regenerates deploy/crd.yaml: npx tsx scripts/gen-crd.ts > deploy/crd.yaml
import { stringify } from 'yaml';
import { applicationCrd } from '../src/sync/application.js';
process.stdout.write(
  '# Generated from src/sync/application.ts (applicationCrd); a test keeps them equal.\n' +
    stringify(applicationCrd()),
);
