import { REQUEST_ID_HEADER } from '@imagehub/service-kit';
import type { Request, Response } from 'express';
import { clientAddress } from '../http/client-address';
import { EntityMemo } from './entity-memo';

/** What every subgraph request of one client request carries along. */
export interface GatewayContext {
  /** Headers forwarded to every subgraph: Authorization, User-Agent, x-request-id, X-Forwarded-For (the client's address alone). */
  forwardHeaders: Record<string, string>;
  /** Aborted when the client goes away, so subgraph work on its behalf stops too. */
  clientGone: AbortSignal;
  /** Set by the multipart parser: only then are subgraph variables searched for files. */
  hasUpload: boolean;
  /** Entity fields the subgraphs already answered in this request (see EntityMemo). */
  entities: EntityMemo;
}

export function contextFromRequest(req: Request, res: Response): GatewayContext {
  const forwardHeaders: Record<string, string> = {};
  const authorization = req.headers.authorization;
  if (authorization) forwardHeaders.authorization = authorization;
  // The auth subgraph keeps it with the sessions it opens (mySessions); it cuts it to 200 characters.
  const userAgent = req.headers['user-agent'];
  if (userAgent) forwardHeaders['user-agent'] = userAgent;
  forwardHeaders[REQUEST_ID_HEADER] = String(req.headers[REQUEST_ID_HEADER]);
  const client = clientAddress(req);
  if (client) forwardHeaders['x-forwarded-for'] = client;

  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('The client closed the connection'));
  });
  return {
    forwardHeaders,
    clientGone: controller.signal,
    hasUpload: res.locals.upload !== undefined,
    entities: new EntityMemo(),
  };
}
