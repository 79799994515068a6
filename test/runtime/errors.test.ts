import { describe, expect, it } from 'vitest';

import { ErrorCodes, GitOpsError } from '../../src/runtime/index.js';

function thrownHere(): GitOpsError {
  return new GitOpsError(ErrorCodes.Invalid, 'bad value', { details: { field: '.spec' } });
}

describe('GitOpsError.withDetails', () => {
  it('adds details to a copy and keeps the original stack, which may still be replaced', () => {
    const original = thrownHere();
    const copy = original.withDetails({ file: 'a.yaml', line: 3 });
    expect(copy).not.toBe(original);
    expect(copy.details).toEqual({ field: '.spec', file: 'a.yaml', line: 3 });
    expect(original.details).toEqual({ field: '.spec' });
    expect(copy.stack).toBe(original.stack);
    expect(copy.stack).toContain('thrownHere');
    expect(Object.keys(copy)).not.toContain('stack');
    copy.stack = 'replaced';
    expect(copy.stack).toBe('replaced');
    expect(original.stack).toContain('thrownHere');
    expect(copy.withDetails({ column: 1 }).stack).toBe('replaced');
  });
});
