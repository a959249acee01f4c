/** What a failed subgraph request becomes for the client: always a coded GraphQL error. */
import { codedError, ErrorCode, type Logger } from '@imagehub/service-kit';
import { GraphQLError } from 'graphql';
import { PayloadTooLargeError, UploadRequestError } from '../uploads/upload';

export function toSubgraphError(
  error: unknown,
  context: { subgraph: string; logger: Logger; withUpload: boolean; clientGone?: AbortSignal },
): GraphQLError {
  if (error instanceof GraphQLError) return error;
  // A failed file stream explains itself better than the aborted request it caused, and answers with
  // the HTTP status the gateway gives the same refusal before the operation starts (413, 408, 400).
  const cause = findCause(error);
  if (cause instanceof PayloadTooLargeError) {
    return codedError(ErrorCode.PAYLOAD_TOO_LARGE, cause.message, {
      field: 'file',
      limit: cause.limit,
      http: { status: 413 },
    });
  }
  if (cause instanceof UploadRequestError) {
    return codedError(cause.code, cause.message, { field: 'file', http: { status: cause.status } });
  }
  // A client that went away is not a subgraph failure worth a warning.
  if (!context.clientGone?.aborted) {
    context.logger.warn(
      { err: error, subgraph: context.subgraph, withUpload: context.withUpload },
      'subgraph request failed',
    );
  }
  return codedError(ErrorCode.SERVICE_UNAVAILABLE, `The ${context.subgraph} service is unavailable`, {
    serviceName: context.subgraph,
  });
}

function findCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof PayloadTooLargeError || current instanceof UploadRequestError) return current;
    current = current.cause;
  }
  return error;
}
