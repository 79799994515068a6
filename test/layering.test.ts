/**
 * The layering of src/ as docs/architecture.md's table states it: a file imports only from its
 * own layer and from the layers its row names, those only through their index.ts, and no two
 * layers export the same name (so the main entry can re-export them all under plain names).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const src = join(root, 'src');

/** layer -> the layers it may import, from the table under "## Layers". */
function allowedImports(): Map<string, Set<string> | 'all'> {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8');
  const section = doc.slice(doc.indexOf('## Layers'), doc.indexOf('\n## ', doc.indexOf('## Layers') + 1));
  const table = new Map<string, Set<string> | 'all'>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`([a-z]+)\/`$/.exec(cells[1] ?? '')?.[1];
    if (name === undefined) continue;
    const may = cells[2] ?? '';
    table.set(
      name,
      may === 'every layer'
        ? 'all'
        : new Set(
            may
              .split(',')
              .map((l) => l.trim())
              .filter((l) => /^[a-z]+$/.test(l)),
          ),
    );
  }
  return table;
}

function filesOf(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return filesOf(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest);
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier !== undefined)
      specifiers.push((node.moduleSpecifier as ts.StringLiteral).text);
    if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    )
      specifiers.push(node.arguments[0].text);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers.filter((s) => s.startsWith('.'));
}

const layerOf = (path: string): string | undefined => {
  const rel = relative(src, path).split('/');
  return rel.length > 1 ? rel[0] : undefined;
};

describe('layering', () => {
  const table = allowedImports();

  it('has a row in docs/architecture.md for every layer of src/', () => {
    const layers = readdirSync(src).filter((d) => statSync(join(src, d)).isDirectory());
    expect(layers.filter((l) => !table.has(l))).toEqual([]);
    expect(table.size).toBeGreaterThan(8);
  });

  const problemsOf = (file: string, specifiers: string[]): string[] => {
    const from = layerOf(file);
    if (from === undefined) return [];
    const allowed = table.get(from);
    const problems: string[] = [];
    for (const specifier of specifiers) {
      const target = resolve(dirname(file), specifier);
      const to = layerOf(target);
      if (to === undefined || to === from) continue;
      const where = `${relative(root, file)} imports ${specifier}`;
      if (allowed !== 'all' && !allowed?.has(to)) problems.push(`${where}: ${from}/ may not import ${to}/`);
      if (relative(join(src, to), target) !== 'index.js')
        problems.push(`${where}: not through ${to}/index.ts`);
    }
    return problems;
  };

  it('imports only downwards, and only through index.ts', () => {
    expect(filesOf(src).flatMap((file) => problemsOf(file, importsOf(file)))).toEqual([]);
  });

  it('tells an upward or side-door import when it sees one', () => {
    expect(problemsOf(join(src, 'runtime/x.ts'), ['../sync/index.js'])).toHaveLength(1);
    expect(problemsOf(join(src, 'storage/x.ts'), ['../serializer/decode.js'])).toHaveLength(1);
    expect(problemsOf(join(src, 'storage/x.ts'), ['../serializer/index.js', './y.js'])).toEqual([]);
  });

  it('has no name exported by two layers', async () => {
    const owners = new Map<string, string[]>();
    const entries = [...table.keys()]
      .filter((layer) => layer !== 'cli')
      .map((layer) => join(src, layer, 'index.ts'))
      .filter((entry) => {
        try {
          return statSync(entry).isFile();
        } catch {
          return false;
        }
      });
    const program = ts.createProgram(entries, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      noEmit: true,
      skipLibCheck: true,
    });
    const checker = program.getTypeChecker();
    for (const entry of entries) {
      const module = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
      for (const symbol of checker.getExportsOfModule(module)) {
        const layer = layerOf(entry)!;
        owners.set(symbol.name, [...(owners.get(symbol.name) ?? []), layer]);
      }
    }
    const shared = [...owners]
      .filter(([, layers]) => layers.length > 1)
      .map(([n, l]) => `${n}: ${l.join(', ')}`);
    expect(owners.size).toBeGreaterThan(200);
    expect(shared).toEqual([]);
  }, 120_000);
});
