import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** shared/fixtures/models sits beside the repository; tests run from out/test/unit (bundled) or test/unit. */
export function fixturePath(file: string): string {
  for (let dir = __dirname, i = 0; i < 6; i++, dir = resolve(dir, '..')) {
    const p = join(dir, 'shared', 'fixtures', 'models');
    if (existsSync(p)) return join(p, file);
  }
  throw new Error(`shared/fixtures/models not found above ${__dirname}`);
}

/** A real PyTorch source of shared/fixtures/pytorch (SOURCES.md there). */
export function pytorchFixture(file: string): string {
  return join(fixturePath(''), '..', 'pytorch', file);
}
