import type { ApolloServerPlugin } from '@apollo/server';
import {
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLInputType,
  type GraphQLSchema,
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
  typeFromAST,
} from 'graphql';
import { ErrorCode } from './errors';

/**
 * How often each variable is referenced when the operation executes: a fragment spread twice
 * counts its variables twice. Runs after validation, so every fragment exists and none is cyclic.
 */
export function variableUses(
  document: DocumentNode,
  operation: OperationDefinitionNode,
): Map<string, number> {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const uses = new Map<string, number>();
  const count = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) count(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const { kind } = node as { kind?: string };
    if (kind === Kind.VARIABLE) {
      const name = (node as { name: { value: string } }).name.value;
      uses.set(name, (uses.get(name) ?? 0) + 1);
      return;
    }
    if (kind === Kind.FRAGMENT_SPREAD) {
      const spread = node as { name: { value: string }; directives?: unknown };
      count(spread.directives);
      count(fragments.get(spread.name.value)?.selectionSet);
      return;
    }
    for (const [key, value] of Object.entries(node)) if (key !== 'loc') count(value);
  };
  count((operation as { selectionSet: SelectionSetNode }).selectionSet);
  return uses;
}

function holdsUpload(value: unknown, isUpload: (value: unknown) => boolean, depth = 0): boolean {
  if (isUpload(value)) return true;
  if (depth > 8 || value === null || typeof value !== 'object') return false;
  return Object.values(value).some((item) => holdsUpload(item, isUpload, depth + 1));
}

/**
 * Where a file in `value` sits at a place `type` does not make an Upload, that place's type (e.g.
 * "ID!"). graphql-js would refuse it too, but with the file object printed into the message: the
 * stream's internals, in the client's face.
 */
export function fileOutsideUpload(
  type: GraphQLInputType,
  value: unknown,
  isUpload: (value: unknown) => boolean,
  depth = 0,
): string | undefined {
  if (isUpload(value)) return getNamedType(type).name === 'Upload' ? undefined : String(type);
  if (depth > 8 || value === null || typeof value !== 'object') return undefined;
  const nullable = isNonNullType(type) ? type.ofType : type;
  if (isListType(nullable)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      const found = fileOutsideUpload(nullable.ofType, item, isUpload, depth + 1);
      if (found) return found;
    }
  } else if (isInputObjectType(nullable)) {
    const fields = nullable.getFields();
    for (const [key, item] of Object.entries(value)) {
      const field = fields[key];
      const found = field && fileOutsideUpload(field.type, item, isUpload, depth + 1);
      if (found) return found;
    }
  }
  // Anything else is the wrong shape for its type, which graphql-js reports in its own words.
  return undefined;
}

function refuseFileOutsideUpload(
  schema: GraphQLSchema,
  operation: OperationDefinitionNode,
  variables: [name: string, value: unknown][],
  isUpload: (value: unknown) => boolean,
): void {
  for (const definition of operation.variableDefinitions ?? []) {
    const name = definition.variable.name.value;
    const entry = variables.find(([variable]) => variable === name);
    const type = entry && (typeFromAST(schema, definition.type) as GraphQLInputType | undefined);
    const misplaced = type && fileOutsideUpload(type, entry[1], isUpload);
    if (misplaced) {
      throw new GraphQLError(
        `Variable $${name.slice(0, 64)} cannot take a file there: its type is ${misplaced}, not Upload`,
        { extensions: { code: ErrorCode.BAD_USER_INPUT, field: 'file', http: { status: 400 } } },
      );
    }
  }
}

/**
 * A file is one stream and can feed one field: an operation that hands the same upload variable
 * to two fields (`a: uploadImage(file: $f) b: uploadImage(file: $f)`) would run the first, store
 * its image, and fail the second. Refused before anything runs, so nothing is written.
 */
export function singleUseUploads<TContext extends object>(
  isUpload: (value: unknown) => boolean,
): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, request, schema }) {
          if (!operation) return;
          // Most operations carry no file: then there is nothing to count (walking the document is not free).
          const withFiles = Object.entries(request.variables ?? {}).filter(([, value]) =>
            holdsUpload(value, isUpload),
          );
          if (withFiles.length === 0) return;
          refuseFileOutsideUpload(schema, operation, withFiles, isUpload);
          const uses = variableUses(document, operation);
          for (const [name] of withFiles) {
            if ((uses.get(name) ?? 0) > 1) {
              throw new GraphQLError(
                `The file in $${name.slice(0, 64)} is used by more than one field; a file can be used once`,
                { extensions: { code: ErrorCode.BAD_USER_INPUT, field: 'file', http: { status: 400 } } },
              );
            }
          }
        },
      };
    },
  };
}
