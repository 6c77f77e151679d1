import { defineScript } from '../connection.js';
import { ADD } from './add.js';
import { INSPECT } from './inspect.js';
import { MANAGE } from './manage.js';
import { BURY, FAIL, RELEASE, TOUCH } from './settle.js';
import { TAKE } from './take.js';

/** Every script docket runs on Redis, by what it does. @internal */
export const SCRIPTS = {
  add: defineScript('add', ADD),
  take: defineScript('take', TAKE),
  release: defineScript('release', RELEASE),
  fail: defineScript('fail', FAIL),
  bury: defineScript('bury', BURY),
  touch: defineScript('touch', TOUCH),
  manage: defineScript('manage', MANAGE),
  inspect: defineScript('inspect', INSPECT),
} as const;
