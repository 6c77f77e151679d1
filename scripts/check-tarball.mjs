#!/usr/bin/env node
// Packs docket as `npm publish` would, installs the tarball into a scratch project outside
// the repository, and uses it as a user would: every subpath in package.json `exports`
// imported from ESM and required from CommonJS (the same names from both), and every bin
// run. Read from package.json, so a new subpath or bin is covered (or refused) at once.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'docket-tarball-'));

function npm(args, cwd) {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

function fail(message) {
  throw new Error(`check-tarball: ${message}`);
}

/** Runs `node <file>` in the scratch project; returns stdout, throws with stderr on failure. */
function node(file, source, args = []) {
  writeFileSync(join(scratch, 'project', file), source);
  const result = spawnSync(process.execPath, [file, ...args], { cwd: join(scratch, 'project'), encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) fail(`node ${file} exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

// A smoke run per bin, using the installed package only. A bin without one is refused,
// so a new bin cannot ship untried.
const binSmoke = {
  'docket-journal': (run) => {
    node(
      'make-journal.mjs',
      `
      import { openQueue, journalOf } from 'docket/journal';
      const queue = await openQueue(process.argv[2]);
      await queue.add({ n: 1 });
      await queue.add({ n: 2 }, { delay: 60_000 });
      await journalOf(queue).close();
    `,
      ['smoke.journal'],
    );
    const verify = run(['verify', 'smoke.journal']);
    if (verify.status !== 0) fail(`docket-journal verify exited ${verify.status}: ${verify.stdout}${verify.stderr}`);
    const stats = run(['stats', 'smoke.journal', '--json']);
    if (stats.status !== 0) fail(`docket-journal stats exited ${stats.status}: ${stats.stderr}`);
    const summary = JSON.parse(stats.stdout);
    if (summary.liveJobs !== 2 || summary.states.delayed !== 1) fail(`docket-journal stats read ${stats.stdout}`);
    return `verify ok, stats read ${summary.liveJobs} jobs`;
  },
  docket: (run) => {
    const help = run(['stats', '--help']);
    if (help.status !== 0 || !help.stdout.startsWith('usage: docket stats')) fail(`docket stats --help exited ${help.status}: ${help.stdout}${help.stderr}`);
    // No server in the scratch project: a refused address must be named, with status 1.
    const refused = run(['stats', '--url', 'beanstalk://127.0.0.1:1']);
    if (refused.status !== 1 || !refused.stderr.includes('cannot connect to 127.0.0.1:1'))
      fail(`docket stats against a closed port exited ${refused.status}: ${refused.stderr}`);
    return 'help ok, a refused address named';
  },
};

try {
  // Pack: prepack builds dist/ first, so this is exactly what `npm publish` uploads.
  // The build's own output comes first on stdout; npm's JSON report is the last thing.
  const packOutput = npm(['pack', '--json', '--pack-destination', scratch], root);
  const [packed] = JSON.parse(packOutput.slice(packOutput.search(/^\[$/m)));
  const files = packed.files.map((file) => file.path);
  console.log(
    `tarball ${packed.filename}: ${(packed.size / 1024).toFixed(1)} KiB packed, ${(packed.unpackedSize / 1024).toFixed(1)} KiB unpacked, ${files.length} files`,
  );
  const unexpected = files.filter((path) => !/^dist\/.+\.(?:c?js|d\.c?ts)$/.test(path) && !['package.json', 'README.md', 'LICENSE'].includes(path));
  if (unexpected.length > 0) fail(`the tarball carries files nobody imports: ${unexpected.join(', ')}`);

  // Install it where nothing of the repository can be resolved by accident.
  mkdirSync(join(scratch, 'project'));
  writeFileSync(join(scratch, 'project', 'package.json'), JSON.stringify({ name: 'scratch', private: true }));
  npm(['install', '--no-audit', '--no-fund', '--loglevel=error', join(scratch, packed.filename)], join(scratch, 'project'));
  // A subpath built on an optional peer (docket/redis on redis) is used as its users do:
  // with that peer installed beside docket.
  const optionalPeers = Object.entries(manifest.peerDependenciesMeta ?? {})
    .filter(([, meta]) => meta.optional === true)
    .map(([name]) => `${name}@${manifest.peerDependencies[name]}`);
  if (optionalPeers.length > 0) npm(['install', '--no-audit', '--no-fund', '--loglevel=error', ...optionalPeers], join(scratch, 'project'));

  const subpaths = Object.keys(manifest.exports).map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`));
  const esm = JSON.parse(
    node(
      'imports.mjs',
      `
      const out = {};
      for (const spec of ${JSON.stringify(subpaths)}) {
        const mod = spec.endsWith('.json') ? await import(spec, { with: { type: 'json' } }) : await import(spec);
        out[spec] = Object.keys(mod).filter((name) => name !== 'default' || spec.endsWith('.json')).sort();
      }
      console.log(JSON.stringify(out));
    `,
    ),
  );
  const cjs = JSON.parse(
    node(
      'requires.cjs',
      `
      const out = {};
      for (const spec of ${JSON.stringify(subpaths)}) out[spec] = spec.endsWith('.json') ? ['default'] : Object.keys(require(spec)).sort();
      console.log(JSON.stringify(out));
    `,
    ),
  );
  for (const spec of subpaths) {
    if (esm[spec].length === 0) fail(`import('${spec}') has no exports`);
    if (JSON.stringify(esm[spec]) !== JSON.stringify(cjs[spec])) {
      fail(`${spec} exports differ between ESM and CommonJS:\n  import:  ${esm[spec].join(', ')}\n  require: ${cjs[spec].join(', ')}`);
    }
    console.log(`  ${spec}: ${esm[spec].length} exports from import and require`);
  }

  for (const bin of Object.keys(manifest.bin ?? {})) {
    const smoke = binSmoke[bin];
    if (smoke === undefined) fail(`bin ${bin} has no smoke run in scripts/check-tarball.mjs`);
    const run = (args) =>
      spawnSync(join(scratch, 'project', 'node_modules', '.bin', bin), args, { cwd: join(scratch, 'project'), encoding: 'utf8', timeout: 60_000 });
    console.log(`  bin ${bin}: ${smoke(run)}`);
  }
  console.log('check-tarball: the installed tarball works');
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
