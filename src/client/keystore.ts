/**
 * client/keystore: where xsh keeps the user's private key — the OS keychain through
 * @napi-rs/keyring (the maintained successor of the archived keytar) when a secret service
 * answers, otherwise a 0600 file. The keychain module is loaded lazily so `xsh --version` and
 * `xsh status` never pay for it, and its absence (it is an optional dependency) is not an error.
 */
import { readFile, rm } from 'node:fs/promises';
import { writeSecretFile } from '../util/fs.js';

/** KeyStorage names the backend that holds a key. */
export type KeyStorage = 'keychain' | 'file';

const SERVICE = 'xport-xsh';

interface KeyringEntry {
  setPassword(p: string): void;
  getPassword(): string | null | undefined;
  deletePassword(): boolean;
}
type EntryCtor = new (service: string, account: string) => KeyringEntry;

async function loadKeyring(): Promise<EntryCtor | undefined> {
  try {
    const mod = (await import('@napi-rs/keyring')) as unknown as { Entry: EntryCtor };
    return mod.Entry;
  } catch {
    return undefined;
  }
}

/**
 * saveKey stores pem under account, preferring the keychain unless disabled. It proves the
 * keychain works by reading the key back; any failure falls back to the 0600 file.
 */
export async function saveKey(account: string, filePath: string, pem: string, opts: { useKeychain: boolean }): Promise<KeyStorage> {
  if (opts.useKeychain) {
    const Entry = await loadKeyring();
    if (Entry) {
      try {
        const e = new Entry(SERVICE, account);
        e.setPassword(pem);
        if (e.getPassword() === pem) {
          await rm(filePath, { force: true });
          return 'keychain';
        }
      } catch {
        // No secret service or kernel keyring here (headless machines, CI): use the file.
      }
    }
  }
  await writeSecretFile(filePath, pem);
  return 'file';
}

/** loadKey reads the key back from where saveKey put it; undefined if it is gone. */
export async function loadKey(account: string, filePath: string, storage: KeyStorage): Promise<string | undefined> {
  if (storage === 'keychain') {
    const Entry = await loadKeyring();
    if (!Entry) return undefined;
    try {
      return new Entry(SERVICE, account).getPassword() ?? undefined;
    } catch {
      return undefined;
    }
  }
  try {
    return await readFile(filePath, 'utf8');
  } catch {
    return undefined;
  }
}

/** deleteKey removes the key from both places. */
export async function deleteKey(account: string, filePath: string, storage: KeyStorage): Promise<void> {
  if (storage === 'keychain') {
    const Entry = await loadKeyring();
    try {
      Entry && new Entry(SERVICE, account).deletePassword();
    } catch {
      // already gone
    }
  }
  await rm(filePath, { force: true });
}
