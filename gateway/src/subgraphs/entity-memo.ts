import {
  type FieldNode,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionNode,
  type SelectionSetNode,
} from 'graphql';

/**
 * What one client query has already learnt about entities, per subgraph, so that a later fetch of
 * the same query plan does not ask the same subgraph for the same fields again.
 *
 * The federated read `me { id name images { edges { node { id url owner { name } } } } }` plans
 * three fetches: auth `me { __typename id name }`, image `_entities(User) { images ... }`, and auth
 * again `_entities(User) { name }` for every image's owner, who is always the caller, whose name the
 * first fetch returned. The memo answers that third fetch from the first one's answer: one HTTP
 * round trip, one subgraph request and one Postgres query less per read.
 *
 * Why this is correct:
 * - It lives for one client request and holds only what the subgraph answered that caller in that
 *   request (same token, same subgraph), so it can reveal nothing the caller did not already get,
 *   and it cannot go stale: nothing outlives the request.
 * - Only query operations use it (a mutation's plan may change data between its fetches).
 * - It records only leaf fields without arguments or directives, by field name (never by the
 *   client's alias), of objects whose `__typename` and `id` (this system's only entity key) were
 *   selected, and only from answers without errors (a field nulled by an error is not its value).
 * - It answers an `_entities` fetch only when it holds every requested field of every
 *   representation, and the representations are exactly `{ __typename, id }`; any other fetch goes
 *   to the subgraph as before.
 * It assumes what federation itself assumes: within one operation, a subgraph gives an entity's
 * field one value, whichever way the plan reached the entity.
 */
export class EntityMemo {
  /** subgraph -> `Type:id` -> field name -> value */
  private readonly known = new Map<string, Map<string, Map<string, unknown>>>();

  /** Remembers the entity fields in a subgraph's answer to `query`. */
  record(subgraph: string, query: string, result: { data?: unknown; errors?: unknown }): void {
    if (result.errors || !result.data) return;
    const shape = shapeOf(query);
    if (shape.kind !== 'query') return;
    let entities = this.known.get(subgraph);
    if (!entities) {
      entities = new Map();
      this.known.set(subgraph, entities);
    }
    collect(shape.selectionSet, result.data, entities);
  }

  /** The subgraph's answer to an `_entities` fetch, when this request already holds all of it. */
  answer(
    subgraph: string,
    query: string,
    variables: Record<string, unknown> | undefined,
  ): { data: { _entities: Array<Record<string, unknown>> } } | undefined {
    const entities = this.known.get(subgraph);
    if (!entities) return undefined;
    const shape = shapeOf(query);
    if (shape.kind !== 'entities') return undefined;
    const representations = variables?.[shape.variable];
    if (!Array.isArray(representations) || representations.length === 0) return undefined;
    const answers: Array<Record<string, unknown>> = [];
    for (const representation of representations) {
      const typename = keyOf(representation);
      if (typename === undefined) return undefined;
      const wanted = shape.fieldsByType.get(typename);
      const fields = entities.get(`${typename}:${(representation as { id: string }).id}`);
      if (!wanted || !fields) return undefined;
      const answer: Record<string, unknown> = {};
      for (const { responseKey, name } of wanted) {
        if (name === '__typename') {
          answer[responseKey] = typename;
          continue;
        }
        if (!fields.has(name)) return undefined;
        answer[responseKey] = fields.get(name);
      }
      answers.push(answer);
    }
    return { data: { _entities: answers } };
  }
}

/** The typename of a representation that is exactly `{ __typename, id }` with string values. */
function keyOf(representation: unknown): string | undefined {
  if (typeof representation !== 'object' || representation === null) return undefined;
  const { __typename, id, ...rest } = representation as Record<string, unknown>;
  if (typeof __typename !== 'string' || typeof id !== 'string' || Object.keys(rest).length > 0) {
    return undefined;
  }
  return __typename;
}

interface LeafField {
  responseKey: string;
  name: string;
}

type Shape =
  | { kind: 'other' }
  | { kind: 'query'; selectionSet: SelectionSetNode }
  | { kind: 'entities'; variable: string; fieldsByType: Map<string, LeafField[]> };

/**
 * Subgraph operations repeat (the gateway caches its query plans), so each is parsed once. The
 * bound only matters for a client sending endless distinct operations: the oldest are forgotten.
 */
const shapes = new Map<string, Shape>();
const MAX_SHAPES = 1000;

