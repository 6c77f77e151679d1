/** A command line after parsing: the command, its positional arguments and its flags. */
export interface ParsedArgs {
  command: string | undefined;
  positionals: string[];
  flags: Map<string, string | true>;
}

/**
 * A command line the user got wrong: printed with the command's usage, exit status 2.
 * Not a DocketError: those match each other by brand, and this one must be told apart.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Splits `argv` (without node and the script): `--name value`, `--name=value`, boolean
 * `--name` for the names in `booleans`, `-h` for `--help`; everything else is positional.
 */
export function parseArgs(argv: readonly string[], booleans: ReadonlySet<string>): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '-h') {
      flags.set('help', true);
    } else if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      if (eq >= 0) flags.set(name, arg.slice(eq + 1));
      else if (booleans.has(name)) flags.set(name, true);
      else if (i + 1 < argv.length && !argv[i + 1].startsWith('--')) flags.set(name, argv[++i]);
      else throw new UsageError(`--${name} needs a value`);
    } else {
      positionals.push(arg);
    }
  }
  return { command: positionals.shift(), positionals, flags };
}

/** A flag's value as a whole number in [min, max], or `fallback` when absent. */
export function intFlag(args: ParsedArgs, name: string, fallback: number, min = 0, max = 2 ** 32 - 1): number {
  const raw = args.flags.get(name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (raw === true || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(raw === true ? '' : raw)}`);
  }
  return value;
}

/** A flag's string value, or `fallback`. */
export function stringFlag(args: ParsedArgs, name: string, fallback: string): string {
  const raw = args.flags.get(name);
  if (raw === true) throw new UsageError(`--${name} needs a value`);
  return raw ?? fallback;
}
