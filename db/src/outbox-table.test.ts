import { createDb, type Knex } from './connection';
import { testDatabaseUrl } from './test-support';

/**
 * What Postgres knows of an outbox table, with the schema's name taken out: its columns (type,
 * nullability, default, identity), constraints, indexes, storage options and who may do what.
 */
async function describeOutbox(db: Knex, schema: string): Promise<unknown> {
  const table = `${schema}.outbox`;
  const strip = (text: string | null) => text?.replaceAll(`${schema}.`, '<schema>.') ?? null;
  const columns = await db.raw(
    `select a.attname, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull, a.attidentity,
            a.attstorage, a.attcompression, a.attcollation::regcollation::text as collation,
            pg_get_expr(d.adbin, d.adrelid) as default
       from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
      where a.attrelid = ?::regclass and a.attnum > 0 and not a.attisdropped
      order by a.attnum`,
    [table],
  );
  // Not-null constraints (rows of their own from Postgres 18 on) are the columns' attnotnull.
  const constraints = await db.raw(
    `select conname, contype, pg_get_constraintdef(oid) as def from pg_constraint
      where conrelid = ?::regclass and contype <> 'n' order by conname`,
    [table],
  );
  const indexes = await db.raw(
    `select indexrelid::regclass::text as name, pg_get_indexdef(indexrelid) as def from pg_index
      where indrelid = ?::regclass order by 1`,
    [table],
  );
  const identity = await db.raw(
    `select s.seqtypid::regtype::text as type, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle
       from pg_sequence s where s.seqrelid = pg_get_serial_sequence(?, 'id')::regclass`,
    [table],
  );
  const relation = await db.raw(
    `select relkind, relpersistence, reloptions, relhasindex, relrowsecurity,
            (select array_agg(acl::text order by acl::text) from unnest(relacl) acl) as acl
       from pg_class where oid = ?::regclass`,
    [table],
  );
  return {
    columns: columns.rows.map((c: { default: string | null }) => ({ ...c, default: strip(c.default) })),
    constraints: constraints.rows.map((c: { conname: string; def: string }) => ({
      ...c,
      def: strip(c.def),
    })),
    indexes: indexes.rows.map((i: { name: string; def: string }) => ({
      name: strip(i.name),
      def: strip(i.def),
    })),
    identity: identity.rows,
    relation: relation.rows.map((r: { acl: string[] | null }) => ({
      ...r,
      acl: r.acl?.map((entry) => entry.replace(`imagehub_${schema}=`, 'imagehub_<schema>=')) ?? null,
    })),
  };
}

describe('the outbox tables', () => {
  let db: Knex;
  beforeAll(() => {
    db = createDb({ url: testDatabaseUrl(), applicationName: 'test', poolMax: 1 });
  });
  afterAll(() => db.destroy());

  // Two migrations make them (202612010002 image, 202612010201 auth) through one definition; what
  // they make is the same table, and exactly the table both made when each spelled out its SQL.
  it('are the same table in the auth and the image schema, as first defined', async () => {
    const image = await describeOutbox(db, 'image');
    expect(await describeOutbox(db, 'auth')).toEqual(image);
    expect(image).toMatchObject({
      columns: [
        { attname: 'id', type: 'bigint', attnotnull: true, attidentity: 'a', default: null },
        { attname: 'queue', type: 'text', attnotnull: false, attidentity: '', default: null },
        { attname: 'message', type: 'jsonb', attnotnull: true, attidentity: '', default: null },
        {
          attname: 'created_at',
          type: 'timestamp with time zone',
          attnotnull: true,
          attidentity: '',
          default: 'now()',
        },
      ],
      constraints: [{ conname: 'outbox_pkey', contype: 'p', def: 'PRIMARY KEY (id)' }],
      indexes: [
        {
          name: '<schema>.outbox_pkey',
          def: 'CREATE UNIQUE INDEX outbox_pkey ON <schema>.outbox USING btree (id)',
        },
      ],
      identity: [{ type: 'bigint', seqstart: '1', seqincrement: '1', seqcycle: false }],
      relation: [{ relkind: 'r', relpersistence: 'p', reloptions: null }],
    });
  });
});
