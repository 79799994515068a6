/** The `gitops` command. Every failure becomes `file:line:column: code: message` lines and an exit code. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { appsCommand, runCommand } from './commands-run.js';
import { diffCommand, syncCommand } from './commands-sync.js';
import { runFmt } from './fmt.js';
import { runImport } from './import.js';
import type { Output } from './report.js';
import { consoleOutput, reportError } from './report.js';
import { runValidate } from './validate.js';

export function packageVersion(): string {
  // dist/cli/main.js and src/cli/main.ts are both two levels below the package root.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

function buildProgram(output: Output, setCode: (code: number) => void): Command {
  const program = new Command('gitops')
    .description('Keep Kubernetes objects in Git, edit them losslessly, and sync them to clusters.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => output.out(s.trimEnd()), writeErr: (s) => output.err(s.trimEnd()) });

  program
    .command('version')
    .description('print the version')
    .action(() => {
      output.out(`gitops ${packageVersion()}`);
    });

  program
    .command('fmt')
    .description('normalise YAML/JSON manifests through the serializer, keeping comments')
    .argument('<paths...>', 'files or folders (folders are walked for .yaml/.yml/.json)')
    .option('--check', 'change nothing; exit 1 when a file would be reformatted', false)
    .action(async (paths: string[], opts: { check: boolean }) => {
      setCode(await runFmt(paths, { check: opts.check }, output));
    });

  program
    .command('validate')
    .description('decode strictly and validate every object; CRDs among the files are registered first')
    .argument('<paths...>', 'files or folders')
    .option(
      '--crd <file>',
      'a CustomResourceDefinition file to register (repeatable)',
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['table', 'json', 'name'])
        .default('table'),
    )
    .action(async (paths: string[], opts: { crd: string[]; output: 'table' | 'json' | 'name' }) => {
      setCode(await runValidate(paths, { crd: opts.crd, output: opts.output }, output));
    });

  program
    .command('import')
    .description(
      'print Applications for Argo CD Application and Flux Kustomization/HelmRelease (+ GitRepository) manifests',
    )
    .argument('<files...>', 'files or folders of Argo CD or Flux manifests')
    .action(async (paths: string[]) => {
      setCode(await runImport(paths, output));
    });

  program.addCommand(syncCommand(output, setCode));
  program.addCommand(diffCommand(output, setCode));
  program.addCommand(runCommand(output, setCode));
  program.addCommand(appsCommand(output, setCode));
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
    return 1;
  }
}
