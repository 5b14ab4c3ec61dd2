// gRPC-Web acceptance from Node with the published client package the oof
// clients use (@oof.gg/protobuf-ts-web: Google's grpc-web runtime, which
// always sends application/grpc-web-text). It registers a fresh account,
// logs in, validates the access token and checks that a wrong password is
// answered UNAUTHENTICATED.
//
// Usage: node acceptance.mjs <host:port | http://host:port> [username]
// Prints one JSON line {"username", "userId"} on success; exits 1 with a
// message on stderr on any mismatch, 2 on bad usage.
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

const require = createRequire(import.meta.url);

// grpc-web is a browser library and talks through XMLHttpRequest, which
// Node does not have; xhr2 provides it over node:http.
globalThis.XMLHttpRequest = require('xhr2');

const oof = require('@oof.gg/protobuf-ts-web');
const { AuthServiceClient } = oof.v1_api_auth_Auth_serviceServiceClientPb;
const pb = oof.v1_api_auth_auth_service_pb;

const UNAUTHENTICATED = 16;
const CALL_TIMEOUT_MS = 15_000;

function fail(msg) {
  console.error(`node acceptance: FAIL: ${msg}`);
  process.exit(1);
}

const [addrArg, userArg] = process.argv.slice(2);
if (!addrArg) {
  console.error('usage: node acceptance.mjs <host:port | http://host:port> [username]');
  process.exit(2);
}
const base = /^https?:\/\//.test(addrArg) ? addrArg : `http://${addrArg}`;
const username = userArg || `node_${randomBytes(4).toString('hex')}`;
const password = 'correct horse battery';

const auth = new AuthServiceClient(base);

// call runs one unary RPC with a deadline, so a hung translator fails the
// test instead of stalling it.
async function call(name, method, req) {
  const deadline = String(Date.now() + CALL_TIMEOUT_MS);
  try {
    return await method.call(auth, req, { deadline });
  } catch (err) {
    const e = new Error(`${name}: gRPC status ${err?.code}: ${err?.message}`);
    e.code = err?.code;
    throw e;
  }
}

function loginRequest(pw) {
  return new pb.LoginRequest().setUsername(username).setPassword(pw);
}

try {
  const reg = await call('Register', auth.register,
    new pb.RegisterRequest().setUsername(username).setEmail(`${username}@example.com`).setPassword(password));
  const userId = reg.getUserId();
  if (!userId) fail('Register answered without a user id');
  if (!reg.getAccessToken()) fail('Register answered without an access token');

  const login = await call('Login', auth.login, loginRequest(password));
  const token = login.getAccessToken();
  if (!token) fail('Login answered without an access token');
  if (!login.getRefreshToken()) fail('Login answered without a refresh token');

  const v = await call('ValidateToken', auth.validateToken, new pb.ValidateTokenRequest().setAccessToken(token));
  if (!v.getIsValid()) fail('ValidateToken says the fresh access token is not valid');
  if (v.getUserId() !== userId) fail(`ValidateToken user id ${v.getUserId()}, Register said ${userId}`);

  let wrong;
  try {
    await call('Login (wrong password)', auth.login, loginRequest(password + ' not'));
  } catch (err) {
    wrong = err;
  }
  if (!wrong) fail('Login with a wrong password succeeded');
  if (wrong.code !== UNAUTHENTICATED) {
    fail(`Login with a wrong password: want status ${UNAUTHENTICATED} (UNAUTHENTICATED), got ${wrong.message}`);
  }

  console.log(JSON.stringify({ username, userId }));
} catch (err) {
  fail(err.message);
}
