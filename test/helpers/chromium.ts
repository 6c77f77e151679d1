/**
 * Headless Chromium for the browser suites and the screenshot script: the system's
 * binary driven by playwright-core (no browser download), in a fresh profile each time.
 * No test-runner imports.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { requireBinary } from './system-binary.js';

/** The Chromium binary, or undefined (one line printed) on a machine without it; required under CI=true. */
export function requireChromium(skipped: string): string | undefined {
  return requireBinary({ name: 'chromium', install: 'apt-get install -y chromium', skipped });
}

export interface RunningBrowser {
  readonly context: BrowserContext;
  /** Closes the browser and removes its profile. */
  close(): Promise<void>;
}

// No network beyond loopback, no updates, no sync, no GPU: a quiet, reproducible browser.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(executablePath: string, viewport = { width: 1280, height: 800 }): Promise<RunningBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'docket-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath, args: ARGS, headless: true, viewport });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
