import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * shared/fixtures/models sits beside the repository; test/fixtures/models holds the few kept in the
 * repository itself. Tests run from out/test/unit (bundled) or test/unit.
 */
export function fixturePath(file: string): string {
  let shared: string | undefined;
  for (let dir = __dirname, i = 0; i < 6; i++, dir = resolve(dir, '..')) {
    const own = join(dir, 'test', 'fixtures', 'models', file);
    if (existsSync(own)) return own;
    const p = join(dir, 'shared', 'fixtures', 'models');
    if (!shared && existsSync(p)) shared = join(p, file);
  }
  if (shared) return shared;
  throw new Error(`shared/fixtures/models not found above ${__dirname}`);
}

/** A real PyTorch source of shared/fixtures/pytorch (SOURCES.md there). */
export function pytorchFixture(file: string): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = resolve(dir, '..')) {
    const p = join(dir, 'shared', 'fixtures', 'pytorch');
    if (existsSync(p)) return join(p, file);
  }
  throw new Error(`shared/fixtures/pytorch not found above ${__dirname}`);
}

/** examples/ sits in the repository; tests run from out/test/unit (bundled) or test/unit. */
export function examplePath(file: string): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = resolve(dir, '..')) {
    const p = join(dir, 'examples', file);
    if (existsSync(p)) return p;
  }
  throw new Error(`examples/${file} not found above ${__dirname}`);
}
