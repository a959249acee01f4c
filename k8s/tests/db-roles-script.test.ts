/**
 * k8s/base/db-roles.sh, the role setup the migrations Job runs as the superuser before migrating,
 * run with psql against a scratch database the way the Job runs it: then the migrations run as the
 * migrator it made, and each subgraph login reaches its own schema only.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { createScratchDatabase } from '@imagehub/db/test-support';
import { createDb } from '../../db/src/connection';
import { migrateLatest } from '../../db/src/migrator';
import { K8S_DIR } from './support';

const SCRIPT = path.join(K8S_DIR, 'base/db-roles.sh');
const LOGINS = ['imagehub_migrator', 'imagehub_auth_login', 'imagehub_image_login'];

describe('k8s/base/db-roles.sh', () => {
  it('creates the login roles idempotently; the migrator migrates and each subgraph sees its own schema', async () => {
    const scratch = await createScratchDatabase();
    const server = new URL(scratch.url);
    const database = server.pathname.slice(1);
    const passwords = {
      MIGRATOR_DB_PASSWORD: randomBytes(12).toString('hex'),
      AUTH_DB_PASSWORD: randomBytes(12).toString('hex'),
      IMAGE_DB_PASSWORD: randomBytes(12).toString('hex'),
    };
    const runScript = () =>
      execFileSync('/bin/sh', [SCRIPT], {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          PGHOST: server.hostname,
          PGPORT: server.port || '5432',
          PGUSER: decodeURIComponent(server.username),
          PGPASSWORD: decodeURIComponent(server.password),
          PGDATABASE: database,
          POSTGRES_DB: database,
          ...passwords,
        },
      });
    const as = (role: string, password: string) => {
      const url = new URL(scratch.url);
      url.username = role;
      url.password = password;
      return createDb({ url: url.toString(), applicationName: 'roles-script-test', poolMax: 1 });
    };
    const migrator = as('imagehub_migrator', passwords.MIGRATOR_DB_PASSWORD);
    const auth = as('imagehub_auth_login', passwords.AUTH_DB_PASSWORD);
    const image = as('imagehub_image_login', passwords.IMAGE_DB_PASSWORD);
    try {
      expect(runScript()).toContain('database roles are in place');
      // Every deploy runs it again.
      expect(runScript()).toContain('database roles are in place');

      expect((await migrateLatest(migrator)).length).toBeGreaterThan(0);
      await migrator.raw('create table auth.script_probe (id int)');
      await migrator.raw('create table image.script_probe (id int)');

      await auth('auth.script_probe').insert({ id: 1 });
      await image('image.script_probe').insert({ id: 2 });
      await expect(auth('image.script_probe').select('id')).rejects.toMatchObject({ code: '42501' });
      await expect(image('auth.script_probe').select('id')).rejects.toMatchObject({ code: '42501' });
      await expect(auth.raw('create table auth.sneaky (id int)')).rejects.toMatchObject({ code: '42501' });
      const owner = await scratch.db.raw(
        'select pg_get_userbyid(datdba) as owner from pg_database where datname = current_database()',
      );
      expect(owner.rows[0].owner).toBe('imagehub_migrator');
    } finally {
      await Promise.all([migrator.destroy(), auth.destroy(), image.destroy()]);
      await scratch.drop();
    }
  });

  afterAll(async () => {
    // The login roles are cluster-wide: leave the test server as other test files expect it. Other
    // databases may still hold grants to them (a parallel run of this file), so drop only when free.
    const scratch = await createScratchDatabase();
    try {
      for (const role of LOGINS) {
        await scratch.db.raw(`drop role if exists ${role}`).catch(() => undefined);
      }
    } finally {
      await scratch.drop();
    }
  });
});
