"""
Locust load test for imagehub's public GraphQL API (see loadtest/README.md).

Two user classes:
  JourneyUser    registers once, logs in, reads `me`, uploads a small generated PNG (multipart with
                 the preflight header), lists its images, fetches a thumbnail through its signed URL
                 (then revalidates it with If-None-Match) and sometimes refreshes its token.
  LoginOnlyUser  the product owner's original measurement: logins only (run it with 100 users,
                 spawn rate 10).

Weights and pacing are parameters: --journey-weight, --login-weight, --think-min, --think-max.
Pick one class by naming it after the options (`locust ... LoginOnlyUser`).

FastHttpUser, because Locust's default HttpUser client tops out near 2,500 requests/s on two cores.
"""

import json
import secrets
import struct
import time
import zlib

from locust import FastHttpUser, between, events, task

GRAPHQL = "/graphql"

REGISTER = """mutation Register($name: String!, $email: String!, $password: String!) {
  register(name: $name, email: $email, password: $password) { accessToken refreshToken user { id } }
}"""
LOGIN = """mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { accessToken refreshToken expiresIn }
}"""
REFRESH = """mutation Refresh($refreshToken: String!) {
  refreshToken(refreshToken: $refreshToken) { accessToken refreshToken }
}"""
ME = "query Me { me { id name email } }"
MY_IMAGES = """query MyImages { me { id name images(first: 20) {
  totalCount edges { node { id url thumbnailUrl owner { name } } } } } }"""
UPLOAD = "mutation Upload($file: Upload!) { uploadImage(file: $file) { id thumbnailUrl } }"


