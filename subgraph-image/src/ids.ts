const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids that are not uuids cannot exist; checking first keeps them away from Postgres' cast errors. */
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID.test(value);
