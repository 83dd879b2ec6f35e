// Field paths to line and column (the positions JSON and SARIF report).

import { describe, expect, it } from '@jest/globals';
import { parseManifests } from '../../src/cli/kube-yaml.js';
import { locateField, parseFieldPath } from '../../src/cli/locate.js';

function locate(text: string, field: string, doc = 0) {
  const parsed = parseManifests(text);
  return locateField(parsed.documents[doc]!.document, parsed.lineCounter, parseFieldPath(field));
}

describe('parseFieldPath', () => {
  it.each([
    ['spec.permissions.s3[0].bucket', ['spec', 'permissions', 's3', 0, 'bucket']],
    ['roles.tags["team name"]', ['roles', 'tags', 'team name']],
    ['spec.x-unused', ['spec', 'x-unused']],
    ['metadata.annotations["a\\"b"]', ['metadata', 'annotations', 'a"b']],
    ['', []],
    ['(root)', []],
  ])('%s', (path, segments) => {
    expect(parseFieldPath(path)).toEqual(segments);
  });
});

describe('locateField', () => {
  const text = [
    'defaults: &d',
    '  region: eu-west-1',
    'spec:',
    '  <<: *d',
    '  list:',
    '    - a',
    '    - { name: b, "odd key": 1 }',
    '---',
    'kind: List',
    'items:',
    '  - metadata: { name: x }',
  ].join('\n');

  it('points at the key of a map entry and at a list item', () => {
    expect(locate(text, 'spec.list')).toEqual({ line: 5, column: 3 });
    expect(locate(text, 'spec.list[1]')).toEqual({ line: 7, column: 7 });
    expect(locate(text, 'spec.list[1]["odd key"]')).toEqual({ line: 7, column: 18 });
  });

  it('finds a field that comes through a merge key, at its definition', () => {
    expect(locate(text, 'spec.region')).toEqual({ line: 2, column: 3 });
  });

  it('a missing field points at its nearest ancestor that is present', () => {
    expect(locate(text, 'spec.list[1].missing.deeper')).toEqual({ line: 7, column: 7 });
    expect(locate(text, 'nothing')).toEqual({ line: 1, column: 1 });
  });

  it('positions count from the start of the file, across documents', () => {
    expect(locate(text, 'items[0].metadata.name', 1)).toEqual({ line: 11, column: 17 });
  });
});
