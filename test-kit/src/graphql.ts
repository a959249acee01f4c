/** The one GraphQL-over-HTTP client of the tests: JSON in, the whole answer out (status, headers, raw text). */

export interface GraphQLError {
  message: string;
  path?: (string | number)[];
  extensions?: Record<string, unknown> & { code?: string; field?: string };
}

export interface GraphQLResult<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: GraphQLError[];
  /** The raw body, for checks on what an answer must not contain (and for non-JSON refusals). */
  text: string;
}

export interface GraphQLRequestOptions {
  variables?: Record<string, unknown>;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  headers?: Record<string, string>;
  /** Replaces the JSON body built from query and variables (malformed bodies, batches). */
  body?: string;
  signal?: AbortSignal;
  /** Sends the request (default: fetch), e.g. one that records every answer. */
  send?: (url: string, init: RequestInit) => Promise<Response>;
}

/** POSTs one operation as JSON to a GraphQL endpoint (`http://host:port/graphql`). */
export async function postGraphQL<T = Record<string, unknown>>(
  endpoint: string,
  query: string,
  options: GraphQLRequestOptions = {},
): Promise<GraphQLResult<T>> {
  const send = options.send ?? fetch;
  const response = await send(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body: options.body ?? JSON.stringify({ query, variables: options.variables ?? {} }),
    signal: options.signal,
  });
  return readGraphQLResult<T>(response);
}

/**
 * Reads a GraphQL answer. A body that is not a JSON object (a plain-text refusal, an HTML page)
 * leaves `data` and `errors` unset: the caller looks at `status` and `text`.
 */
export async function readGraphQLResult<T = Record<string, unknown>>(
  response: Response,
): Promise<GraphQLResult<T>> {
  const text = await response.text();
  let body: { data?: T | null; errors?: GraphQLError[] } = {};
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as typeof body;
  } catch {
    // not JSON
  }
  return { status: response.status, headers: response.headers, data: body.data, errors: body.errors, text };
}

/** Error codes of a GraphQL answer, in order. */
export const codesOf = (result: Pick<GraphQLResult, 'errors'>): string[] =>
  (result.errors ?? []).map((e) => String(e.extensions?.code ?? 'NO_CODE'));
