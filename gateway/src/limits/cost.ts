import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  getVariableValues,
  Kind,
  type OperationDefinitionNode,
  type TypeNode,
} from 'graphql';
import { type ComplexityEstimator, getComplexity, simpleEstimator } from 'graphql-query-complexity';

/**
 * The image subgraph's page size (subgraph-image/src/pagination.ts; the contract's "first is capped
 * at 100"). The gateway does not import the subgraph, so the numbers are repeated here and a test
 * holds them equal: a `first` of 1000 costs what the subgraph will really answer, 100 items.
 */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 100;

/** What a page asked for with `first` holds at most; a negative `first` is refused by the subgraph, so it holds nothing. */
export function effectivePageSize(first: unknown): number {
  if (typeof first !== 'number') return DEFAULT_PAGE_SIZE;
  return Math.max(0, Math.min(first, MAX_PAGE_SIZE));
}

/**
 * A field with a `first` argument answers a page: its selection is paid once per item. `args` are
 * the coerced values, so `first` is the literal, the variable's value or the schema's default alike.
 */
const pageEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  if (!field.args.some((arg) => arg.name === 'first')) return undefined;
  return 1 + effectivePageSize(args.first) * childComplexity;
};

const estimators = [pageEstimator, simpleEstimator({ defaultComplexity: 1 })];

/**
 * An operation's cost: one per field in the answer, a page's selection counted once per item it may
 * hold. Throws a GraphQLError when the operation is too large to count (graphql-query-complexity
 * stops after 10,000 selections, which only fragments spread many times reach).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): number {
  return getComplexity({
    schema,
    query: document,
    operationName: operation.name?.value,
    variables,
    estimators,
  });
}

/**
 * Costs already counted, per schema and parsed document (Apollo Server hands out the same
 * DocumentNode for the same query text from its document cache), then per operation and the values
 * of its Int and Boolean variables: only those can change a cost (`first`, `@skip`/`@include`), so
 * no string (a password, an email) ever becomes part of a key. Counting takes about 0.1 ms of a
 * federated read's ~5 ms of CPU on the project's VM; finding it again, next to nothing.
 */
const counted = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, number>>>();
/** Keys kept per document: a client sending ever new page sizes costs a count, not memory. */
const MAX_COSTS_PER_DOCUMENT = 100;

/** The key of an operation's cost, or undefined when a list variable could make it long (not kept). */
function costKey(operation: OperationDefinitionNode, variables: Record<string, unknown>): string | undefined {
  const values: unknown[] = [];
  for (const definition of operation.variableDefinitions ?? []) {
    const type = namedType(definition.type);
    if (type === undefined) return undefined;
    if (type === 'Int' || type === 'Boolean') values.push(variables[definition.variable.name.value] ?? null);
  }
  return `${operation.name?.value ?? ''}(${JSON.stringify(values)})`;
}

/** The named type under NonNull; undefined for a list. */
function namedType(type: TypeNode): string | undefined {
  if (type.kind === Kind.NON_NULL_TYPE) return namedType(type.type);
  return type.kind === Kind.NAMED_TYPE ? type.name.value : undefined;
}

/**
 * `operationCost`, counted once per document, operation and cost-bearing variable values; undefined
 * (and nothing kept) when the variables do not fit their types: the executor refuses those
 * (BAD_USER_INPUT) before any work, so there is nothing to count.
 */
export function knownOperationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): number | undefined {
  const byDocument = counted.get(schema) ?? new WeakMap<DocumentNode, Map<string, number>>();
  counted.set(schema, byDocument);
  const costs = byDocument.get(document) ?? new Map<string, number>();
  byDocument.set(document, costs);
  const key = costKey(operation, variables);
  const known = key === undefined ? undefined : costs.get(key);
  if (known !== undefined) return known;
  if (getVariableValues(schema, operation.variableDefinitions ?? [], variables).errors) return undefined;
  const cost = operationCost(schema, document, operation, variables);
  if (key !== undefined) {
    if (costs.size >= MAX_COSTS_PER_DOCUMENT) costs.clear();
    costs.set(key, cost);
  }
  return cost;
}

/**
 * Refuses an operation whose cost is over `maxCost` before it is planned or executed. A plugin
 * rather than a validation rule because validation never sees the variables, and `first: $n` must
 * cost what `first: 100` costs. Refused as GRAPHQL_VALIDATION_FAILED with HTTP 400, as the
 * gateway's other front-door limits are.
 */
export function costLimit<C extends BaseContext>(maxCost: number): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return; // requireResolvableOperation answers that
          let cost: number | undefined;
          try {
            cost = knownOperationCost(schema, document, operation, request.variables);
          } catch (error) {
            throw refusal(error instanceof GraphQLError ? error.message : String(error));
          }
          // Variables that do not fit their types are the executor's to refuse (BAD_USER_INPUT).
          if (cost === undefined) return;
          if (cost > maxCost) {
            throw refusal(
              `Query cost limit of ${maxCost} exceeded, found ${cost}: a page's selection counts once per item, min(first, ${MAX_PAGE_SIZE}).`,
            );
          }
        },
      };
    },
  };
}

function refusal(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } },
  });
}
