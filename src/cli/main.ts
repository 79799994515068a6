/**
 * The `gitops` command. Every failure becomes `file:line:column: code: message` lines and an exit
 * code: 0 done, 1 failed (or, for `diff` and `fmt --check`, would change), 2 usage error.
 *
 * Only commander and this file's small helpers load up front; each command's code (and with it
 * the cluster client, the HTTP server, the forges) is imported when that command runs, so
 * `gitops version` and `gitops fmt` start as fast as Node itself allows.
 */
import { readFileSync } from 'node:fs';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { BUILTIN_KUBE_VERSIONS, DEFAULT_KUBE_VERSION, normalizeKubeVersion } from '../runtime/index.js';
import type { GlobalFlags } from './global.js';
import { LOG_LEVELS, checkNamespace } from './global.js';
import type { Output } from './report.js';
import { consoleOutput, exitCodeOf, reportError } from './report.js';

export function packageVersion(): string {
  // dist/cli/main.js and src/cli/main.ts are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

type SetCode = (code: number) => void;

function outputOption(formats: readonly string[], fallback: string): Option {
  return new Option('-o, --output <format>', 'output format').choices([...formats]).default(fallback);
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveNumber(value: string): string {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0)
    throw new InvalidArgumentError('must be a positive number of seconds.');
  return value;
}

/** A bundled Kubernetes version (`1.32`, `v1.32`, `1.32.13`); the typed error's message otherwise. */
function kubeVersionArg(value: string): string {
  try {
    return normalizeKubeVersion(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function hostPort(value: string): string {
  const at = value.lastIndexOf(':');
  const port = Number(at === -1 ? value : value.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new InvalidArgumentError('must be host:port (or a port) with a port from 0 to 65535.');
  return value;
}

function serviceAccountArg(value: string): string {
  if (value.length > 253 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(value))
    throw new InvalidArgumentError('must be a service account name (a lowercase DNS subdomain).');
  return value;
}

function namespaceList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), namespaceArg(value)];
}

function namespaceArg(value: string): string {
  const problem = checkNamespace(value);
  if (problem !== undefined) throw new InvalidArgumentError(problem);
  return value;
}

const VALUES_HELP =
  "Helm values file, relative to the chart folder (repeatable; after the Application's own)";
const SET_HELP = 'Helm value NAME=VALUE (repeatable; wins over values files)';
const CREDENTIALS_SECRET_HELP =
  'Secret with the repository credentials (username/password, token, or identity/known_hosts), ' +
  "read from the namespace of -n (default: the kubeconfig context's)";

/** The whole command tree; actions import their code when they run. */
export function buildProgram(output: Output, setCode: SetCode): Command {
  const program = new Command('gitops')
    .description('Keep Kubernetes objects in Git, edit them losslessly, and sync them to clusters.')
    .version(packageVersion(), '--version', 'print the version and exit')
    .helpOption('-h, --help', 'show help')
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      writeOut: (s: string) => output.out(s.trimEnd()),
      writeErr: (s: string) => output.err(s.trimEnd()),
    })
    .option('--kubeconfig <file>', 'kubeconfig file (default: KUBECONFIG, in-cluster, ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context')
    .option(
      '-n, --namespace <namespace>',
      "namespace (default: the kubeconfig context's; `default` for commands without a cluster)",
      namespaceArg,
    )
    .addOption(
      new Option('--log-level <level>', 'least severe log line written to stderr')
        .choices([...LOG_LEVELS])
        .default('info'),
    );
  const globals = (command: Command): GlobalFlags => command.optsWithGlobals<GlobalFlags>();
  // Every subcommand reports usage errors the same way (exit 2) and prints to the same output.
  const sub = (name: string): Command =>
    program
      .command(name)
      .exitOverride()
      .configureOutput({
        writeOut: (s: string) => output.out(s.trimEnd()),
        writeErr: (s: string) => output.err(s.trimEnd()),
      });

  sub('version')
    .description('print the version')
    .action(() => {
      output.out(`gitops ${packageVersion()}`);
    });

  sub('fmt')
    .description('normalise YAML/JSON manifests through the serializer, keeping comments')
    .argument('<paths...>', 'files or folders (folders are walked for .yaml/.yml/.json)')
    .option('--check', 'change nothing; exit 1 when a file would be reformatted', false)
    .action(async (paths: string[], opts: { check: boolean }) => {
      const { runFmt } = await import('./fmt.js');
      setCode(await runFmt(paths, { check: opts.check }, output));
    });

  sub('validate')
    .description('decode strictly and validate every object; CRDs among the files are registered first')
    .argument('<paths...>', 'files or folders')
    .option('--crd <file>', 'a CustomResourceDefinition file to register (repeatable)', collect, [])
    .option(
      '--kube-version <version>',
      `Kubernetes version whose built-in kinds are checked (${BUILTIN_KUBE_VERSIONS.join(', ')})`,
      kubeVersionArg,
      DEFAULT_KUBE_VERSION,
    )
    .addOption(outputOption(['table', 'json', 'yaml', 'name'], 'table'))
    .action(
      async (
        paths: string[],
        opts: { crd: string[]; kubeVersion: string; output: 'table' | 'json' | 'yaml' | 'name' },
      ) => {
        const { runValidate } = await import('./validate.js');
        setCode(
          await runValidate(
            paths,
            { crd: opts.crd, kubeVersion: opts.kubeVersion, output: opts.output },
            output,
          ),
        );
      },
    );

  sub('sync')
    .description(
      'apply a repository (URL or local folder, Git or plain) or an Application to the cluster, in order, with prune',
    )
    .argument('<source>', 'a Git URL, a local folder, or the name of an Application in the cluster')
    .option('--path <path>', 'folder inside the repository (repeatable; default the root)', collect, [])
    .option('--branch <branch>', 'branch to follow (default: main)')
    .option('--follow', 'keep following the source after the first sync, until SIGINT/SIGTERM', false)
    .addOption(new Option('--once', 'sync once and exit (the default; kept for scripts)').hideHelp())
    .option('--prune', 'delete objects whose files were removed', false)
    .option('--dry-run', 'ask the API server what would change; change nothing', false)
    .option('--self-heal', 'with --follow: restore objects changed in the cluster', false)
    .option('--interval <duration>', 'with --follow: how often to look for changes (e.g. 30s, 3m)')
    .option('--name <name>', 'application name for a URL or folder (default: <repo>[-<path>]-<hash8>)')
    .option('--credentials-secret <name>', CREDENTIALS_SECRET_HELP)
    .option('--values <file>', VALUES_HELP, collect, [])
    .option('--set <name=value>', SET_HELP, collect, [])
    .addOption(outputOption(['table', 'json', 'yaml', 'name'], 'table'))
    .action(async (source: string, opts: Record<string, unknown>, command: Command) => {
      const { runSync } = await import('./commands-sync.js');
      setCode(await runSync(source, { ...globals(command), ...opts } as never, output));
    });

  sub('diff')
    .description('show what a sync would change (exit 1 when something would)')
    .argument('<source>', 'a Git URL, a local folder, or the name of an Application in the cluster')
    .option('--path <path>', 'folder inside the repository (repeatable)', collect, [])
    .option('--branch <branch>', 'branch (default: main)')
    .option('--name <name>', 'application name for a URL or folder (default: <repo>[-<path>]-<hash8>)')
    .option('--credentials-secret <name>', CREDENTIALS_SECRET_HELP)
    .option('--values <file>', VALUES_HELP, collect, [])
    .option('--set <name=value>', SET_HELP, collect, [])
    .addOption(outputOption(['diff', 'table', 'json', 'yaml', 'name'], 'diff'))
    .action(async (source: string, opts: Record<string, unknown>, command: Command) => {
      const { runDiff } = await import('./commands-sync.js');
      setCode(await runDiff(source, { ...globals(command), ...opts } as never, output));
    });

  sub('run')
    .description('run the operator: follow every Application, serve /healthz /readyz /webhook /api')
    .option('--listen <host:port>', 'HTTP address of the API and webhook', hostPort, '0.0.0.0:8080')
    .option(
      '--metrics-listen <host:port>',
      'HTTP address of /metrics (and /healthz, /readyz); "" serves /metrics on --listen',
      (v: string) => (v === '' ? v : hostPort(v)),
      '0.0.0.0:9090',
    )
    .option('--no-leader-elect', 'act without a Lease (only with a single replica)')
    .option(
      '--lease-namespace <namespace>',
      'namespace of the leader Lease',
      namespaceArg,
      process.env.POD_NAMESPACE ?? 'gitops-system',
    )
    .option(
      '--resync <seconds>',
      'how often the watched Applications are listed afresh, as a safety net',
      positiveNumber,
      '600',
    )
    .option('--insecure-no-auth', 'serve the API without a bearer token (GITOPS_API_TOKEN)', false)
    .option(
      '--allow-insecure-destination-tls',
      'accept destination kubeconfigs (from Secrets) that skip TLS verification',
      false,
    )
    .option(
      '--default-service-account <name>',
      "service account (of each Application's namespace) impersonated for Applications that name none",
      serviceAccountArg,
    )
    .option(
      '--require-service-account',
      "refuse Applications with no service account (and no default): never sync with the operator's own rights",
      false,
    )
    .option(
      '--no-cross-namespace-targets',
      'an Application may apply only into its own namespace (no cluster-scoped objects) unless it is trusted',
    )
    .option(
      '--trusted-namespace <ns>',
      'a namespace exempt from --no-cross-namespace-targets (repeatable)',
      namespaceList,
    )
    .addOption(
      new Option('-o, --output <format>', 'print the applications in this format when stopping').choices([
        'table',
        'json',
        'yaml',
        'name',
      ]),
    )
    .action(async (opts: Record<string, unknown>, command: Command) => {
      const { runOperator } = await import('./commands-run.js');
      setCode(await runOperator({ ...globals(command), ...opts } as never, output));
    });

  sub('apps')
    .alias('status')
    .description('list the Applications of the cluster with their sync status')
    .argument('[name]', 'one application')
    .option('-A, --all-namespaces', 'every namespace', false)
    .addOption(outputOption(['table', 'json', 'yaml', 'name'], 'table'))
    .action(async (name: string | undefined, opts: Record<string, unknown>, command: Command) => {
      const { runApps } = await import('./commands-run.js');
      setCode(await runApps(name, { ...globals(command), ...opts } as never, output));
    });

  sub('completion')
    .description('print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .action(async (shell: 'bash' | 'zsh' | 'fish') => {
      const { completionScript } = await import('./completion.js');
      output.out(completionScript(program, shell));
    });

  sub('import')
    .description(
      'print Applications for Argo CD Application and Flux Kustomization/HelmRelease (+ GitRepository) manifests',
    )
    .argument('<files...>', 'files or folders of Argo CD or Flux manifests')
    .action(async (paths: string[]) => {
      const { runImport } = await import('./import.js');
      setCode(await runImport(paths, output));
    });

  return program;
}

/** Runs the command line; returns the process exit code (never throws, never exits). */
export async function main(argv: readonly string[], output: Output = consoleOutput): Promise<number> {
  let code = 0;
  const program = buildProgram(output, (c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    reportError(output, err);
    return exitCodeOf(err);
  }
}
