/** The README's library example, shared by the tests that run it (from the sources and from the packed tarball). */

/** The README's TypeScript example. */
export function snippetOf(readme: string): string {
  const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  if (snippet === undefined) throw new Error('README.md has no ts example');
  return snippet;
}

/** What the README's example prints: its input with `replicas` changed, comments and all. */
export const EXPECTED_SNIPPET_OUTPUT = [
  '# settings of the web front end',
  'apiVersion: v1',
  'kind: ConfigMap',
  'metadata:',
  '  name: web # the Deployment reads it by this name',
  'data:',
  '  replicas: "3"',
  '  theme: dark',
  '',
].join('\n');
