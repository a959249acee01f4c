import type { Request } from 'express';

/**
 * The client's address as the gateway knows it: its socket's, or the one a GATEWAY_TRUST_PROXY
 * proxy put in X-Forwarded-For (Express' `req.ip`). It is the only X-Forwarded-For entry the gateway
 * sends on to the subgraphs: passing the client's own entries along would let a client whose socket
 * address the subgraph trusts (one on the gateway's host, or behind a TCP tunnel ending there, both
 * connecting from 127.0.0.1) choose the address it is throttled by.
 */
export const clientAddress = (req: Request): string | undefined => req.ip ?? req.socket.remoteAddress;
