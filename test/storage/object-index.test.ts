import { describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError, objectKeyToString } from '../../src/runtime/index.js';
import type { KubeObject, ObjectKey } from '../../src/runtime/index.js';
import { ObjectIndex } from '../../src/storage/object-index.js';
import type { FileState, IndexedObject } from '../../src/storage/object-index.js';
import type { ObjectEvent, StorageEvent } from '../../src/storage/index.js';

function entry(name: string, path: string, resourceVersion: string, document = 0): IndexedObject {
  const key: ObjectKey = { group: 'sample-app.weave.works', kind: 'Car', namespace: 'default', name };
  const object: KubeObject = {
    apiVersion: 'sample-app.weave.works/v1alpha1',
    kind: 'Car',
    metadata: { name, namespace: 'default', resourceVersion },
  };
  return { key, id: objectKeyToString(key), object, resourceVersion, path, document };
}

function file(path: string, objects: IndexedObject[], errors: GitOpsError[] = [], checksum = 'c'): FileState {
  return { path, checksum, objects, errors };
}

function summary(events: StorageEvent[]): string[] {
  return events.map((e) =>
    e.type === 'ERROR' ? `ERROR ${e.error.code} ${e.path}` : `${e.type} ${e.key.name} ${e.path}`,
  );
}

describe('ObjectIndex', () => {
  it('reports ADDED, MODIFIED with the previous version, and DELETED', () => {
    const index = new ObjectIndex();
    expect(
      summary(
        index.apply(
          [file('a.yaml', [entry('foo', 'a.yaml', 'v1'), entry('bar', 'a.yaml', 'v1', 1)])],
          'external',
        ),
      ),
    ).toEqual(['ADDED foo a.yaml', 'ADDED bar a.yaml']);
    const events = index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v2')])], 'storage');
    expect(summary(events)).toEqual(['MODIFIED foo a.yaml', 'DELETED bar a.yaml']);
    const modified = events[0] as ObjectEvent;
    expect(modified.previous?.metadata.resourceVersion).toBe('v1');
    expect(modified.origin).toBe('storage');
    expect(index.size).toBe(1);
  });

  it('gives no events for a file applied again with the same versions', () => {
    const index = new ObjectIndex();
    index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v1')])], 'external');
    expect(index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v1')], [], 'other')], 'external')).toEqual(
      [],
    );
  });

  it('turns a move (removed here, added there, in one batch) into no event, only a new location', () => {
    const index = new ObjectIndex();
    index.apply(
      [file('a.yaml', [entry('foo', 'a.yaml', 'v1'), entry('bar', 'a.yaml', 'v1', 1)])],
      'external',
    );
    const events = index.apply(
      [
        { path: 'a.yaml', removed: true },
        file('sub/b.yaml', [entry('foo', 'sub/b.yaml', 'v1'), entry('bar', 'sub/b.yaml', 'v9', 1)]),
      ],
      'external',
    );
    expect(summary(events)).toEqual(['MODIFIED bar sub/b.yaml']);
    expect(index.get(entry('foo', '', '').key)?.path).toBe('sub/b.yaml');
    expect(index.paths()).toEqual(['sub/b.yaml']);
  });

  it('takes a move as a move whichever file of the batch comes first', () => {
    const index = new ObjectIndex();
    index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v1')])], 'external');
    const events = index.apply(
      [file('b.yaml', [entry('foo', 'b.yaml', 'v1')]), { path: 'a.yaml', removed: true }],
      'external',
    );
    expect(summary(events)).toEqual([]);
    expect(index.get(entry('foo', '', '').key)?.path).toBe('b.yaml');
    expect(index.problems()).toEqual([]);
  });

  it('keeps the first of two files that define the same key and reports the second', () => {
    const index = new ObjectIndex();
    index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v1')])], 'external');
    const events = index.apply([file('b.yaml', [entry('foo', 'b.yaml', 'v2')])], 'external');
    expect(summary(events)).toEqual(['ERROR AlreadyExists b.yaml']);
    expect((events[0] as { error: GitOpsError }).error.message).toContain('defined twice');
    // The first file changing keeps its claim.
    expect(summary(index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v3')])], 'external'))).toEqual([
      'MODIFIED foo a.yaml',
    ]);
    // When the first file lets go, the second one counts.
    expect(summary(index.apply([{ path: 'a.yaml', removed: true }], 'external'))).toEqual([
      'MODIFIED foo b.yaml',
    ]);
  });

  it('reports a key defined twice in one file, and counts the first document', () => {
    const index = new ObjectIndex();
    const events = index.apply(
      [file('a.yaml', [entry('foo', 'a.yaml', 'v1'), entry('foo', 'a.yaml', 'v2', 1)])],
      'external',
    );
    expect(summary(events)).toEqual(['ERROR AlreadyExists a.yaml', 'ADDED foo a.yaml']);
    expect(index.get(entry('foo', '', '').key)?.resourceVersion).toBe('v1');
    expect(index.problems()).toHaveLength(1);
    // Applying the same file again does not pile up claims: removing it removes the object.
    index.apply(
      [file('a.yaml', [entry('foo', 'a.yaml', 'v1'), entry('foo', 'a.yaml', 'v2', 1)])],
      'external',
    );
    expect(summary(index.apply([{ path: 'a.yaml', removed: true }], 'external'))).toEqual([
      'DELETED foo a.yaml',
    ]);
  });

  it('keeps the objects of a file that went bad (marked stale) and reports the problem', () => {
    const index = new ObjectIndex();
    index.apply(
      [file('a.yaml', [entry('foo', 'a.yaml', 'v1'), entry('bar', 'a.yaml', 'v1', 1)])],
      'external',
    );
    const bad = new GitOpsError(ErrorCodes.YamlSyntax, 'bad indentation', {
      details: { file: 'a.yaml', line: 3 },
    });
    const events = index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v1')], [bad])], 'external');
    expect(summary(events)).toEqual(['ERROR YamlSyntax a.yaml']);
    expect(index.get(entry('bar', '', '').key)?.stale).toBe(true);
    // Fixed without bar: now bar is gone.
    expect(summary(index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v1')])], 'external'))).toEqual([
      'DELETED bar a.yaml',
    ]);
  });

  it('lists by kind and group, and counts versions of each path', () => {
    const index = new ObjectIndex();
    const ns: IndexedObject = {
      ...entry('x', 'ns.yaml', 'v1'),
      key: { group: '', kind: 'Namespace', name: 'x' },
      id: '/Namespace//x',
    };
    index.apply([file('a.yaml', [entry('foo', 'a.yaml', 'v1')]), file('ns.yaml', [ns])], 'external');
    expect([...index.objects('Car')].map((o) => o.key.name)).toEqual(['foo']);
    expect([...index.objects('Car', 'sample-app.weave.works')]).toHaveLength(1);
    expect([...index.objects('Car', 'other.example.com')]).toHaveLength(0);
    expect([...index.objects()]).toHaveLength(2);
    expect(index.version('a.yaml')).toBe(1);
    index.apply([{ path: 'a.yaml', removed: true }], 'external');
    expect(index.version('a.yaml')).toBe(2);
    expect([...index.objects('Car')]).toHaveLength(0);
  });
});
