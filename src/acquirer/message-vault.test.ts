import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { migrate } from '../infra/db/index.js';
import { KeyEncryptionKeys } from '../infra/keys/kek.js';
import { packMessage } from '../protocol/iso8583/iso8583.js';
import { createTestEnv, type TestEnv } from '../../test/helpers/env.js';
import { MessageVault } from './message-vault.js';

let env: TestEnv;
let vault: MessageVault;
const token = '4895370012345678';
const message = packMessage({ mti: '0400', fields: { 2: token, 3: '000000', 4: '000000001250', 11: '000001' } });

before(async () => {
  env = await createTestEnv();
  await migrate(env.db, [{ module: 'infra', dir: new URL('../infra/migrations/', import.meta.url) }, { module: 'acquirer', dir: new URL('./migrations/', import.meta.url) }]);
  vault = new MessageVault(env.db, KeyEncryptionKeys.random());
});
after(async () => {
  await env.close();
});

describe('the acquirer keeps its messages sealed (issue 16, point 7)', () => {
  it('seals a message (no token number in it) and opens it for its own row only', async () => {
    const sealed = await vault.seal(message, 'reversals.message', 'rev_a');
    assert.equal(sealed[0], 0x01);
    assert.equal(sealed.includes(Buffer.from(token)), false);
    assert.deepEqual(Buffer.from(await vault.open(sealed, 'reversals.message', 'rev_a')), Buffer.from(message));
    await assert.rejects(vault.open(sealed, 'reversals.message', 'rev_b'));
    await assert.rejects(vault.open(sealed, 'refunds.message', 'rev_a'));
  });

  it('reads a message stored in clear before sealing began, and refuses bytes that are neither', async () => {
    assert.equal(message[0], 0x30);
    assert.deepEqual(Buffer.from(await vault.open(message, 'authorizations.forwarded', 'auth_old')), Buffer.from(message));
    await assert.rejects(vault.open(Buffer.from([0x02, 1, 2, 3]), 'authorizations.forwarded', 'auth_x'), /neither a sealed nor an ISO 8583 message/);
    assert.equal(await vault.openNullable(null, 'authorizations.response', 'auth_x'), null);
  });

  it('concurrent first seals of a process share one data key', async () => {
    const other = new MessageVault(env.db, KeyEncryptionKeys.random());
    await env.db.query('DELETE FROM acquirer.data_keys');
    await Promise.all(Array.from({ length: 8 }, (_, i) => other.seal(message, 'refunds.message', `rfd_${i}`)));
    assert.equal((await env.db.query<{ n: number }>('SELECT count(*)::int AS n FROM acquirer.data_keys')).rows[0]!.n, 1);
  });

  it('a restarted process, once initialised, seals and opens inside a transaction (the embedded database has one connection)', async () => {
    await env.db.query('DELETE FROM acquirer.data_keys');
    const kek = KeyEncryptionKeys.random();
    const sealed = await new MessageVault(env.db, kek).seal(message, 'reversals.message', 'rev_r');
    // A new process: nothing cached. Without init() its first key read waits for the very transaction it is in.
    const restarted = new MessageVault(env.db, kek);
    await restarted.init();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('the transaction never finished: a key was read outside it')), 60_000);
    });
    try {
      const [opened, resealed] = await Promise.race([
        env.db.tx(async () => [await restarted.open(sealed, 'reversals.message', 'rev_r'), await restarted.seal(message, 'refunds.message', 'rfd_r')] as const),
        deadline,
      ]);
      assert.deepEqual(Buffer.from(opened), Buffer.from(message));
      assert.deepEqual(Buffer.from(await restarted.open(resealed, 'refunds.message', 'rfd_r')), Buffer.from(message));
    } finally {
      clearTimeout(timer);
    }
  });
});
