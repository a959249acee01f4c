import { randomUUID } from 'node:crypto';
import { eventually, RevocationList } from '@imagehub/service-kit';
import { ChannelListener } from './channel-listener';
import type { Knex } from './connection';
import { migrateLatest } from './migrator';
import { listenForRevocations, REVOCATION_CHANNEL } from './service-db';
import { createScratchDatabase } from './test-support';

/**
 * Revocations reach the subgraphs by NOTIFY (migration 202612030001) as they commit, not at their
 * next poll; and a subgraph that cannot be told (its LISTEN connection lost) polls often again.
 * On a database of its own: NOTIFY reaches every listener of the database, and the other test
 * files revoke sessions in the shared one all the time.
 */
describe('revocation notifications', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let db: Knex;
  let databaseUrl: string;
  beforeAll(async () => {
    scratch = await createScratchDatabase();
    db = scratch.db;
    databaseUrl = scratch.url;
    await migrateLatest(db);
  });
  const revoke = async (...sessionIds: string[]) => {
    await db.transaction(async (trx) => {
      for (const id of sessionIds) {
        await trx('auth.session_revocations').insert({
          session_id: id,
          expires_at: trx.raw("now() + interval '1 hour'"),
        });
      }
    });
  };
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  afterAll(async () => {
    await scratch?.drop();
  });

  it('notify once per transaction that lists sessions, and not for a statement that lists none (a sign-in)', async () => {
    const payloads: string[] = [];
    let up = false;
    const listener = new ChannelListener({
      url: databaseUrl,
      applicationName: 'test-revocation-notify-listen',
      channel: REVOCATION_CHANNEL,
      onNotify: (payload) => payloads.push(payload),
      onState: (state) => {
        up = state;
      },
    });
    listener.start();
    try {
      await eventually('LISTEN established', 5_000, () => up);
      // The shape of every sign-in's revoking part: an insert ... select that selects nothing.
      await db.raw(
        `insert into auth.session_revocations (session_id, expires_at)
         select gen_random_uuid(), now() where false on conflict (session_id) do nothing`,
      );
      await sleep(300);
      expect(payloads).toEqual([]);
      await revoke(randomUUID(), randomUUID());
      await eventually('notified', 5_000, () => payloads.length > 0);
      await sleep(300);
      expect(payloads).toEqual(['']);
    } finally {
      await listener.close();
    }
  });

  it('reach a listening subgraph at once, though its poll is a minute away', async () => {
    const list = new RevocationList({
      // As the image subgraph reads it.
      load: () => db('image.revoked_sessions').pluck('session_id'),
      pollIntervalMs: 60_000,
      listeningPollIntervalMs: 60_000,
      maxStalenessSec: 1_000,
    });
    await list.start();
    const listener = listenForRevocations({ databaseUrl }, 'test-subgraph', list);
    try {
      await eventually('LISTEN established', 5_000, () => listener.isUp);
      const session = randomUUID();
      expect(list.check(session)).toBe('ok');
      const started = Date.now();
      await revoke(session);
      await eventually('the revoked session is refused', 5_000, () => list.check(session) === 'revoked', 5);
      // Before: at the next poll (REVOCATION_POLL_INTERVAL_MS, 1 s by default; a minute here).
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      list.stop();
      await listener.close();
    }
  });

  it('fall back to the frequent poll while the LISTEN connection is lost, and back to the rare one once it returns', async () => {
    let loads = 0;
    const list = new RevocationList({
      load: async () => {
        loads += 1;
        return db('image.revoked_sessions').pluck('session_id');
      },
      pollIntervalMs: 100,
      listeningPollIntervalMs: 60_000,
      maxStalenessSec: 1_000,
    });
    await list.start();
    const listener = listenForRevocations({ databaseUrl }, 'test-dropped', list);
    const loadsIn = async (ms: number) => {
      const before = loads;
      await sleep(ms);
      return loads - before;
    };
    try {
      await eventually('LISTEN established', 5_000, () => listener.isUp);
      await sleep(100);
      expect(await loadsIn(500)).toBe(0);
      // The database ends the LISTEN connection (a restart, a cut network): revocations are not
      // announced now, so the list must be polled as often as without LISTEN.
      await db.raw('select pg_terminate_backend(pid) from pg_stat_activity where application_name = ?', [
        'test-dropped-revocations-listen',
      ]);
      await eventually('the loss is noticed', 5_000, () => !listener.isUp, 5);
      expect(list.currentPollIntervalMs).toBe(100);
      const session = randomUUID();
      await revoke(session);
      // Found by the poll (or the reload as LISTEN comes back), well before the rare poll.
      await eventually('the revoked session is refused', 3_000, () => list.check(session) === 'revoked', 5);
      // It reconnects after a second and goes quiet again.
      await eventually('LISTEN back', 5_000, () => listener.isUp);
      expect(list.currentPollIntervalMs).toBe(60_000);
      await sleep(100);
      expect(await loadsIn(500)).toBe(0);
    } finally {
      list.stop();
      await listener.close();
    }
  });
});
