import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import laurelResidualPy from '../python/laurel_residual.py';
import { FileWriteError, writeFileAtomic } from './fsAtomic';

/** laurel_residual.py beside the model: written when missing, updated when it is an older copy of ours, else refused. */
export function writeCompanion(dir: string): void {
  const path = join(dir, 'laurel_residual.py');
  if (existsSync(path)) {
    const now = readFileSync(path, 'utf8');
    if (now === laurelResidualPy) return;
    const ours = now.split('\n')[0] === laurelResidualPy.split('\n')[0];
    if (!ours) throw new FileWriteError(`${path} exists and is not LAuReL Studio's laurel_residual.py; move it away (the applied model imports LaurelResidual from it); nothing was written`, 'EEXIST');
  }
  writeFileAtomic(path, laurelResidualPy);
}
