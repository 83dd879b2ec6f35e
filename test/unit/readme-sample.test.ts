import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { replaceSample, SAMPLE_END, SAMPLE_START, sampleOf } from '../../testbed/readme-sample.js';
import { projectRoot } from '../../testbed/harness/paths.js';

describe('README local-run sample (npm run readme-sample)', () => {
  const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');

  it('README.md holds the markers the script replaces between, once each and in order, around one fenced block', () => {
    expect(readme.split(SAMPLE_START)).toHaveLength(2);
    expect(readme.split(SAMPLE_END)).toHaveLength(2);
    const block = readme.slice(readme.indexOf(SAMPLE_START) + SAMPLE_START.length, readme.indexOf(SAMPLE_END));
    expect(block).toMatch(/^\n```\n[\s\S]+\n```\n$/);
    // The script can rewrite it: replacing is idempotent on the markers.
    expect(replaceSample(replaceSample(readme, 'a\nb'), 'a\nb')).toBe(replaceSample(readme, 'a\nb'));
  });

  it('replaces only the block, and refuses a README without the markers', () => {
    const doc = `intro\n${SAMPLE_START}\n\`\`\`\nold\n\`\`\`\n${SAMPLE_END}\nrest\n`;
    expect(replaceSample(doc, 'new\n')).toBe(`intro\n${SAMPLE_START}\n\`\`\`\nnew\n\`\`\`\n${SAMPLE_END}\nrest\n`);
    expect(() => replaceSample('no markers', 'x')).toThrow(/must hold exactly one/);
    expect(() => replaceSample(`${SAMPLE_END}\n${SAMPLE_START}`, 'x')).toThrow(/must hold exactly one/);
  });

  it('keeps the run from its header on and hides the checkout path', () => {
    expect(sampleOf('setup: ready\nawi local run on Node v24 (/home/u/awi/.cache/node)\n  log: /home/u/awi/x.log\n', '/home/u/awi'))
      .toBe('awi local run on Node v24 (/path/to/awi/.cache/node)\n  log: /path/to/awi/x.log\n');
    expect(() => sampleOf('setup failed', '/r')).toThrow(/no header/);
  });
});
