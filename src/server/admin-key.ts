import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Where the operator's admin API key is kept after the start that created it: `<data dir>/admin-key.txt`. */
export function adminKeyFile(dataDir: string): string {
  return resolve(dataDir, 'admin-key.txt');
}

/**
 * Writes the operator's new admin key to the data folder, readable by its owner only (0600), replacing the
 * key of an earlier database: the file holds the key of the database last initialised from this folder.
 * Written whole or not at all (a temporary file renamed into place). Returns the file's path.
 */
export function saveAdminKey(dataDir: string, key: string): string {
  const file = adminKeyFile(dataDir);
  mkdirSync(resolve(dataDir), { recursive: true });
  const tmp = join(resolve(dataDir), `.admin-key.${process.pid}.tmp`);
  writeFileSync(tmp, `${key}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
  return file;
}

/** The admin key file of this data folder, when there is one. */
export function existingAdminKeyFile(dataDir: string): string | undefined {
  const file = adminKeyFile(dataDir);
  return existsSync(file) ? file : undefined;
}
