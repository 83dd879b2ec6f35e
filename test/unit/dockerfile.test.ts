// The Dockerfile checked against the repository, on any machine (where
// podman works, testbed/scripts/containers.sh also builds it for real and
// test/integration/image.test.ts runs the result): what it copies exists and
// is in the build context, the entrypoint is the bundle package.json's
// bundle script writes (the same file `awi dev` and the benches run), the
// final stage runs as a numeric non-root user and carries nothing but the
// bundle and package.json.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { projectRoot as root } from '../../testbed/harness/paths.js';
import { CONTROLLER_ENTRY, CONTROLLER_NODE_FLAGS } from '../../src/cli/node-flags.js';

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  image: string;
  name?: string;
  index: number;
  instructions: Instruction[];
}

/** Instructions of a Dockerfile: comments dropped, continuation lines joined. */
function parseInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trimEnd();
    if (!pending && (line.trim() === '' || line.trim().startsWith('#'))) return;
    if (!pending) startLine = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const full = (pending + line).trim();
    pending = '';
    const m = /^(\w+)\s+([\s\S]*)$/.exec(full);
    if (m) out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: startLine });
  });
  return out;
}

function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of parseInstructions(text)) {
    if (ins.op === 'ARG' && stages.length === 0) {
      const [k, v = ''] = ins.args.split('=');
      args[k!] = v;
    } else if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args)!;
      const image = m[1]!.replace(/\$\{(\w+)\}/g, (_, k: string) => args[k] ?? '');
      stages.push({ image, ...(m[2] ? { name: m[2] } : {}), index: stages.length, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return { args, stages };
}

/** COPY [--from=x] src... dest */
function parseCopy(args: string): { from?: string; sources: string[]; dest: string } {
  const words = args.split(/\s+/);
  const flags = words.filter((w) => w.startsWith('--'));
  const rest = words.filter((w) => !w.startsWith('--'));
  const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
  return { ...(from ? { from } : {}), sources: rest.slice(0, -1), dest: rest.at(-1)! };
}

const execForm = (args: string): string[] => JSON.parse(args) as string[];

// .dockerignore semantics (moby patternmatcher): the last pattern that matches
// the path or one of its parent directories decides; "!" re-includes.
function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function dockerignored(patterns: string[], file: string): boolean {
  const parts = file.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let excluded = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = path.posix.normalize((negated ? raw.slice(1) : raw).trim()).replace(/\/$/, '');
    if (candidates.some((c) => globToRegExp(pattern).test(c))) excluded = !negated;
  }
  return excluded;
}

