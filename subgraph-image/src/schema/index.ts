import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';

/** The SDL file is the source of truth; in a container it is copied beside the compiled code. */
export const typeDefs = parse(readFileSync(path.join(__dirname, 'schema.graphql'), 'utf8'));
