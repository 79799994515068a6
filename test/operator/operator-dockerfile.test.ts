/**
 * deploy/Dockerfile cannot be built on these machines (no Docker engine, no base image), so this
 * test reproduces what the image would hold without a shell: the build stage's COPY and RUN lines in
 * one folder, the final stage's `COPY --from=build` lines into a second one; then it runs the
 * ENTRYPOINT there and imports every entry point the image ships. Any instruction it does not
 * understand fails the test, so an edit of the Dockerfile cannot slip past it.
 */
import { execFile } from 'node:child_process';
import { access, cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const dockerfileName = 'deploy/Dockerfile';
const buildTimeoutMs = 300_000;

// The final stage's one RUN needs apt, dl.k8s.io and get.helm.sh, so it is not reproduced: it must read exactly so.
const NETWORK_RUN = [
  'RUN apt-get update && apt-get install -y --no-install-recommends git ca-certificates curl openssh-client \\',
  '  && curl -fsSLo /usr/local/bin/kubectl "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH:-amd64}/kubectl" \\',
  '  && curl -fsSLo /tmp/kubectl.sha256 "https://dl.k8s.io/release/${KUBECTL_VERSION}/bin/linux/${TARGETARCH:-amd64}/kubectl.sha256" \\',
  '  && echo "$(cat /tmp/kubectl.sha256)  /usr/local/bin/kubectl" | sha256sum --check --strict \\',
  '  && rm /tmp/kubectl.sha256 && chmod 0755 /usr/local/bin/kubectl \\',
  '  && curl -fsSLo /tmp/helm.tar.gz "https://get.helm.sh/helm-${HELM_VERSION}-linux-${TARGETARCH:-amd64}.tar.gz" \\',
  '  && curl -fsSLo /tmp/helm.tar.gz.sha256sum "https://get.helm.sh/helm-${HELM_VERSION}-linux-${TARGETARCH:-amd64}.tar.gz.sha256sum" \\',
  '  && echo "$(cut -d " " -f 1 /tmp/helm.tar.gz.sha256sum)  /tmp/helm.tar.gz" | sha256sum --check --strict \\',
  '  && tar -xzf /tmp/helm.tar.gz -C /tmp && install -m 0755 "/tmp/linux-${TARGETARCH:-amd64}/helm" /usr/local/bin/helm \\',
  '  && rm -rf /tmp/helm.tar.gz /tmp/helm.tar.gz.sha256sum "/tmp/linux-${TARGETARCH:-amd64}" \\',
  '  && apt-get purge -y curl && rm -rf /var/lib/apt/lists/*',
].join('\n');

interface Instruction {
  keyword: string;
  /** The arguments, continuation lines joined. */
  args: string;
  /** The instruction exactly as written, continuation lines included. */
  source: string;
  line: number;
}

interface Stage {
  image: string;
  name: string | undefined;
  line: number;
  instructions: Instruction[];
}

type BuildStep =
  | { kind: 'copy'; line: number; sources: string[]; dest: string; destIsFolder: boolean }
  | { kind: 'run'; line: number; commands: string[][] };

interface FinalCopy {
  line: number;
  /** Relative to the build stage's WORKDIR. */
  sources: string[];
  /** Relative to the final stage's WORKDIR. */
  dest: string;
  destIsFolder: boolean;
}

interface ImagePlan {
  baseImages: string[];
  build: BuildStep[];
  final: FinalCopy[];
  networkRun: Instruction | undefined;
  workdir: string;
  user: string | undefined;
  entrypoint: string[];
  cmd: string[];
}

function notUnderstood(line: number, why: string, cause?: unknown): Error {
  return new Error(
    `${dockerfileName}:${line}: ${why}. This test reproduces the image without Docker and must understand ` +
      'every instruction: teach test/operator/operator-dockerfile.test.ts what this one means.',
    { cause },
  );
}

function parseDockerfile(text: string): Stage[] {
  const lines = text.split('\n');
  const stages: Stage[] = [];
  let seenInstruction = false;
  for (let i = 0; i < lines.length; i++) {
    const trimmed = lines[i]!.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      if (!seenInstruction && /^#\s*(syntax|escape|check)\s*=/i.test(trimmed)) {
        throw notUnderstood(i + 1, `the parser directive "${trimmed}" is not understood`);
      }
      continue;
    }
    seenInstruction = true;
    const start = i;
    const source: string[] = [];
    const parts: string[] = [];
    for (let continued = true; continued; i++) {
      if (i >= lines.length) throw notUnderstood(start + 1, 'the file ends inside a continued line');
      const line = lines[i]!;
      source.push(line);
      // Docker drops comment lines inside a continued instruction; they do not end it.
      if (i > start && line.trim().startsWith('#')) continue;
      continued = line.trimEnd().endsWith('\\');
      parts.push(continued ? line.trimEnd().slice(0, -1) : line);
    }
    i--;
    const joined = parts.join(' ').trim();
    const match = /^(\S+)\s*(.*)$/s.exec(joined)!;
    const instruction: Instruction = {
      keyword: match[1]!.toUpperCase(),
      args: match[2]!.trim(),
      source: source.join('\n'),
      line: start + 1,
    };
    if (instruction.keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (from === null || from[1]!.startsWith('--')) {
        throw notUnderstood(instruction.line, `FROM ${instruction.args} is not understood (flags?)`);
      }
      stages.push({ image: from[1]!, name: from[2], line: instruction.line, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') {
        throw notUnderstood(
          instruction.line,
          `${instruction.keyword} before the first FROM is not understood`,
        );
      }
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return stages;
}

/** The path `dest` names inside `workdir`, relative to it; refuses paths outside it. */
function insideWorkdir(workdir: string, path: string, line: number): string {
  const resolved = posix.resolve(workdir, path);
  const relative = posix.relative(workdir, resolved);
  if (relative.startsWith('..') || posix.isAbsolute(relative)) {
    throw notUnderstood(line, `${path} is outside the stage's WORKDIR ${workdir}`);
  }
  return relative;
}

function splitCopy(instruction: Instruction): { flags: string[]; sources: string[]; dest: string } {
  if (instruction.args.startsWith('['))
    throw notUnderstood(instruction.line, 'COPY in JSON form is not understood');
  const tokens = instruction.args.split(/\s+/);
  const flags = tokens.filter((t) => t.startsWith('--'));
  const paths = tokens.filter((t) => !t.startsWith('--'));
  if (paths.length < 2) throw notUnderstood(instruction.line, 'COPY needs sources and a destination');
  for (const path of paths) {
    if (/[*?[\]$]/.test(path))
      throw notUnderstood(instruction.line, `COPY path ${path} has a wildcard or a variable`);
  }
  return { flags, sources: paths.slice(0, -1), dest: paths.at(-1)! };
}

function parseWorkdir(instruction: Instruction, current: string | undefined): string {
  if (!posix.isAbsolute(instruction.args) || /\s|\$/.test(instruction.args)) {
    throw notUnderstood(
      instruction.line,
      `WORKDIR ${instruction.args} is not an absolute path without variables`,
    );
  }
  if (current !== undefined)
    throw notUnderstood(instruction.line, 'a second WORKDIR in one stage is not understood');
  return posix.normalize(instruction.args);
}

function requireWorkdir(workdir: string | undefined, instruction: Instruction): string {
  if (workdir === undefined) throw notUnderstood(instruction.line, `${instruction.keyword} before WORKDIR`);
  return workdir;
}

/** Each `&&` part of a build-stage RUN as an argument array; anything a shell would interpret is refused. */
function runCommands(instruction: Instruction): string[][] {
  if (instruction.args.startsWith('['))
    throw notUnderstood(instruction.line, 'RUN in JSON form is not understood');
  return instruction.args.split('&&').map((part) => {
    const command = part.trim();
    if (command === '' || /[|;<>$`"'\\*?(){}&~#]/.test(command)) {
      throw notUnderstood(instruction.line, `the RUN part "${command}" needs a shell`);
    }
    const argv = command.split(/\s+/);
    // The test builds from the local npm cache: the machines reach the registry slowly, if at all.
    if (argv[0] === 'npm' && argv[1] === 'ci' && !argv.includes('--prefer-offline'))
      argv.push('--prefer-offline');
    return argv;
  });
}

function execForm(instruction: Instruction): string[] {
  let value: unknown;
  try {
    value = JSON.parse(instruction.args);
  } catch (cause) {
    throw notUnderstood(instruction.line, `${instruction.keyword} must be in JSON (exec) form`, cause);
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw notUnderstood(instruction.line, `${instruction.keyword} must be a non-empty array of strings`);
  }
  return value as string[];
}

/** What the two stages do, checked instruction by instruction; no file is touched. */
function planImage(stages: Stage[]): ImagePlan {
  if (stages.length !== 2) {
    throw notUnderstood(
      stages[2]?.line ?? 1,
      `${stages.length} stages (the test understands a build and a final one)`,
    );
  }
  const [buildStage, finalStage] = stages as [Stage, Stage];
  if (buildStage.name === undefined) throw notUnderstood(buildStage.line, 'the build stage has no name');
  const plan: ImagePlan = {
    baseImages: [buildStage.image, finalStage.image],
    build: [],
    final: [],
    networkRun: undefined,
    workdir: '',
    user: undefined,
    entrypoint: [],
    cmd: [],
  };

  let buildWorkdir: string | undefined;
  for (const instruction of buildStage.instructions) {
    switch (instruction.keyword) {
      case 'ARG':
        break;
      case 'WORKDIR':
        buildWorkdir = parseWorkdir(instruction, buildWorkdir);
        break;
      case 'COPY': {
        const workdir = requireWorkdir(buildWorkdir, instruction);
        const { flags, sources, dest } = splitCopy(instruction);
        if (flags.length > 0)
          throw notUnderstood(instruction.line, `COPY ${flags.join(' ')} in the build stage`);
        for (const source of sources) {
          if (posix.isAbsolute(source) || posix.normalize(source).startsWith('..')) {
            throw notUnderstood(instruction.line, `COPY source ${source} is outside the build context`);
          }
        }
        plan.build.push({
          kind: 'copy',
          line: instruction.line,
          sources: sources.map((s) => posix.normalize(s)),
          dest: insideWorkdir(workdir, dest, instruction.line),
          destIsFolder: dest.endsWith('/') || sources.length > 1,
        });
        break;
      }
      case 'RUN':
        requireWorkdir(buildWorkdir, instruction);
        plan.build.push({ kind: 'run', line: instruction.line, commands: runCommands(instruction) });
        break;
      default:
        throw notUnderstood(instruction.line, `${instruction.keyword} in the build stage is not understood`);
    }
  }
  if (buildWorkdir === undefined) throw notUnderstood(buildStage.line, 'the build stage has no WORKDIR');

  let finalWorkdir: string | undefined;
  for (const instruction of finalStage.instructions) {
    switch (instruction.keyword) {
      case 'ARG':
        break;
      case 'RUN':
        if (instruction.source !== NETWORK_RUN || plan.networkRun !== undefined) {
          throw notUnderstood(
            instruction.line,
            "the final stage's only RUN the test accepts is the documented apt-get/kubectl one, as written in NETWORK_RUN",
          );
        }
        plan.networkRun = instruction;
        break;
      case 'WORKDIR':
        finalWorkdir = parseWorkdir(instruction, finalWorkdir);
        break;
      case 'COPY': {
        const workdir = requireWorkdir(finalWorkdir, instruction);
        const { flags, sources, dest } = splitCopy(instruction);
        if (flags.length !== 1 || flags[0] !== `--from=${buildStage.name}`) {
          throw notUnderstood(
            instruction.line,
            `COPY ${flags.join(' ')} in the final stage (only --from=build)`,
          );
        }
        plan.final.push({
          line: instruction.line,
          sources: sources.map((s) => {
            if (!posix.isAbsolute(s))
              throw notUnderstood(instruction.line, `COPY --from source ${s} is relative`);
            return insideWorkdir(buildWorkdir, s, instruction.line);
          }),
          dest: insideWorkdir(workdir, dest, instruction.line),
          destIsFolder: dest.endsWith('/') || sources.length > 1,
        });
        break;
      }
      case 'USER':
        plan.user = instruction.args;
        break;
      case 'ENTRYPOINT':
        plan.entrypoint = execForm(instruction);
        break;
      case 'CMD':
        plan.cmd = execForm(instruction);
        break;
      default:
        throw notUnderstood(instruction.line, `${instruction.keyword} in the final stage is not understood`);
    }
  }
  if (finalWorkdir === undefined) throw notUnderstood(finalStage.line, 'the final stage has no WORKDIR');
  if (plan.entrypoint.length === 0) throw notUnderstood(finalStage.line, 'the final stage has no ENTRYPOINT');
  plan.workdir = finalWorkdir;
  return plan;
}

async function copyInto(
  fromRoot: string,
  toRoot: string,
  step: { line: number; sources: string[]; dest: string; destIsFolder: boolean },
): Promise<void> {
  for (const source of step.sources) {
    const from = join(fromRoot, source);
    const info = await stat(from).catch((cause: unknown) => {
      throw new Error(`${dockerfileName}:${step.line}: COPY source ${source} does not exist in ${fromRoot}`, {
        cause,
      });
    });
    // As Docker does: a folder's contents go into dest; a file goes into dest/ or becomes dest.
    const target =
      info.isFile() && step.destIsFolder
        ? join(toRoot, step.dest, basename(source))
        : join(toRoot, step.dest);
    await mkdir(dirname(target), { recursive: true });
    await cp(from, target, { recursive: true, verbatimSymlinks: true, force: true });
  }
}

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

function runCommand(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string },
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
      },
    );
    // A command that exits without reading its input closes the pipe; its exit code tells what happened.
    child.stdin!.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') reject(error);
    });
    if (options.input === undefined) child.stdin!.end();
    else child.stdin!.end(options.input);
  });
}

// npm (through npx vitest) exports its own settings, local_prefix among them: a nested npm ci must not see them.
const keptNpmSettings = /^npm_config_(registry|proxy|https?_proxy|noproxy|cafile|strict_ssl|cache)$/i;

function buildEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keptNpmSettings.test(key)) continue;
    if (
      ['INIT_CWD', 'NODE', 'NODE_OPTIONS', 'NODE_PATH', 'NODE_ENV'].includes(key) ||
      key.startsWith('VITEST')
    ) {
      continue;
    }
    env[key] = value;
  }
  return env;
}

describe('deploy/Dockerfile', () => {
  let scratch: string;
  let buildDir: string;
  let finalDir: string;
  let plan: ImagePlan;
  // The container's environment: nothing that could load a loader (tsx) or a module folder from outside.
  let imageEnv: NodeJS.ProcessEnv;

  /** The ENTRYPOINT with `args`, run in the final folder as the container would run it. */
  async function entrypoint(args: string[]): Promise<CommandResult> {
    const argv = [...plan.entrypoint, ...args].map((arg) =>
      posix.isAbsolute(arg) ? join(finalDir, insideWorkdir(plan.workdir, arg, 0)) : arg,
    );
    return runCommand(argv[0]!, argv.slice(1), { cwd: finalDir, env: imageEnv });
  }

  beforeAll(async () => {
    plan = planImage(parseDockerfile(await readFile(join(repoRoot, dockerfileName), 'utf8')));
    scratch = await mkdtemp(join(tmpdir(), 'operator-dockerfile-'));
    buildDir = join(scratch, 'build');
    finalDir = join(scratch, 'app');
    await mkdir(buildDir);
    await mkdir(finalDir);
    await mkdir(join(scratch, 'home'));
    imageEnv = { PATH: process.env.PATH, HOME: join(scratch, 'home') };
    // A node_modules above the final folder would let a missing dependency resolve anyway.
    for (let dir = dirname(finalDir); ; dir = dirname(dir)) {
      const found = await access(join(dir, 'node_modules')).then(
        () => true,
        () => false,
      );
      if (found)
        throw new Error(
          `${join(dir, 'node_modules')} exists above ${finalDir}: the image check is not isolated`,
        );
      if (dirname(dir) === dir) break;
    }

    const env = buildEnvironment();
    for (const step of plan.build) {
      if (step.kind === 'copy') {
        await copyInto(repoRoot, buildDir, step);
        continue;
      }
      for (const argv of step.commands) {
        const result = await runCommand(argv[0]!, argv.slice(1), { cwd: buildDir, env });
        if (result.code !== 0) {
          throw new Error(
            `${dockerfileName}:${step.line}: \`${argv.join(' ')}\` failed with exit code ${result.code}:\n` +
              `${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`,
          );
        }
      }
    }
    for (const step of plan.final) await copyInto(buildDir, finalDir, step);
  }, buildTimeoutMs);

  afterAll(async () => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it('refuses, with the line, every instruction it does not understand', async () => {
    const text = await readFile(join(repoRoot, dockerfileName), 'utf8');
    const lines = text.split('\n');
    const buildEnd = lines.findIndex((l) => l.startsWith('RUN npm run build'));
    const finalEnd = lines.findIndex((l) => l.startsWith('CMD'));
    expect(buildEnd).toBeGreaterThan(0);
    expect(finalEnd).toBeGreaterThan(buildEnd);
    const withLine = (index: number, line: string): string =>
      [...lines.slice(0, index), line, ...lines.slice(index)].join('\n');
    const refusals: Array<[string, RegExp]> = [
      [
        withLine(buildEnd, 'ENV NODE_ENV=production'),
        /Dockerfile:\d+: ENV in the build stage is not understood/,
      ],
      [withLine(buildEnd, 'ADD https://example.com/x.tgz ./'), /ADD in the build stage/],
      [withLine(buildEnd, 'RUN npm run build | tee log'), /needs a shell/],
      [withLine(buildEnd, 'RUN echo "$HOME"'), /needs a shell/],
      [withLine(buildEnd, 'COPY --chown=1000 src ./src'), /COPY --chown=1000 in the build stage/],
      [withLine(buildEnd, 'COPY ../secrets ./'), /outside the build context/],
      [withLine(buildEnd, 'COPY src/*.ts ./'), /wildcard/],
      [withLine(finalEnd, 'RUN rm -rf /app/dist'), /only RUN the test accepts/],
      [withLine(finalEnd, 'COPY --from=build /etc/passwd ./'), /outside the stage's WORKDIR/],
      [withLine(finalEnd, 'COPY examples ./examples'), /only --from=build/],
      [withLine(finalEnd, 'HEALTHCHECK CMD true'), /HEALTHCHECK in the final stage/],
      [
        text.replace('ENTRYPOINT ["node", "/app/bin/gitops.js"]', 'ENTRYPOINT node /app/bin/gitops.js'),
        /JSON/,
      ],
      [text.replace('--no-install-recommends', '--no-install-recommends jq'), /only RUN the test accepts/],
      [`${text}\nFROM scratch\n`, /3 stages/],
      [`# syntax=docker/dockerfile:1\n${text}`, /parser directive/],
    ];
    for (const [edited, reason] of refusals) {
      expect(() => planImage(parseDockerfile(edited)), reason.source).toThrow(reason);
    }
    // The file as it is passes.
    expect(planImage(parseDockerfile(text)).networkRun?.source).toBe(NETWORK_RUN);
  });

  it('verifies kubectl against the sha256 dl.k8s.io publishes beside it, before keeping it', async () => {
    expect(plan.networkRun, 'the final stage has no apt-get/kubectl RUN').toBeDefined();
    const parts = plan.networkRun!.args.split('&&').map((p) => p.trim());
    const download = parts.findIndex((p) =>
      /^curl .*\/usr\/local\/bin\/kubectl "https:\/\/dl\.k8s\.io\//.test(p),
    );
    const sumDownload = parts.findIndex((p) =>
      /^curl .*\/tmp\/kubectl\.sha256 "https:\/\/dl\.k8s\.io\//.test(p),
    );
    const check = parts.findIndex((p) => / \| sha256sum --check\b/.test(p));
    const chmod = parts.findIndex((p) => p.startsWith('chmod 0755 /usr/local/bin/kubectl'));
    expect(
      [download, sumDownload, check, chmod].every((i) => i >= 0),
      parts.join('\n'),
    ).toBe(true);
    expect(download).toBeLessThan(check);
    expect(sumDownload).toBeLessThan(check);
    expect(check).toBeLessThan(chmod);
    // The checksum is the one published beside the very binary downloaded.
    const url = (part: string): string => /"(https:[^"]+)"/.exec(part)![1]!;
    expect(url(parts[sumDownload]!)).toBe(`${url(parts[download]!)}.sha256`);
    expect(parts[check]).toBe(
      'echo "$(cat /tmp/kubectl.sha256)  /usr/local/bin/kubectl" | sha256sum --check --strict',
    );

    // The same sha256sum, fed the line that echo builds, keeps a good binary and refuses a changed one.
    const dir = join(scratch, 'kubectl-check');
    await mkdir(dir);
    const binary = join(dir, 'kubectl');
    await writeFile(binary, 'kubectl as published');
    const published = (
      await runCommand('sha256sum', ['--', binary], { cwd: dir, env: imageEnv })
    ).stdout.split(' ')[0]!;
    expect(published).toMatch(/^[0-9a-f]{64}$/);
    const checkArgs = parts[check]!.split('| ')[1]!.split(' ');
    const checkLine = `${published}  ${binary}\n`;
    expect(
      (await runCommand(checkArgs[0]!, checkArgs.slice(1), { cwd: dir, env: imageEnv, input: checkLine }))
        .code,
    ).toBe(0);
    await writeFile(binary, 'kubectl with a changed byte');
    const tampered = await runCommand(checkArgs[0]!, checkArgs.slice(1), {
      cwd: dir,
      env: imageEnv,
      input: checkLine,
    });
    expect(tampered.code).not.toBe(0);
    expect(tampered.stdout).toContain('FAILED');
    // An empty checksum file (a failed download) is refused too.
    const empty = await runCommand(checkArgs[0]!, checkArgs.slice(1), {
      cwd: dir,
      env: imageEnv,
      input: `  ${binary}\n`,
    });
    expect(empty.code).not.toBe(0);
  });

  it('ships the target Node major that CI runs first, as the numeric non-root user operator.yaml expects', async () => {
    for (const image of plan.baseImages) expect(image).toMatch(/^node:\d+-/);
    const majors = plan.baseImages.map((image) => /^node:(\d+)-/.exec(image)![1]);
    // .ci/run runs the suite under each supported major, the target (the image's) first; so the
    // image's contents are checked on the very Node it ships in that pass.
    const ciMajors = /for major in ([\d ]+); do/
      .exec(await readFile(join(repoRoot, '.ci/run'), 'utf8'))![1]!
      .split(' ');
    expect(majors).toEqual([ciMajors[0], ciMajors[0]]);
    expect(ciMajors).toContain(process.versions.node.split('.')[0]);
    const deployment = await operatorDeployment();
    expect(plan.user).toMatch(/^\d+$/);
    expect(Number(plan.user)).toBe(deployment.spec.template.spec.securityContext.runAsUser);
  });

  it('holds the build output and runtime dependencies only: no sources, no dev dependencies, no tsx', async () => {
    const exists = (path: string): Promise<boolean> =>
      access(join(finalDir, path)).then(
        () => true,
        () => false,
      );
    for (const present of ['package.json', 'bin/gitops.js', 'dist/cli/main.js', 'node_modules/commander']) {
      expect(await exists(present), `${present} is missing from the image`).toBe(true);
    }
    for (const absent of [
      'src',
      'test',
      'tsconfig.json',
      'package-lock.json',
      'node_modules/tsx',
      'node_modules/typescript',
    ]) {
      expect(await exists(absent), `${absent} is in the image`).toBe(false);
    }
    const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { dev?: boolean }>;
    };
    const devOnly = Object.entries(lock.packages)
      .filter(([path, entry]) => entry.dev === true && path.startsWith('node_modules/'))
      .map(([path]) => path);
    expect(devOnly.length).toBeGreaterThan(0);
    const shipped: string[] = [];
    for (const path of devOnly) if (await exists(path)) shipped.push(path);
    expect(shipped, 'packages only dev dependencies need are in the image').toEqual([]);
  });

  it('runs its ENTRYPOINT: version, run --help, sync --help', async () => {
    const pkg = JSON.parse(await readFile(join(finalDir, 'package.json'), 'utf8')) as { version: string };
    const version = await entrypoint(['version']);
    expect(version.stderr).toBe('');
    expect(version).toMatchObject({ code: 0, stdout: `gitops ${pkg.version}\n` });

    const run = await entrypoint(['run', '--help']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Usage: gitops run \[options\]/);
    expect(run.stdout).toContain('--listen <host:port>');
    expect(run.stdout).toContain('--lease-namespace <namespace>');

    const sync = await entrypoint(['sync', '--help']);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stdout).toMatch(/^Usage: gitops sync \[options\] <source>/);
    expect(sync.stdout).toContain('--prune');

    // An unknown command fails, so the successes above are not the command line ignoring its input.
    expect((await entrypoint(['no-such-command'])).code).not.toBe(0);
  });

  it("accepts its CMD and deploy/operator.yaml's container command and args", async () => {
    const deployment = await operatorDeployment();
    const invocations: Array<{ from: string; args: string[] }> = [{ from: 'CMD', args: plan.cmd }];
    for (const container of deployment.spec.template.spec.containers) {
      if (container.command !== undefined) {
        // A command replaces the ENTRYPOINT: it must be the same one, or this check means nothing.
        expect(container.command, `container ${container.name} overrides the ENTRYPOINT`).toEqual(
          plan.entrypoint,
        );
      }
      invocations.push({
        from: `operator.yaml container ${container.name}`,
        args: container.args ?? plan.cmd,
      });
    }
    for (const { from, args } of invocations) {
      expect(args.length, `${from} names no command`).toBeGreaterThan(0);
      const help = await entrypoint([...args, '--help']);
      expect(help.code, `${from}: ${args.join(' ')} --help failed: ${help.stderr}`).toBe(0);
      expect(help.stdout, from).toMatch(new RegExp(`^Usage: gitops ${args[0]} `));
      // commander prints help before it checks options, so each flag is looked up in the help itself.
      const helpWords = new Set(help.stdout.split(/[\s,]+/));
      for (const flag of args.filter((a) => a.startsWith('-'))) {
        const name = flag.split('=')[0]!;
        expect(helpWords.has(name), `${from}: ${name} is not an option of gitops ${args[0]}`).toBe(true);
      }
    }
  });

  it('ships every public entry point of package.json, each importable with runtime dependencies only', async () => {
    const pkg = JSON.parse(await readFile(join(finalDir, 'package.json'), 'utf8')) as {
      name: string;
      exports: Record<string, string | { default?: string; import?: string }>;
    };
    const entries = Object.entries(pkg.exports)
      .map(([subpath, target]) => ({
        specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
        target: typeof target === 'string' ? target : (target.import ?? target.default ?? ''),
      }))
      .filter((entry) => entry.target.startsWith('./dist/'));
    expect(entries.map((e) => e.specifier)).toEqual(
      expect.arrayContaining([pkg.name, `${pkg.name}/runtime`, `${pkg.name}/sync`, `${pkg.name}/server`]),
    );
    for (const entry of entries) {
      expect((await stat(join(finalDir, entry.target))).isFile(), entry.target).toBe(true);
    }
    // The package imports itself by name, through its own "exports", from the image's folder.
    const script =
      'for (const s of process.argv.slice(1)) { const m = await import(s); ' +
      'console.log(`${s} ${Object.keys(m).length}`); }';
    const imported = await runCommand(
      'node',
      ['--input-type=module', '-e', script, '--', ...entries.map((e) => e.specifier)],
      { cwd: finalDir, env: imageEnv },
    );
    expect(imported.code, imported.stderr).toBe(0);
    const counts = imported.stdout.trim().split('\n');
    expect(counts.map((l) => l.split(' ')[0])).toEqual(entries.map((e) => e.specifier));
    for (const line of counts) expect(Number(line.split(' ')[1]), line).toBeGreaterThan(0);
  });
});

interface OperatorDeployment {
  spec: {
    template: {
      spec: {
        securityContext: { runAsUser?: number };
        containers: Array<{ name: string; command?: string[]; args?: string[] }>;
      };
    };
  };
}

async function operatorDeployment(): Promise<OperatorDeployment> {
  const text = await readFile(join(repoRoot, 'deploy', 'operator.yaml'), 'utf8');
  const deployments = parseAllDocuments(text)
    .map((doc) => doc.toJS() as { kind?: string } & OperatorDeployment)
    .filter((object) => object?.kind === 'Deployment');
  expect(deployments, 'deploy/operator.yaml holds one Deployment').toHaveLength(1);
  return deployments[0]!;
}
