/**
 * kubectl for tests, as the anchor to compare with and as "someone else" changing the cluster:
 * an argument array (never a shell), the test cluster's kubeconfig, optional stdin and env.
 */
import { spawn } from 'node:child_process';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function kubectl(
  kubeconfigPath: string,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; allowFailure?: boolean } = {},
): Promise<KubectlResult> {
  const child = spawn('kubectl', ['--kubeconfig', kubeconfigPath, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', (err) =>
      reject(new Error(`kubectl is needed by this test and could not run: ${err.message}`)),
    );
    child.on('close', (exitCode) => resolve(exitCode ?? 1));
  });
  if (code !== 0 && !options.allowFailure)
    throw new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr}`);
  return { code, stdout, stderr };
}

/** For `.then(unexpected, (e) => e as GitOpsError)`: a promise that should have failed did not. */
export function unexpected(value: unknown): never {
  throw new Error(`expected a failure, got ${JSON.stringify(value)?.slice(0, 200)}`);
}
