// npm's `prepare`: builds dist/ only when it is missing. A git install (npm install
// github:...) packs a fresh clone, where dist/ is always missing, so it gets a build; `npm ci`
// in a working copy that has one stays cheap. `prepack` always rebuilds, so a packed or
// published tarball never carries a stale dist/.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../dist/index.js', import.meta.url))) execSync('npm run build', { stdio: 'inherit' });