def png_bytes(width: int, height: int, seed: bytes) -> bytes:
    """A valid RGB PNG built with zlib alone (no PIL); `seed` makes each one distinct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pattern = (seed * (width * 3 // max(len(seed), 1) + 1))[: width * 3]
    raw = b"".join(b"\x00" + pattern[y % 7 :] + pattern[: y % 7] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")


def multipart_upload(filename: str, content: bytes) -> tuple[bytes, str]:
    """A GraphQL multipart request (operations, map, one file part), as the spec defines it."""
    boundary = f"----imagehub{secrets.token_hex(12)}"
    operations = json.dumps({"query": UPLOAD, "variables": {"file": None}})
    file_map = json.dumps({"0": ["variables.file"]})
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{operations}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{file_map}\r\n'.encode(),
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="0"; filename="{filename}"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + content
        + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@events.init_command_line_parser.add_listener
def _add_options(parser):
    parser.add_argument("--journey-weight", type=int, default=1, help="relative weight of JourneyUser")
    parser.add_argument("--login-weight", type=int, default=1, help="relative weight of LoginOnlyUser")
    parser.add_argument("--think-min", type=float, default=0.5, help="JourneyUser: min seconds between tasks")
    parser.add_argument("--think-max", type=float, default=2.0, help="JourneyUser: max seconds between tasks")
    parser.add_argument(
        "--login-think", type=float, default=0.0, help="LoginOnlyUser: seconds between logins (original: 0)"
    )


@events.init.add_listener
def _apply_options(environment, **_kwargs):
    options = environment.parsed_options
    if options is None:
        return
    JourneyUser.weight = options.journey_weight
    LoginOnlyUser.weight = options.login_weight
    JourneyUser.wait_time = between(options.think_min, options.think_max)
    LoginOnlyUser.wait_time = between(options.login_think, options.login_think)


class GraphQLUser(FastHttpUser):
    """Shared plumbing: one account per simulated user, GraphQL calls judged by their `errors`."""

    abstract = True
    # Image URLs point at the gateway's own origin; don't follow anything elsewhere.
    connection_timeout = 10.0
    network_timeout = 30.0

    def on_start(self):
        self.email = f"loadtest-{secrets.token_hex(8)}@example.com"
        self.password = f"lt-{secrets.token_urlsafe(18)}"
        self.access_token = None
        self.refresh_token = None
        self.registered = False
        # Registration hashes a password too, so it is shed while bcrypt is saturated: keep trying
        # (each shed answer makes the user wait retryAfter), and the tasks try again if it never got in.
        for _attempt in range(30):
            if self.register():
                return

    def register(self):
        data = self.graphql(
            "register",
            REGISTER,
            {"name": "Load Test", "email": self.email, "password": self.password},
        )
        if data:
            self.keep_tokens(data["register"])
            self.registered = True
        return self.registered

    def keep_tokens(self, payload):
        self.access_token = payload["accessToken"]
        self.refresh_token = payload["refreshToken"]

    def auth_headers(self):
        return {"Authorization": f"Bearer {self.access_token}"} if self.access_token else {}

    def graphql(self, name, query, variables=None):
        """
        POSTs one operation; returns `data` or None. TOO_MANY_REQUESTS is the server shedding load
        by design (bcrypt is saturated): it is recorded under its own name (so it neither hides
        among nor inflates the real logins) as a success, and the user backs off for `retryAfter`
        seconds like a well-behaved client would.
        """
        body = {"query": query, "operationName": None, "variables": variables or {}}
        backoff = 0.0
        data = None
        with self.client.post(
            GRAPHQL,
            name=name,
            json=body,
            headers=self.auth_headers(),
            catch_response=True,
        ) as response:
            try:
                payload = json.loads(response.content or b"null")
            except ValueError:
                payload = None
            if not isinstance(payload, dict):
                response.failure(f"HTTP {response.status_code}: not a GraphQL response")
                return None
            errors = payload.get("errors") or []
            codes = [((e.get("extensions") or {}).get("code") or "UNKNOWN") for e in errors]
            if "TOO_MANY_REQUESTS" in codes:
                response.request_meta["name"] = f"{name} (shed: TOO_MANY_REQUESTS)"
                response.success()
                retry_after = next(
                    ((e.get("extensions") or {}).get("retryAfter") for e in errors if e.get("extensions")), 1
                )
                backoff = min(float(retry_after or 1), 5.0)
            elif errors or response.status_code != 200:
                response.failure(f"HTTP {response.status_code} {','.join(codes)}: {errors[:1]}")
            else:
                response.success()
                data = payload.get("data")
        if backoff:
            # Locust runs on gevent with the standard library patched, so this yields, not blocks.
            time.sleep(backoff)
        return data

    def login(self):
        # Logging in to an account that was never created would only measure our own mistake.
        if not self.registered:
            self.register()
            return
        data = self.graphql("login", LOGIN, {"email": self.email, "password": self.password})
        if data:
            self.keep_tokens(data["login"])


class JourneyUser(GraphQLUser):
    """A person using the product: everything the API offers, in the proportions a client would."""

    weight = 1
    wait_time = between(0.5, 2.0)

    def on_start(self):
        super().on_start()
        self.thumbnail_url = None
        self.thumbnail_etag = None
        self.upload()

    @task(1)
    def login_again(self):
        self.login()

    @task(10)
    def me(self):
        if self.access_token:
            self.graphql("me", ME)

    @task(2)
    def upload(self):
        if not self.access_token:
            return
        image = png_bytes(64, 48, secrets.token_bytes(16))
        body, content_type = multipart_upload("loadtest.png", image)
        with self.client.post(
            GRAPHQL,
            name="uploadImage (multipart)",
            data=body,
            headers={
                **self.auth_headers(),
                "Content-Type": content_type,
                "Apollo-Require-Preflight": "true",
            },
            catch_response=True,
        ) as response:
            try:
                payload = json.loads(response.content or b"null") or {}
            except ValueError:
                payload = {}
            uploaded = (payload.get("data") or {}).get("uploadImage")
            if response.status_code != 200 or payload.get("errors") or not uploaded:
                response.failure(f"HTTP {response.status_code}: {(payload.get('errors') or [None])[0]}")
                return
            response.success()
            self.thumbnail_url = uploaded["thumbnailUrl"]
            self.thumbnail_etag = None

    @task(6)
    def list_images(self):
        if not self.access_token:
            return
        data = self.graphql("me.images (federated)", MY_IMAGES)
        edges = ((data or {}).get("me") or {}).get("images", {}).get("edges") or []
        if edges and not self.thumbnail_url:
            self.thumbnail_url = edges[0]["node"]["thumbnailUrl"]

    @task(6)
    def fetch_thumbnail(self):
        if not self.thumbnail_url:
            return
        # Signed URLs work without Authorization (as an <img src> would fetch them).
        headers = {"If-None-Match": self.thumbnail_etag} if self.thumbnail_etag else {}
        name = "GET thumbnail (revalidate)" if self.thumbnail_etag else "GET thumbnail"
        with self.client.get(self.thumbnail_url, name=name, headers=headers, catch_response=True) as response:
            if response.status_code == 200:
                self.thumbnail_etag = response.headers.get("ETag")
                response.success()
            elif response.status_code == 304 and self.thumbnail_etag:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}")

    @task(1)
    def refresh(self):
        if not self.refresh_token:
            return
        data = self.graphql("refreshToken", REFRESH, {"refreshToken": self.refresh_token})
        if data:
            self.keep_tokens(data["refreshToken"])


class LoginOnlyUser(GraphQLUser):
    """The original measurement: 100 users, spawn rate 10, nothing but logins, no think time."""

    weight = 1
    wait_time = between(0, 0)

    @task
    def login_only(self):
        self.login()
