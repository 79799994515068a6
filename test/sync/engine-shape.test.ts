/**
 * The apply engine stays readable: no function, method or arrow in its files (src/sync/engine*.ts
 * and the helpers it is built from) is longer than 60 lines, counted from its first to its last
 * line with the TypeScript parser.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const MAX_LINES = 60;
const syncDir = resolve(import.meta.dirname, '../../src/sync');
const HELPERS = ['plan.ts', 'apply.ts', 'prune.ts', 'inventory.ts', 'health.ts', 'hooks.ts', 'result.ts'];

function engineFiles(): string[] {
  const engine = readdirSync(syncDir).filter((f) => /^engine(-[a-z-]+)?\.ts$/.test(f));
  return [...engine, ...HELPERS].sort();
}

/** Every function-like node with a body over `max` lines, as `name (line N): L lines`. */
function longFunctions(fileName: string, text: string, max: number): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) found.push(`${nameOf(node, source)} (line ${first + 1}): ${lines} lines`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function nameOf(node: ts.SignatureDeclaration, source: ts.SourceFile): string {
  if (node.name !== undefined) return node.name.getText(source);
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return parent.name.getText(source);
  return `(${ts.SyntaxKind[node.kind]})`;
}

describe('the engine’s shape', () => {
  it('has the engine files it is checked on', () => {
    const files = engineFiles();
    expect(files).toContain('engine.ts');
    for (const helper of HELPERS) expect(existsSync(join(syncDir, helper)), helper).toBe(true);
  });

  it(`has no function over ${MAX_LINES} lines`, () => {
    const long = engineFiles().flatMap((file) =>
      longFunctions(file, readFileSync(join(syncDir, file), 'utf8'), MAX_LINES).map((f) => `${file}: ${f}`),
    );
    expect(long).toEqual([]);
  });

  it('finds a long function, method and arrow (the check can fail)', () => {
    const body = Array.from({ length: MAX_LINES }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const text =
      `function long() {\n${body}\n}\n` +
      `class C {\n  method() {\n${body}\n  }\n  short() {\n    return 1;\n  }\n}\n` +
      `const arrow = () => {\n${body}\n};\n`;
    const found = longFunctions('sample.ts', text, MAX_LINES);
    expect(found.map((f) => f.split(' ')[0])).toEqual(['long', 'method', 'arrow']);
    expect(longFunctions('sample.ts', text, MAX_LINES + 2)).toEqual([]);
  });
});
