/** Charts written for the tests: plain, with a charts/ dependency, with a repository dependency, with hooks and CRDs. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export async function writeFiles(root: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

const chartYaml = (name: string, extra = '') =>
  `apiVersion: v2\nname: ${name}\nversion: 0.1.0\ntype: application\n${extra}`;

/** A ConfigMap telling what the chart saw: release, namespace, values and capabilities. */
export function plainChart(name = 'plain'): Record<string, string> {
  return {
    'Chart.yaml': chartYaml(name),
    'values.yaml': 'greeting: hello\ncolour: blue\nsize: 1\n',
    'values-prod.yaml': 'colour: red\n',
    'templates/_helpers.tpl': '{{- define "fullname" -}}{{ .Release.Name }}-{{ .Chart.Name }}{{- end -}}\n',
    'templates/config.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ include "fullname" . }}',
      'data:',
      '  release: {{ .Release.Name | quote }}',
      '  namespace: {{ .Release.Namespace | quote }}',
      '  greeting: {{ .Values.greeting | quote }}',
      '  colour: {{ .Values.colour | quote }}',
      '  size: {{ .Values.size | quote }}',
      '  kube: {{ .Capabilities.KubeVersion.Version | quote }}',
      '  hasJobs: {{ .Capabilities.APIVersions.Has "batch/v1/Job" | quote }}',
      '  hasWidgets: {{ .Capabilities.APIVersions.Has "example.com/v1" | quote }}',
      '',
    ].join('\n'),
  };
}

export function subChart(name: string, greeting: string): Record<string, string> {
  return {
    'Chart.yaml': chartYaml(name),
    'values.yaml': `greeting: ${greeting}\n`,
    'templates/config.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      `  name: {{ .Release.Name }}-${name}`,
      'data:',
      '  greeting: {{ .Values.greeting | quote }}',
      '',
    ].join('\n'),
  };
}

/** A parent with its dependency vendored in charts/. */
export function vendoredChart(): Record<string, string> {
  const files: Record<string, string> = {
    'Chart.yaml': chartYaml('parent', 'dependencies:\n  - name: child\n    version: 0.1.0\n'),
    'values.yaml': 'child:\n  greeting: from-parent\n',
  };
  for (const [path, text] of Object.entries(subChart('child', 'from-child')))
    files[`charts/child/${path}`] = text;
  return files;
}

/** A chart whose dependency comes from a chart repository. */
export function repositoryChart(url: string): Record<string, string> {
  return {
    'Chart.yaml': chartYaml(
      'fetching',
      `dependencies:\n  - name: remote\n    version: 0.1.0\n    repository: ${url}\n`,
    ),
    'templates/own.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-own\ndata: {}\n',
  };
}

/** A CRD in crds/, a custom resource of it, and Helm hooks. */
export function hookChart(group: string): Record<string, string> {
  const hook = (name: string, hookName: string, weight: string, policy?: string) =>
    [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      `  name: {{ .Release.Name }}-${name}`,
      '  annotations:',
      `    helm.sh/hook: ${hookName}`,
      `    helm.sh/hook-weight: "${weight}"`,
      ...(policy === undefined ? [] : [`    helm.sh/hook-delete-policy: ${policy}`]),
      'data:',
      `  hook: ${name}`,
      '',
    ].join('\n');
  return {
    'Chart.yaml': chartYaml('hooked'),
    'crds/widgets.yaml': [
      'apiVersion: apiextensions.k8s.io/v1',
      'kind: CustomResourceDefinition',
      'metadata:',
      `  name: widgets.${group}`,
      'spec:',
      `  group: ${group}`,
      '  scope: Namespaced',
      '  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}',
      '  versions:',
      '    - name: v1',
      '      served: true',
      '      storage: true',
      '      schema:',
      '        openAPIV3Schema:',
      '          type: object',
      '          properties:',
      '            spec: {type: object, properties: {size: {type: integer}}}',
      '',
    ].join('\n'),
    'templates/widget.yaml': `apiVersion: ${group}/v1\nkind: Widget\nmetadata:\n  name: {{ .Release.Name }}-w\nspec:\n  size: 3\n`,
    'templates/config.yaml':
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-main\ndata: {}\n',
    'templates/pre.yaml': hook('pre', 'pre-install,pre-upgrade', '-1'),
    'templates/post.yaml': hook('post', 'post-install', '2', 'hook-succeeded'),
    'templates/test.yaml': hook('test', 'test', '0'),
  };
}
