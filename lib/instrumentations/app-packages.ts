import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * Where the application's own packages are found: its main script's folder, then the working directory. A driver
 * counts as installed when it resolves from there, not from this library's folder: in a monorepo or with a global
 * install, the library may see packages the app does not use.
 */
export function appRoots(): string[] {
  const roots = process.argv[1] ? [dirname(process.argv[1])] : [];
  return [...roots, process.cwd()];
}

/** Resolves `name` as the application would, or returns undefined when it is not installed for it. */
export function resolveFromApp(name: string, roots: readonly string[] = appRoots()): string | undefined {
  for (const root of roots) {
    const appRequire = createRequire(join(root, 'noop.js'));
    for (const request of [name, `${name}/package.json`]) {
      try {
        return appRequire.resolve(request);
      } catch {
        // not resolvable by this request from this root; packages whose exports hide one may show the other
      }
    }
  }
  return undefined;
}

/** The major version of a package as the application resolves it, or undefined when it is not installed. */
export function appPackageMajor(name: string, roots: readonly string[] = appRoots()): number | undefined {
  const manifest = resolveFromApp(`${name}/package.json`, roots);
  if (!manifest) return undefined;
  try {
    const { version } = createRequire(manifest)(manifest) as { version?: string };
    const major = Number.parseInt(version ?? '', 10);
    return Number.isNaN(major) ? undefined : major;
  } catch {
    return undefined;
  }
}
