// k6 version of the Locust journeys (see loadtest/README.md):
//   k6 run loadtest/k6/script.js                       # journey, 20 VUs, 1 minute
//   k6 run -e SCENARIO=login loadtest/k6/script.js     # the original login-only test, 100 VUs
//   k6 run -e BASE_URL=http://host:4000 -e VUS=50 -e DURATION=5m loadtest/k6/script.js
// k6 is not installed on the machine this was written on; a jest test checks that it parses.
import { check, sleep } from 'k6';
import encoding from 'k6/encoding';
import http from 'k6/http';

const BASE_URL = __ENV.BASE_URL || 'http://localhost:4000';
const SCENARIO = __ENV.SCENARIO || 'journey';
const LOGIN_ONLY = SCENARIO === 'login';

export const options = {
  scenarios: {
    [SCENARIO]: {
      executor: 'ramping-vus',
      startVUs: 0,
      // The original Locust run spawned 10 users a second up to 100.
      stages: [
        { duration: LOGIN_ONLY ? '10s' : '5s', target: Number(__ENV.VUS || (LOGIN_ONLY ? 100 : 20)) },
        { duration: __ENV.DURATION || '1m', target: Number(__ENV.VUS || (LOGIN_ONLY ? 100 : 20)) },
      ],
    },
  },
  thresholds: { checks: ['rate>0.99'] },
};

// An 8x8 RGB PNG; uploads differ only by filename, which the image subgraph deduplicates by hash.
const PNG_1X1 = encoding.b64decode(
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAMUlEQVR4nGPINsvMTUxPzShNQmUx4BDPZsAhbsaAQzyTAYd4LgMO8UQGHOLpDLicCwDncUnpKYllYgAAAABJRU5ErkJggg==',
);

function gql(name, query, variables, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = http.post(`${BASE_URL}/graphql`, JSON.stringify({ query, variables }), {
    headers,
    tags: { name },
  });
  const body = res.json() || {};
  const codes = (body.errors || []).map((e) => e.extensions?.code);
  // Shedding under a login flood is the designed answer: back off as a client should.
  if (codes.includes('TOO_MANY_REQUESTS')) {
    sleep(Math.min(Number(body.errors[0].extensions.retryAfter || 1), 5));
    return null;
  }
  check(res, { [`${name} ok`]: (r) => r.status === 200 && !body.errors });
  return body.data || null;
}

function account() {
  const suffix = `${__VU}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
  return { email: `k6-${suffix}@example.com`, password: `k6-pw-${suffix}-${Math.random()}` };
}

export function setup() {
  return {};
}

const state = {};

function ensureUser() {
  if (state.email) return;
  Object.assign(state, account());
  for (let attempt = 0; attempt < 10 && !state.token; attempt++) {
    const data = gql(
      'register',
      'mutation($n:String!,$e:String!,$p:String!){register(name:$n,email:$e,password:$p){accessToken refreshToken}}',
      { n: 'k6 user', e: state.email, p: state.password },
    );
    if (data) {
      state.token = data.register.accessToken;
      state.refresh = data.register.refreshToken;
    }
  }
}

function login() {
  const data = gql(
    'login',
    'mutation($e:String!,$p:String!){login(email:$e,password:$p){accessToken refreshToken}}',
    { e: state.email, p: state.password },
  );
  if (data) {
    state.token = data.login.accessToken;
    state.refresh = data.login.refreshToken;
  }
}

function upload() {
  const operations = JSON.stringify({
    query: 'mutation($file: Upload!){uploadImage(file:$file){id thumbnailUrl}}',
    variables: { file: null },
  });
  const res = http.post(
    `${BASE_URL}/graphql`,
    {
      operations,
      map: JSON.stringify({ 0: ['variables.file'] }),
      0: http.file(PNG_1X1, `k6-${__VU}-${__ITER}.png`, 'image/png'),
    },
    {
      headers: { Authorization: `Bearer ${state.token}`, 'Apollo-Require-Preflight': 'true' },
      tags: { name: 'uploadImage' },
    },
  );
  const body = res.json() || {};
  check(res, { 'uploadImage ok': (r) => r.status === 200 && !body.errors });
  if (body.data) state.thumbnailUrl = body.data.uploadImage.thumbnailUrl;
}

function fetchThumbnail() {
  if (!state.thumbnailUrl) return;
  const res = http.get(state.thumbnailUrl, { tags: { name: 'thumbnail' } });
  check(res, { 'thumbnail 200': (r) => r.status === 200 });
  const etag = res.headers.Etag || res.headers.ETag;
  if (!etag) return;
  const again = http.get(state.thumbnailUrl, {
    headers: { 'If-None-Match': etag },
    tags: { name: 'thumbnail revalidate' },
  });
  check(again, { 'thumbnail 304': (r) => r.status === 304 });
}

export default function () {
  ensureUser();
  if (LOGIN_ONLY) {
    login();
    return;
  }
  login();
  gql('me', '{ me { id name email } }', {}, state.token);
  if (__ITER % 3 === 0) upload();
  const list = gql(
    'me.images',
    '{ me { id name images(first: 20) { edges { node { id url thumbnailUrl owner { name } } } } } }',
    {},
    state.token,
  );
  const edges = list ? list.me.images.edges : [];
  if (edges.length && !state.thumbnailUrl) state.thumbnailUrl = edges[0].node.thumbnailUrl;
  fetchThumbnail();
  if (__ITER % 5 === 4 && state.refresh) {
    const data = gql(
      'refreshToken',
      'mutation($r:String!){refreshToken(refreshToken:$r){accessToken refreshToken}}',
      { r: state.refresh },
    );
    if (data) {
      state.token = data.refreshToken.accessToken;
      state.refresh = data.refreshToken.refreshToken;
    }
  }
  sleep(0.5 + Math.random() * 1.5);
}