function shapeOf(query: string): Shape {
  let shape = shapes.get(query);
  if (!shape) {
    shape = analyse(query);
    if (shapes.size >= MAX_SHAPES) shapes.delete(shapes.keys().next().value as string);
    shapes.set(query, shape);
  }
  return shape;
}

function analyse(query: string): Shape {
  let operation: OperationDefinitionNode | undefined;
  try {
    const document = parse(query, { noLocation: true });
    // Named fragments would need resolving; the query planner inlines them, so they are not worth it.
    if (document.definitions.length !== 1) return { kind: 'other' };
    const [definition] = document.definitions;
    if (definition?.kind === Kind.OPERATION_DEFINITION) operation = definition;
  } catch {
    return { kind: 'other' };
  }
  if (operation?.operation !== 'query') return { kind: 'other' };
  return entitiesShape(operation) ?? { kind: 'query', selectionSet: operation.selectionSet };
}

/** `{ _entities(representations: $r) { ... on T { leaf fields } } }`, or undefined. */
function entitiesShape(operation: OperationDefinitionNode): Shape | undefined {
  const [root, ...more] = operation.selectionSet.selections;
  if (more.length > 0 || root?.kind !== Kind.FIELD || root.name.value !== '_entities') return undefined;
  const [argument, ...moreArguments] = root.arguments ?? [];
  if (
    moreArguments.length > 0 ||
    root.alias ||
    root.directives?.length ||
    argument?.name.value !== 'representations' ||
    argument.value.kind !== Kind.VARIABLE ||
    !root.selectionSet
  ) {
    return undefined;
  }
  const fieldsByType = new Map<string, LeafField[]>();
  for (const selection of root.selectionSet.selections) {
    if (selection.kind !== Kind.INLINE_FRAGMENT || !selection.typeCondition || selection.directives?.length) {
      return undefined;
    }
    const fields: LeafField[] = [];
    for (const field of selection.selectionSet.selections) {
      if (field.kind !== Kind.FIELD || !isPlainLeaf(field)) return undefined;
      fields.push({ responseKey: field.alias?.value ?? field.name.value, name: field.name.value });
    }
    const type = selection.typeCondition.name.value;
    fieldsByType.set(type, [...(fieldsByType.get(type) ?? []), ...fields]);
  }
  return { kind: 'entities', variable: argument.value.name.value, fieldsByType };
}

const isPlainLeaf = (field: FieldNode) =>
  !field.selectionSet && !field.arguments?.length && !field.directives?.length;

/** Walks an answer along its selection set, recording the leaf fields of every keyed entity in it. */
function collect(
  selectionSet: SelectionSetNode,
  value: unknown,
  entities: Map<string, Map<string, unknown>>,
): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(selectionSet, item, entities);
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const object = value as Record<string, unknown>;
  // The object's type is known only where `__typename` itself is selected on it, unaliased: only then
  // do fragments on that type apply, and only then is the object recorded.
  const typed = selectionSet.selections.some(
    (s) => s.kind === Kind.FIELD && s.name.value === '__typename' && !s.alias && isPlainLeaf(s),
  );
  const typename = typed && typeof object.__typename === 'string' ? object.__typename : undefined;
  const selections = applicable(selectionSet.selections, typename);
  const leaves = selections.filter((s) => isPlainLeaf(s));
  const idField = leaves.find((s) => s.name.value === 'id');
  const id = idField && object[idField.alias?.value ?? 'id'];
  if (typename && typeof id === 'string') {
    const key = `${typename}:${id}`;
    const fields = entities.get(key) ?? new Map<string, unknown>();
    for (const leaf of leaves) {
      const fieldValue = object[leaf.alias?.value ?? leaf.name.value];
      if (fieldValue !== null && fieldValue !== undefined) fields.set(leaf.name.value, fieldValue);
    }
    entities.set(key, fields);
  }
  for (const selection of selections) {
    if (selection.selectionSet) {
      collect(selection.selectionSet, object[selection.alias?.value ?? selection.name.value], entities);
    }
  }
}

/** The fields that apply to an object of this type: its own, and those of fragments without a type or on exactly its type. */
function applicable(selections: readonly SelectionNode[], typename: string | undefined): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selections) {
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else if (
      selection.kind === Kind.INLINE_FRAGMENT &&
      !selection.directives?.length &&
      (!selection.typeCondition ||
        (typename !== undefined && selection.typeCondition.name.value === typename))
    ) {
      fields.push(...applicable(selection.selectionSet.selections, typename));
    }
  }
  return fields;
}
