/**
 * sample-gitops: the Go libgitops sample-gitops on GitStorage. It clones the repository given
 * by --git-url (SSH with --identity-file and --known-hosts-file, or HTTPS with a token in the
 * GIT_HTTPS_TOKEN environment variable), fetches it every 10 s, logs every object changed by
 * new commits, and serves on localhost:8888:
 *
 *   GET /git/         every Car of the branch, as JSON
 *   GET /git/<name>   one Car (namespace default)
 *   PUT /git/<name>   a transaction on branch `<name>-update-<random>` that sets a random
 *                     status.distance and status.speed, pushed and opened as a pull request
 *                     (GitHub, GitLab or Gitea; token in GITHUB_TOKEN, GITLAB_TOKEN or GITEA_TOKEN)
 *
 *   node --import tsx examples/sample-gitops/main.ts --git-url ssh://git@host/org/cars.git \
 *     --identity-file ~/.ssh/id_ed25519 [--known-hosts-file ~/.ssh/known_hosts] [--port 8888]
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

import { providerFor } from '../../src/forge/index.js';
import type { ForgeKind } from '../../src/forge/index.js';
import type { Credentials } from '../../src/git/index.js';
import { GitStorage } from '../../src/gitstorage/index.js';
import type { PullRequestOpener } from '../../src/gitstorage/index.js';
import { carScheme } from '../car/car-scheme.js';
import { CAR_GROUP, CAR_KIND, carKey } from '../car/car-types.js';
import type { CarV1alpha1 } from '../car/car-types.js';
import { randomMotion } from '../car/random-car.js';
import { parseFlags } from '../shared/sample-flags.js';
import { createSampleServer, serve } from '../shared/sample-server.js';

const USAGE = `usage: node --import tsx examples/sample-gitops/main.ts --git-url URL [options]

  --git-url URL             the repository (ssh://, https://, http://, file:// or a path)
  --branch NAME             the branch to follow (main)
  --identity-file FILE      SSH private key; --known-hosts-file FILE (~/.ssh/known_hosts) lists the host
  --https-username NAME     HTTPS user; the token or password comes from GIT_HTTPS_TOKEN
  --dir DIR                 where to keep the clone (a temporary folder)
  --interval SECONDS        seconds between fetches (10)
  --author-name, --author-email   who the commits are by
  --pr-provider KIND        github, gitlab, gitea or none (guessed from the URL)
  --pr-base-url URL         API address of a self-hosted forge
  --pr-repository O/NAME    the repository on the forge (from the URL)
  --pr-assignees A,B        --pr-milestone NAME
  --port 8888  --host 127.0.0.1`;

const flags = parseFlags(
  {
    'git-url': { type: 'string' },
    branch: { type: 'string', default: 'main' },
    'identity-file': { type: 'string' },
    'known-hosts-file': { type: 'string' },
    'https-username': { type: 'string' },
    dir: { type: 'string' },
    interval: { type: 'string', default: '10' },
    'author-name': { type: 'string', default: 'libgitops sample-gitops' },
    'author-email': { type: 'string', default: 'sample-gitops@libgitops.invalid' },
    'pr-provider': { type: 'string' },
    'pr-base-url': { type: 'string' },
    'pr-repository': { type: 'string' },
    'pr-assignees': { type: 'string' },
    'pr-milestone': { type: 'string' },
  },
  USAGE,
);

const app = createSampleServer();
const url = flags.required('git-url');

function credentials(): Credentials | undefined {
  const identity = flags.text('identity-file');
  if (identity !== undefined) {
    return {
      type: 'ssh',
      privateKeyFile: identity,
      knownHostsFile: flags.text('known-hosts-file') ?? join(homedir(), '.ssh', 'known_hosts'),
    };
  }
  const token = process.env.GIT_HTTPS_TOKEN;
  if (token !== undefined && token !== '') {
    const username = flags.text('https-username');
    return username === undefined ? { type: 'https', token } : { type: 'https', username, password: token };
  }
  return undefined;
}

function pullRequests(): PullRequestOpener | undefined {
  const kind = flags.text('pr-provider');
  if (kind === 'none') return undefined;
  try {
    return providerFor(flags.text('pr-repository') ?? url, {
      ...(kind !== undefined ? { provider: kind as ForgeKind } : {}),
      ...(flags.text('pr-base-url') !== undefined ? { baseUrl: flags.text('pr-base-url') } : {}),
    });
  } catch (error) {
    // Without a forge the sample still pushes its branches; it says why there are no pull requests.
    app.log.warn(
      { reason: (error as Error).message },
      'no pull request provider: branches are pushed without pull requests',
    );
    return undefined;
  }
}

const seconds = Number(flags.text('interval'));
if (!Number.isFinite(seconds) || seconds < 0) {
  process.stderr.write(`--interval must be a number of seconds\n`);
  process.exit(2);
}
const opener = pullRequests();
const storage = await GitStorage.open({
  directory: {
    url,
    branch: flags.required('branch'),
    credentials: credentials(),
    interval: seconds * 1000,
    ...(flags.text('dir') !== undefined ? { dir: flags.text('dir') } : {}),
  },
  scheme: carScheme(),
  author: { name: flags.required('author-name'), email: flags.required('author-email') },
  pullRequests: opener,
  ...(flags.text('pr-repository') !== undefined
    ? { pullRequestRepository: flags.text('pr-repository') }
    : {}),
});
for (const undone of storage.recovery.undone)
  app.log.warn(undone, 'undid a transaction a killed process left');

storage.on((event) => {
  if (event.type === 'ERROR') {
    app.log.warn(
      { event: 'ERROR', file: event.error.details.file, revision: event.error.details.revision },
      event.error.format(),
    );
    return;
  }
  const { kind, metadata } = event.object;
  app.log.info(
    {
      event: event.type,
      kind,
      namespace: metadata.namespace,
      name: metadata.name,
      file: event.path,
      revision: storage.revision,
      origin: event.origin,
    },
    `${event.type} ${kind} ${metadata.namespace ?? ''}/${metadata.name}`,
  );
});
storage.onRevision((change) =>
  app.log.info(change, change.forced ? 'the branch was force-pushed' : 'new revision'),
);
storage.directory.on('state', (state) =>
  app.log.info({ state: state.state, error: state.error?.message }, `remote ${state.state}`),
);
app.log.info({ url, revision: storage.revision, cars: await storage.count({ kind: CAR_KIND }) }, 'following');

app.get('/git/', async () => storage.list({ group: CAR_GROUP, kind: CAR_KIND }));

app.get<{ Params: { name: string } }>('/git/:name', async (request) =>
  storage.get(carKey(request.params.name)),
);

app.put<{ Params: { name: string } }>('/git/:name', async (request) => {
  const { name } = request.params;
  const labels = ['user/bot', 'actuator/libgitops', 'kind/status-update'];
  const assignees = flags
    .text('pr-assignees')
    ?.split(',')
    .filter((a) => a !== '');
  const milestone = flags.text('pr-milestone');
  let description = '';
  const outcome = await storage.transaction({ branchPrefix: `${name}-update-` }, async (cars) => {
    const car = await cars.get<CarV1alpha1>(carKey(name));
    car.status = randomMotion(car.status);
    await cars.update(car);
    description = `The speed of ${name} is now ${car.status.speed} and its distance ${car.status.distance}.`;
    return {
      title: 'Update Car speed',
      description,
      ...(opener !== undefined ? { pullRequest: { labels, assignees, milestone } } : {}),
    };
  });
  request.log.info(
    { branch: outcome.branch, commit: outcome.commit, pullRequest: outcome.pullRequest },
    'transaction done',
  );
  return {
    title: 'Update Car speed',
    description,
    labels,
    ...(assignees !== undefined ? { assignees } : {}),
    ...(milestone !== undefined ? { milestone } : {}),
    branch: outcome.branch,
    base: outcome.base,
    commit: outcome.commit,
    pullRequest: outcome.pullRequest ?? null,
  };
});

await serve(app, { host: flags.required('host'), port: flags.port() }, [storage]);
