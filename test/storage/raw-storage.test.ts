import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ErrorCodes } from '../../src/runtime/index.js';
import {
  checkKeyForPath,
  checkRelativePath,
  FileSystemRawStorage,
  isIgnoredByDefault,
  ManifestDirectory,
} from '../../src/storage/index.js';
import { car, carKey, codeOf, removeTempDirs, tempDir } from './helpers.js';

afterAll(() => removeTempDirs());

function write(root: string, path: string, text: string): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

describe('paths', () => {
  it('refuses relative paths that could leave the root, before touching the disk', () => {
    for (const bad of [
      '../x.yaml',
      'a/../../x.yaml',
      '/etc/passwd',
      'a//b.yaml',
      './a.yaml',
      'a\\b.yaml',
      'a\0.yaml',
      '',
    ]) {
      expect(() => checkRelativePath(bad), bad).toThrowError(
        expect.objectContaining({ code: ErrorCodes.PathEscape }),
      );
    }
    expect(checkRelativePath('a/b/c.yaml')).toBe('a/b/c.yaml');
  });

  it('ignores .git, hidden files and editor swap files by default', () => {
    for (const path of [
      '.git/config.yaml',
      'a/.hidden.yaml',
      '.a.yaml.swp',
      'x/.#car.yaml',
      'x/#car.yaml#',
      'car.yaml~',
      '4913',
    ]) {
      expect(isIgnoredByDefault(path), path).toBe(true);
    }
    expect(isIgnoredByDefault('apps/web/deployment.yaml')).toBe(false);
  });

  it('checks the parts of keys that become file names', () => {
    expect(() => checkKeyForPath(carKey('foo'))).not.toThrow();
    for (const name of ['..', 'a/b', 'UPPER', '-dash', 'a_b', 'x'.repeat(254)]) {
      expect(() => checkKeyForPath(carKey(name)), name).toThrowError(
        expect.objectContaining({ code: ErrorCodes.Invalid }),
      );
    }
    expect(() => checkKeyForPath(carKey('foo', 'Bad_NS'))).toThrowError(/DNS-1123 label/);
    expect(() => checkKeyForPath({ group: '', kind: '../x', name: 'a' })).toThrowError(/not a kind/);
    // RBAC names are path segments, so "system:auth" is fine but "a/b" is not.
    const role = { group: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth' };
    expect(() => checkKeyForPath(role)).not.toThrow();
    expect(() => checkKeyForPath({ ...role, name: 'a/b' })).toThrow();
  });
});

describe('FileSystemRawStorage layouts', () => {
  it('puts each object at the path of its layout', async () => {
    const root = tempDir();
    const paths = async (layout: 'kind-name' | 'kind-namespace-name' | 'group-kind-namespace-name') => {
      const raw = await FileSystemRawStorage.open({ root, layout });
      return [
        raw.pathFor(carKey('foo', 'fleet')),
        raw.pathFor({ group: '', kind: 'Namespace', name: 'fleet' }),
      ];
    };
    expect(await paths('kind-name')).toEqual(['Car/foo/metadata.yaml', 'Namespace/fleet/metadata.yaml']);
    expect(await paths('kind-namespace-name')).toEqual([
      'Car/fleet/foo/metadata.yaml',
      'Namespace/fleet/metadata.yaml',
    ]);
    expect(await paths('group-kind-namespace-name')).toEqual([
      'sample-app.weave.works/Car/fleet/foo.yaml',
      'core/Namespace/fleet.yaml',
    ]);
    const json = await FileSystemRawStorage.open({ root, layout: 'kind-name', contentType: 'json' });
    expect(json.pathFor(carKey('foo'))).toBe('Car/foo/metadata.json');
    expect(json.mayHold('Car/foo/metadata.yaml', carKey('foo'))).toBe(true);
    expect(json.mayHold('Car/bar/metadata.yaml', carKey('foo'))).toBe(false);
    await expect(FileSystemRawStorage.open({ root, layout: 'flat' as never })).rejects.toThrow(
      /unknown layout/,
    );
  });

  it('lists only files of its layout, sorted', async () => {
    const root = tempDir();
    for (const path of [
      'Car/default/foo/metadata.yaml',
      'Car/bar/metadata.json',
      'Car/x.yaml',
      'Car/default/foo/other.yaml',
      'README.md',
    ]) {
      write(root, path, 'x: 1\n');
    }
    const raw = await FileSystemRawStorage.open({ root, layout: 'kind-namespace-name' });
    expect(await raw.listFiles()).toEqual(['Car/bar/metadata.json', 'Car/default/foo/metadata.yaml']);
    expect(raw.contentType('Car/bar/metadata.json')).toBe('json');
  });

  it('removes folders a removal leaves empty, but never the root', async () => {
    const root = tempDir();
    const raw = await FileSystemRawStorage.open({ root, layout: 'kind-namespace-name' });
    await raw.write('Car/default/foo/metadata.yaml', 'a: 1\n');
    expect(await raw.remove('Car/default/foo/metadata.yaml')).toBe(true);
    expect(readdirSync(root)).toEqual(['.libgitops']);
    expect(await raw.remove('Car/default/foo/metadata.yaml')).toBe(false);
  });

  it('removes only files it would read: never a README, a hidden or an ignored file', async () => {
    const root = tempDir();
    write(root, 'README.md', '# notes\n');
    write(root, '.git/config', '[core]\n');
    write(root, '.hidden.yaml', 'a: 1\n');
    write(root, 'app.yaml', 'a: 1\n');
    const raw = await ManifestDirectory.open({ root });
    for (const path of ['README.md', '.git/config', '.hidden.yaml']) {
      expect(await codeOf(raw.remove(path)), path).toBe(ErrorCodes.BadRequest);
      expect(existsSync(join(root, path)), path).toBe(true);
    }
    expect(await codeOf(raw.remove('../app.yaml'))).toBe(ErrorCodes.PathEscape);
    expect(await raw.remove('app.yaml')).toBe(true);
  });
});

describe('ManifestDirectory', () => {
  it('lists manifests of any shape, leaving .git, hidden, swap and other files alone', async () => {
    const root = tempDir();
    for (const path of [
      'a.yaml',
      'deep/er/b.yml',
      'c.json',
      '.git/objects/x.yaml',
      '.hidden/d.yaml',
      'e/.f.yaml',
      '.car.yaml.swp',
      'car.yaml~',
      'notes.txt',
      'vendor/skip.yaml',
    ]) {
      write(root, path, 'a: 1\n');
    }
    const raw = await ManifestDirectory.open({ root, ignore: (path) => path.startsWith('vendor') });
    expect(await raw.listFiles()).toEqual(['a.yaml', 'c.json', 'deep/er/b.yml']);
  });

  it('places new objects by its rule', async () => {
    const root = tempDir();
    const byDefault = await ManifestDirectory.open({ root });
    expect(byDefault.fileFor(car('foo'), carKey('foo'))).toBe('default/car-foo.yaml');
    const single = await ManifestDirectory.open({ root, placement: { file: 'all.yaml' } });
    expect(single.fileFor(car('foo'), carKey('foo'))).toBe('all.yaml');
    const custom = await ManifestDirectory.open({
      root,
      placement: (obj) => `cars/${obj.metadata.name}.yaml`,
    });
    expect(custom.fileFor(car('foo'), carKey('foo'))).toBe('cars/foo.yaml');
    const layout = await ManifestDirectory.open({ root, placement: 'group-kind-namespace-name' });
    expect(layout.fileFor(car('foo'), carKey('foo'))).toBe('sample-app.weave.works/Car/default/foo.yaml');
    const escaping = await ManifestDirectory.open({ root, placement: () => '../outside.yaml' });
    expect(() => escaping.fileFor(car('foo'), carKey('foo'))).toThrowError(
      expect.objectContaining({ code: ErrorCodes.PathEscape }),
    );
    const hidden = await ManifestDirectory.open({ root, placement: () => '.secret.yaml' });
    expect(() => hidden.fileFor(car('foo'), carKey('foo'))).toThrowError(
      expect.objectContaining({ code: ErrorCodes.BadRequest }),
    );
  });
});

describe('reads and writes', () => {
  it('writes atomically: no temporary file left, permissions kept, checksum of the content', async () => {
    const root = tempDir();
    const raw = await ManifestDirectory.open({ root });
    const first = await raw.write('a.yaml', 'a: 1\n');
    expect(readFileSync(join(root, 'a.yaml'), 'utf8')).toBe('a: 1\n');
    (await import('node:fs')).chmodSync(join(root, 'a.yaml'), 0o600);
    const second = await raw.write('a.yaml', 'a: 2\n');
    expect(statSync(join(root, 'a.yaml')).mode & 0o777).toBe(0o600);
    // Temporary files live in the hidden work folder, which is empty between writes.
    expect(readdirSync(root)).toEqual(['.libgitops', 'a.yaml']);
    expect(readdirSync(join(root, '.libgitops'))).toEqual([]);
    expect(first).not.toBe(second);
    expect(await raw.checksum('a.yaml')).toBe(second);
    expect(await raw.read('missing.yaml')).toBeUndefined();
  });

  it('checksums are content hashes: the same bytes at another time give the same checksum', async () => {
    const root = tempDir();
    const raw = await ManifestDirectory.open({ root });
    write(root, 'a.yaml', 'a: 1\n');
    const before = await raw.checksum('a.yaml');
    utimesSync(join(root, 'a.yaml'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    write(root, 'b.yaml', 'a: 1\n');
    expect(await raw.checksum('a.yaml')).toBe(before);
    expect(await raw.checksum('b.yaml')).toBe(before);
  });

  it('never reads or writes through a symlink that leaves the root', async () => {
    const root = tempDir();
    const outside = tempDir();
    writeFileSync(join(outside, 'secret.yaml'), 'password: hunter2\n');
    symlinkSync(outside, join(root, 'linked'));
    symlinkSync(join(outside, 'secret.yaml'), join(root, 'secret.yaml'));
    symlinkSync(join(root, 'nowhere'), join(root, 'dangling.yaml'));
    write(root, 'inside.yaml', 'a: 1\n');
    symlinkSync(join(root, 'inside.yaml'), join(root, 'alias.yaml'));
    const raw = await ManifestDirectory.open({ root });
    expect(await raw.listFiles()).toEqual(['alias.yaml', 'inside.yaml']);
    expect(await codeOf(raw.read('secret.yaml'))).toBe(ErrorCodes.PathEscape);
    expect(await codeOf(raw.read('linked/secret.yaml'))).toBe(ErrorCodes.PathEscape);
    expect(await codeOf(raw.write('linked/new.yaml', 'a: 1\n'))).toBe(ErrorCodes.PathEscape);
    expect(await codeOf(raw.write('linked/deeper/new.yaml', 'a: 1\n'))).toBe(ErrorCodes.PathEscape);
    expect(await codeOf(raw.write('dangling.yaml', 'a: 1\n'))).toBe(ErrorCodes.PathEscape);
    expect(await codeOf(raw.write('../escape.yaml', 'a: 1\n'))).toBe(ErrorCodes.PathEscape);
    expect(await codeOf(raw.remove('secret.yaml'))).toBe(ErrorCodes.PathEscape);
    expect(existsSync(join(outside, 'new.yaml'))).toBe(false);
    expect(existsSync(join(outside, 'deeper'))).toBe(false);
    expect(readFileSync(join(outside, 'secret.yaml'), 'utf8')).toBe('password: hunter2\n');
    expect((await raw.read('alias.yaml'))?.text).toBe('a: 1\n');
  });

  it('removes temporary files of killed writers when opened, and refuses a symlinked work folder', async () => {
    const root = tempDir();
    mkdirSync(join(root, '.libgitops'));
    writeFileSync(join(root, '.libgitops', 'a.yaml.999999999.0123456789ab.tmp'), 'half');
    writeFileSync(join(root, '.libgitops', `a.yaml.${process.pid}.0123456789ab.tmp`), 'a live writer');
    await ManifestDirectory.open({ root });
    expect(readdirSync(join(root, '.libgitops'))).toEqual([`a.yaml.${process.pid}.0123456789ab.tmp`]);
    const other = tempDir();
    const outside = tempDir();
    symlinkSync(outside, join(other, '.libgitops'));
    const raw = await ManifestDirectory.open({ root: other });
    expect(await codeOf(raw.write('a.yaml', 'a: 1\n'))).toBe(ErrorCodes.PathEscape);
    expect(readdirSync(outside)).toEqual([]);
  });

  it('refuses to write files that are not manifests of the storage', async () => {
    const root = tempDir();
    const raw = await ManifestDirectory.open({ root });
    expect(await codeOf(raw.write('notes.txt', 'x'))).toBe(ErrorCodes.BadRequest);
    expect(await codeOf(raw.write('.git/config.yaml', 'x'))).toBe(ErrorCodes.BadRequest);
  });
});
