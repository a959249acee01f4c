import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'graphql';

/** The SDL sits beside this file; a container build copies it next to the compiled JavaScript. */
export const typeDefs = parse(readFileSync(path.join(__dirname, 'schema.graphql'), 'utf8'));
