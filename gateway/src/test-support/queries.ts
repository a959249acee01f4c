/** Queries for the cost limit's tests (limits/cost.test.ts, front-door.test.ts). */

/** Queries the project itself sends; none may come near the default MAX_COST of 5000. */
export const PROJECT_QUERIES = {
  // gateway/src/front-door.test.ts and loadtest/src/bench/scenarios.ts (FederatedRead), docs/performance.md
  journey: '{ me { id name images(first: 20) { edges { node { id url owner { name } } } } } }',
  // web/src/api.ts (images), with the gallery's page of 24 (web/src/views/gallery.ts)
  gallery:
    'query MyImages($first: Int!, $after: String) { myImages(first: $first, after: $after) { totalCount edges { node { id filename contentType byteSize width height url thumbnailUrl createdAt } } pageInfo { hasNextPage endCursor } } }',
  // loadtest/k6/script.js
  k6: '{ me { id name images(first: 20) { edges { node { id url thumbnailUrl owner { name } } } } } }',
  // loadtest/locust/locustfile.py
  locust:
    'query MyImages { me { id name images(first: 20) { totalCount edges { node { id url thumbnailUrl owner { name } } } } } }',
  // README.md
  readme:
    '{ myImages(first: 10) { totalCount edges { cursor node { id filename url } } pageInfo { hasNextPage endCursor } } }',
  // web/src/api.ts (me)
  me: 'query Me { me { id name email createdAt usage { imageCount usedBytes quotaBytes } } }',
};

/** The outside reviewer's query: 100 images, each with its owner's 100 images. */
export const reviewerQuery = (first: string) =>
  `myImages(first: ${first}) { edges { node { owner { images(first: ${first}) { edges { node { id url thumbnailUrl } } } } } } }`;
