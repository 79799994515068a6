// Regenerates deploy/crd.yaml: npx tsx scripts/gen-crd.ts > deploy/crd.yaml
// Written as `gitops fmt` writes YAML, so the project passes its own `gitops fmt --check`.
import { stringify } from 'yaml';
import { formatManifestText } from '../src/cli/fmt.js';
import { applicationCrd } from '../src/operator/application.js';
process.stdout.write(
  formatManifestText(
    '# Generated from src/operator/application.ts (applicationCrd); a test keeps them equal.\n' +
      stringify(applicationCrd()),
    'crd.yaml',
  ),
);