const dockerfile = parseDockerfile(readFileSync(path.join(root, 'Dockerfile'), 'utf8'));
const ignorePatterns = readFileSync(path.join(root, '.dockerignore'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const stages = dockerfile.stages;
const final = stages.at(-1)!;
const ops = (stage: Stage, op: string) => stage.instructions.filter((i) => i.op === op);
const stageByName = (name: string) => stages.find((s) => s.name === name);

describe('.dockerignore', () => {
  it('keeps the build context to what the build needs', () => {
    for (const file of ['package.json', 'package-lock.json', 'tsconfig.json', 'src/cli/main.ts']) {
      expect({ file, ignored: dockerignored(ignorePatterns, file) }).toEqual({ file, ignored: false });
    }
    for (const file of ['node_modules/yaml/package.json', 'dist/src/cli/main.js', '.cache/bin/awi-controlplane', '.git/HEAD', 'test/unit/dockerfile.test.ts', 'deploy/kustomization.yaml']) {
      expect({ file, ignored: dockerignored(ignorePatterns, file) }).toEqual({ file, ignored: true });
    }
  });
});

describe('Dockerfile', () => {
  it('is multi-stage on a current Node LTS image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.image).toMatch(/^node:(22|24)(\.\d+)*-(bookworm-slim|slim|alpine[\d.]*)$/);
  });

  it('copies only files that exist and are in the build context, and only from earlier stages', () => {
    for (const stage of stages) {
      for (const ins of ops(stage, 'COPY')) {
        const copy = parseCopy(ins.args);
        if (copy.from) {
          const source = stageByName(copy.from);
          expect({ line: ins.line, from: copy.from, earlier: !!source && source.index < stage.index }).toEqual({ line: ins.line, from: copy.from, earlier: true });
          continue;
        }
        for (const src of copy.sources) {
          const rel = path.posix.normalize(src).replace(/\/$/, '');
          expect({ line: ins.line, src, exists: existsSync(path.join(root, rel)), inContext: !dockerignored(ignorePatterns, rel) })
            .toEqual({ line: ins.line, src, exists: true, inContext: true });
        }
      }
    }
  });

  it('builds with npm ci, type-checks with tsc and bundles with npm run bundle in a build stage', () => {
    const build = stages.find((s) => ops(s, 'RUN').some((r) => /\bnpm run bundle\b/.test(r.args)));
    expect(build).toBeDefined();
    expect(build!.index).toBeLessThan(final.index);
    expect(ops(build!, 'RUN').some((r) => /\bnpm ci\b/.test(r.args))).toBe(true);
    expect(ops(build!, 'RUN').some((r) => /\btsc\b[^&]*--noEmit/.test(r.args))).toBe(true);
  });

  it('runs the bundle that npm run bundle writes (CONTROLLER_ENTRY), copied from the build stage', () => {
    // package.json's bundle script writes the file the image, `awi dev` and the benches run.
    const bundleScript = (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.bundle!;
    expect(bundleScript).toMatch(/^esbuild src\/cli\/main\.ts --bundle /);
    expect(bundleScript).toContain(`--outfile=${CONTROLLER_ENTRY} `);
    const entrypoint = execForm(ops(final, 'ENTRYPOINT').at(-1)!.args);
    // The controller's Node flags (docs/memory.md), the same as `awi dev` passes.
    expect(entrypoint).toEqual(['node', ...CONTROLLER_NODE_FLAGS, CONTROLLER_ENTRY]);
    expect(execForm(ops(final, 'CMD').at(-1)!.args)).toEqual(['controller', '--config', '/etc/awi/config.yaml']);

    // WORKDIR + the copy from the build stage must put the bundle where the entrypoint looks.
    const workdir = ops(final, 'WORKDIR').at(-1)!.args;
    const entryAbs = path.posix.join(workdir, entrypoint.at(-1)!);
    const build = stages.find((s) => ops(s, 'RUN').some((r) => /\bnpm run bundle\b/.test(r.args)))!;
    const buildWorkdir = ops(build, 'WORKDIR').at(-1)!.args;
    const provides = ops(final, 'COPY').map((i) => parseCopy(i.args)).some((c) => {
      if (c.from !== build.name || c.sources.length !== 1) return false;
      const from = path.posix.resolve(buildWorkdir, c.sources[0]!);
      const to = c.dest.endsWith('/') ? path.posix.join(path.posix.resolve(workdir, c.dest), path.posix.basename(from)) : path.posix.resolve(workdir, c.dest);
      return from === path.posix.join(buildWorkdir, CONTROLLER_ENTRY) && to === entryAbs;
    });
    expect(provides).toBe(true);
  });

  it('ships package.json in the final stage: `awi --version` reads it', () => {
    expect(ops(final, 'COPY').map((i) => parseCopy(i.args)).some((c) => !c.from && c.sources.includes('package.json'))).toBe(true);
  });

  it('runs as a numeric non-root user', () => {
    const user = ops(final, 'USER').at(-1)?.args ?? '';
    expect(user).toMatch(/^\d+(:\d+)?$/);
    expect(Number(user.split(':')[0])).toBeGreaterThan(0);
  });

  it('has no node_modules and no dev dependencies in the final stage: the bundle is all it runs', () => {
    // Nothing is installed in the final stage itself...
    for (const run of ops(final, 'RUN')) expect(run.args).not.toMatch(/\bnpm (ci|install|i)\b|\byarn\b|\bpnpm\b/);
    // ...nothing is copied into it but package.json and the bundle.
    const copied = ops(final, 'COPY').flatMap((i) => parseCopy(i.args).sources);
    expect(copied.filter((s) => s.includes('node_modules'))).toEqual([]);
    expect(copied.sort()).toEqual([path.posix.join('/src', CONTROLLER_ENTRY), 'package.json'].sort());
  });

  it('writes nothing at runtime: no VOLUME (the Deployment mounts /tmp), no npm in the entrypoint', () => {
    expect(ops(final, 'VOLUME')).toEqual([]);
    expect(execForm(ops(final, 'ENTRYPOINT').at(-1)!.args)[0]).toBe('node');
  });
});
