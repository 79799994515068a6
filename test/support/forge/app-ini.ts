/**
 * The app.ini of a headless test Gitea: installed (no web installer), SQLite, loopback only,
 * no SSH, no outgoing network, no registration, fresh secrets for every instance.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface AppIniOptions {
  workDir: string;
  /** Gitea's source tree, for templates and locales (the binary is built without bindata). */
  staticRoot: string;
  port: number;
  runUser: string;
  /** Gitea refuses to run as root unless told to; CI containers run as root. */
  allowRoot: boolean;
}

type Sections = Record<string, Record<string, string | number | boolean>>;

function render(sections: Sections): string {
  const lines: string[] = [];
  for (const [name, keys] of Object.entries(sections)) {
    if (name) lines.push('', `[${name}]`);
    for (const [key, value] of Object.entries(keys)) lines.push(`${key} = ${String(value)}`);
  }
  return `${lines.join('\n').trim()}\n`;
}

export function renderAppIni(o: AppIniOptions): string {
  const url = `http://127.0.0.1:${o.port}/`;
  const root: Record<string, string | boolean> = {
    APP_NAME: 'libgitops test forge',
    RUN_MODE: 'prod',
    RUN_USER: o.runUser,
    WORK_PATH: o.workDir,
  };
  if (o.allowRoot) root.I_AM_BEING_UNSAFE_RUNNING_AS_ROOT = true;
  return render({
    '': root,
    server: {
      PROTOCOL: 'http',
      HTTP_ADDR: '127.0.0.1',
      HTTP_PORT: o.port,
      DOMAIN: '127.0.0.1',
      ROOT_URL: url,
      LOCAL_ROOT_URL: url,
      STATIC_ROOT_PATH: o.staticRoot,
      APP_DATA_PATH: join(o.workDir, 'data'),
      DISABLE_SSH: true,
      START_SSH_SERVER: false,
      LFS_START_SERVER: false,
      OFFLINE_MODE: true,
    },
    database: {
      DB_TYPE: 'sqlite3',
      PATH: join(o.workDir, 'data', 'gitea.db'),
      SQLITE_JOURNAL_MODE: 'WAL',
      LOG_SQL: false,
    },
    security: {
      INSTALL_LOCK: true,
      SECRET_KEY: randomBytes(32).toString('hex'),
      INTERNAL_TOKEN: randomBytes(48).toString('base64url'),
      // The cheap preset: tests authenticate with passwords on many requests.
      PASSWORD_HASH_ALGO: 'pbkdf2_v1',
      PASSWORD_COMPLEXITY: 'off',
      MIN_PASSWORD_LENGTH: 8,
    },
    oauth2: { JWT_SECRET: randomBytes(32).toString('base64url') },
    service: {
      DISABLE_REGISTRATION: true,
      REQUIRE_SIGNIN_VIEW: false,
      ENABLE_NOTIFY_MAIL: false,
      DEFAULT_KEEP_EMAIL_PRIVATE: true,
    },
    repository: {
      ROOT: join(o.workDir, 'repositories'),
      DEFAULT_BRANCH: 'main',
    },
    // Our tests receive webhooks on 127.0.0.1; Gitea only posts to external hosts by default.
    webhook: { ALLOWED_HOST_LIST: 'loopback', DELIVER_TIMEOUT: 10 },
    git: { HOME_PATH: join(o.workDir, 'git-home') },
    log: { MODE: 'file', LEVEL: 'info', ROOT_PATH: join(o.workDir, 'log') },
    session: { PROVIDER: 'memory' },
    cache: { ADAPTER: 'memory' },
    indexer: { ISSUE_INDEXER_TYPE: 'db', REPO_INDEXER_ENABLED: false },
    mailer: { ENABLED: false },
    actions: { ENABLED: false },
    packages: { ENABLED: false },
    'cron.update_checker': { ENABLED: false },
  });
}
