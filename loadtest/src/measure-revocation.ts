/**
 * How long after a revocation each verifier refuses the revoked access token (issue 15's target:
 * 5 s). Starts the system the way the bench does (each service a process of its own, embedded
 * Postgres), then, N times: sign in, revoke the session (logout, revokeSession or
 * logoutEverywhere in turn), and ask the gateway (an upload it checks itself), the auth subgraph
 * (me) and the image subgraph (myImages) every 20 ms until each answers SESSION_REVOKED.
 *
 *   npx tsx --conditions=development loadtest/src/measure-revocation.ts [--rounds 30]
 *
 * Prints p50 / p90 / max per verifier, in ms from the revoking mutation's answer. Measured from
 * the answer, so the figures are the delay a client sees; the subgraphs reload on the revocation's
 * NOTIFY, the gateway's poll interval (REVOCATION_POLL_INTERVAL_MS, 1 s) bounds its figure. The gateway's figure is for an upload through
 * it, refused by the gateway's own check or, if the image subgraph's list was reloaded first, by
 * the image subgraph: the delay a client of the gateway sees.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { noisePng, postGraphQL } from '@imagehub/test-kit';
import { startSystem } from './bench/system';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '30' } } });
const ROUNDS = Number(values.rounds);
const GIVE_UP_MS = 15_000;
const EVERY_MS = 20;

type Verifier = 'gateway' | 'auth' | 'image';

async function main(): Promise<void> {
  const system = await startSystem({
    log: (m) => process.stderr.write(`${m}\n`),
    // As a deployment runs (keys generated for the run), from the sources: nothing to build first.
    mode: { nodeEnv: 'production', compiled: false },
    env: {
      LOG_LEVEL: 'warn',
      // Every round signs in again: the login throttle is not what is measured here.
      LOGINS_PER_ACCOUNT: '100000',
      LOGINS_PER_IP: '100000',
    },
  });
  const graphql = `${system.urls.gateway}/graphql`;
  const gql = <T>(query: string, variables: Record<string, unknown> = {}, token?: string) =>
    postGraphQL<T>(graphql, query, { variables, token });
  const delays: Record<Verifier, number[]> = { gateway: [], auth: [], image: [] };
  try {
    const email = `measure-${randomBytes(6).toString('hex')}@example.test`;
    const password = `measure ${randomBytes(9).toString('base64url')}`;
    const registered = await gql(
      'mutation($e:String!,$p:String!){ register(name:"M", email:$e, password:$p){ accessToken } }',
      {
        e: email,
        p: password,
      },
    );
    if (registered.errors) throw new Error(JSON.stringify(registered.errors));
    const png = noisePng(4, 4);

    const ask: Record<Verifier, (token: string) => Promise<string | undefined>> = {
      auth: async (token) => reason(await gql('{ me { id } }', {}, token)),
      image: async (token) => reason(await gql('{ myImages(first: 1) { totalCount } }', {}, token)),
      // A tiny upload: the gateway checks its token before streaming it.
      gateway: async (token) => {
        const form = new FormData();
        form.set(
          'operations',
          JSON.stringify({
            query: 'mutation($f: Upload!){ uploadImage(file: $f){ id } }',
            variables: { f: null },
          }),
        );
        form.set('map', JSON.stringify({ 0: ['variables.f'] }));
        form.set('0', new Blob([new Uint8Array(png)], { type: 'image/png' }), 'm.png');
        const response = await fetch(graphql, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'apollo-require-preflight': 'true' },
          body: form,
        });
        return reason({
          errors: ((await response.json()) as { errors?: { extensions?: { reason?: string } }[] }).errors,
        });
      },
    };

    for (let round = 0; round < ROUNDS; round++) {
      const signIn = await gql<{ login: { accessToken: string; refreshToken: string } }>(
        'mutation($e:String!,$p:String!){ login(email:$e, password:$p){ accessToken refreshToken } }',
        { e: email, p: password },
      );
      const { accessToken, refreshToken } = signIn.data!.login;
      const sid = (
        JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()) as { sid: string }
      ).sid;
      const how = round % 3;
      const revoked =
        how === 0
          ? await gql('mutation($t:String!){ logout(refreshToken:$t) }', { t: refreshToken })
          : how === 1
            ? await gql('mutation($id:ID!){ revokeSession(id:$id) }', { id: sid }, accessToken)
            : await gql('mutation { logoutEverywhere }', {}, accessToken);
      if (revoked.errors) throw new Error(JSON.stringify(revoked.errors));
      const revokedAt = performance.now();
      await Promise.all(
        (Object.keys(ask) as Verifier[]).map(async (verifier) => {
          while (performance.now() - revokedAt < GIVE_UP_MS) {
            if ((await ask[verifier](accessToken)) === 'SESSION_REVOKED') {
              delays[verifier].push(performance.now() - revokedAt);
              return;
            }
            await new Promise((resolve) => setTimeout(resolve, EVERY_MS));
          }
          throw new Error(`${verifier} still accepted a revoked token after ${GIVE_UP_MS} ms`);
        }),
      );
    }
  } finally {
    await system.stop();
  }
  console.log(`revocation delay over ${ROUNDS} rounds (ms from the revoking answer to SESSION_REVOKED):`);
  for (const [verifier, values] of Object.entries(delays)) {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(0);
    console.log(`  ${verifier.padEnd(8)} p50 ${at(0.5)}  p90 ${at(0.9)}  max ${sorted.at(-1)!.toFixed(0)}`);
  }
}

function reason(result: { errors?: { extensions?: Record<string, unknown> }[] | null }): string | undefined {
  const value = result.errors?.[0]?.extensions?.reason;
  return typeof value === 'string' ? value : undefined;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
