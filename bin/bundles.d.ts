/** Types of bin/bundles.js (plain CommonJS, so bin/nightshift.js runs it before any TypeScript loader). */
import type { BuildOptions } from 'esbuild';

export type BundleName = 'runner' | 'cli';

/**
 * The path of bundle `name` of the checkout `root` (default this repository), cached under `cacheDir`
 * (default <root>/.nightshift/bundles), built first if missing or stale.
 */
export function bundledFile(name: BundleName, options?: { root?: string; cacheDir?: string }): Promise<{ file: string; built: boolean }>;
/** The esbuild options of bundle `name` writing `outfile`. */
export function buildOptions(name: BundleName, outfile: string, root?: string): BuildOptions;
export const defaultCacheDir: string;
