/** What the case files share: an answer reduced to what the runner judges, and one GraphQL call. */
import { codesOf, type GraphQLResult } from '@imagehub/test-kit';
import type { ServiceName } from '../support/system';
import type { HostileContext, Outcome } from './cases';

export function outcomeOf(result: GraphQLResult): Outcome {
  return {
    status: result.status,
    codes: codesOf(result),
    fields: (result.errors ?? []).map((e) => String(e.extensions?.field ?? '')),
    data: result.data,
    text: result.text,
  };
}

/** One JSON GraphQL operation to `service`, with `token` as the bearer token. */
export const gql = async (
  ctx: HostileContext,
  service: ServiceName,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
) => outcomeOf(await ctx.sys.gql(query, variables, token, { service }));
