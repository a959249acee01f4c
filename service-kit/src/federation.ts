import {
  type ASTVisitor,
  GraphQLError,
  type GraphQLFieldResolver,
  type GraphQLNamedType,
  type GraphQLSchema,
  isUnionType,
  Kind,
  type ValidationContext,
} from 'graphql';
import { badUserInput } from './errors';

/**
 * The fields of an entity's simple `@key`s (`@key(fields: "id")`): a representation must carry
 * one of them. Compound keys (`"id owner { id }"`) are left to the reference resolver.
 */
function simpleKeys(type: GraphQLNamedType): string[][] {
  const nodes = [type.astNode, ...(type.extensionASTNodes ?? [])];
  return nodes.flatMap((node) =>
    (node?.directives ?? [])
      .filter((directive) => directive.name.value === 'key')
      .flatMap((directive) => {
        const fields = directive.arguments?.find((arg) => arg.name.value === 'fields')?.value;
        if (fields?.kind !== Kind.STRING || /[{}]/.test(fields.value)) return [];
        return [fields.value.trim().split(/[\s,]+/)];
      }),
  );
}

const isKeyValue = (value: unknown) => typeof value === 'string' || typeof value === 'number';

/**
 * `_entities` trusts its representations: `[{}]`, `[null]`, a `__typename` that is no entity or a
 * representation without its key makes @apollo/subgraph or a reference resolver throw a plain Error
 * (an INTERNAL_SERVER_ERROR). The gateway never sends such things, so whoever does gets
 * BAD_USER_INPUT before any reference resolver runs.
 */
export function guardEntityRepresentations(schema: GraphQLSchema): GraphQLSchema {
  const field = schema.getQueryType()?.getFields()._entities;
  const entityUnion = schema.getType('_Entity');
  if (!field || !isUnionType(entityUnion)) return schema;
  const keysByType = new Map(entityUnion.getTypes().map((type) => [type.name, simpleKeys(type)]));
  const wellFormed = (r: unknown): boolean => {
    if (typeof r !== 'object' || r === null) return false;
    const representation = r as Record<string, unknown>;
    const keys = typeof representation.__typename === 'string' && keysByType.get(representation.__typename);
    if (!keys) return false;
    return (
      keys.length === 0 || keys.some((fields) => fields.every((field) => isKeyValue(representation[field])))
    );
  };
  const resolve = field.resolve as GraphQLFieldResolver<unknown, unknown>;
  field.resolve = (source, args: { representations?: unknown }, context, info) => {
    const { representations } = args;
    if (!Array.isArray(representations) || !representations.every(wellFormed)) {
      throw badUserInput(
        'representations',
        'Every representation must be an object naming an entity type, with its key fields',
      );
    }
    return resolve(source, args, context, info);
  };
  return schema;
}

/**
 * Validation rule for production subgraphs: `_service { sdl }` hands the whole schema, directives
 * included, to whoever reaches the subgraph. Nothing needs it at run time (the supergraph is
 * composed from the schema files in the repository, `npm run compose`), so it answers exactly as a
 * field that does not exist would.
 */
export function hideServiceSdl(context: ValidationContext): ASTVisitor {
  return {
    Field(node) {
      if (node.name.value !== '_service') return;
      const parent = context.getParentType();
      if (parent && parent === context.getSchema().getQueryType()) {
        context.reportError(
          new GraphQLError(`Cannot query field "_service" on type "${parent.name}".`, { nodes: node }),
        );
      }
    },
  };
}
