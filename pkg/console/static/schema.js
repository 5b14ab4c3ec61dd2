// The messages the console sends and reads: field numbers from
// api/proto/v1/api/auth/auth_service.proto and api/proto/oof/ops/v1/ops.proto
// (tests/browser/console_test.go drives every one of them).
'use strict';

const schema = (() => {
  const Timestamp = { 1: ['seconds', 'int64'], 2: ['nanos', 'int32'] };
  const KafkaRange = {
    1: ['topic', 'string'], 2: ['partition', 'int32'], 3: ['firstOffset', 'int64'],
    4: ['lastOffset', 'int64'], 5: ['count', 'int64'],
  };
  const Match = {
    1: ['sessionId', 'string'], 2: ['gameId', 'string'], 3: ['userIds[]', 'string'],
    4: ['startedAt', Timestamp], 5: ['endedAt', Timestamp], 6: ['finalState', 'string'],
    7: ['eventCount', 'int64'], 8: ['sessionEvents', KafkaRange], 9: ['liveEvents', KafkaRange],
  };
  const DeadLetter = {
    1: ['id', 'int64'], 2: ['projector', 'string'], 3: ['topic', 'string'], 4: ['partition', 'int32'],
    5: ['offset', 'int64'], 6: ['eventType', 'string'], 7: ['eventId', 'string'], 8: ['key', 'bytes'],
    9: ['error', 'string'], 10: ['attempts', 'int32'], 11: ['firstFailedAt', Timestamp],
    12: ['lastFailedAt', Timestamp], 13: ['status', 'string'], 14: ['redrivenAt', Timestamp],
  };
  return {
    LoginRequest: { 1: ['username', 'string'], 2: ['password', 'string'] },
    LoginResponse: { 1: ['accessToken', 'string'], 2: ['refreshToken', 'string'], 3: ['expiresIn', 'int64'] },
    RefreshTokenRequest: { 1: ['refreshToken', 'string'] },
    RefreshTokenResponse: { 1: ['accessToken', 'string'], 2: ['refreshToken', 'string'], 3: ['expiresIn', 'int64'] },
    GetStatusRequest: {},
    GetStatusResponse: {
      1: ['lag[]', {
        1: ['projector', 'string'], 2: ['topic', 'string'], 3: ['partition', 'int32'],
        4: ['storedOffset', 'int64'], 5: ['endOffset', 'int64'], 6: ['lag', 'int64'],
      }],
      2: ['deadLetters[]', { 1: ['projector', 'string'], 2: ['open', 'int64'] }],
      3: ['relay', { 1: ['pending', 'int64'], 2: ['oldestAgeSeconds', 'double'] }],
      4: ['kafkaError', 'string'],
    },
    ListDeadLettersRequest: { 1: ['projector', 'string'], 2: ['includeRedriven', 'bool'], 3: ['limit', 'int32'] },
    ListDeadLettersResponse: { 1: ['deadLetters[]', DeadLetter], 2: ['truncated', 'bool'] },
    RetryDeadLettersRequest: { 1: ['id', 'int64'], 2: ['all', 'bool'], 3: ['projector', 'string'] },
    RetryDeadLettersResponse: {
      1: ['outcomes[]', { 1: ['id', 'int64'], 2: ['outcome', 'string'], 3: ['error', 'string'] }],
      2: ['redriven', 'int32'], 3: ['alreadyRedriven', 'int32'], 4: ['failed', 'int32'],
    },
    ListMatchesRequest: {
      1: ['gameId', 'string'], 2: ['userId', 'string'], 3: ['endedSince', Timestamp],
      4: ['endedUntil', Timestamp], 5: ['limit', 'int32'], 6: ['cursor', 'string'],
    },
    ListMatchesResponse: { 1: ['matches[]', Match], 2: ['nextCursor', 'string'] },
    GetMatchRequest: { 1: ['sessionId', 'string'] },
    GetMatchResponse: { 1: ['match', Match] },
    ReplayMatchRequest: { 1: ['sessionId', 'string'], 2: ['speed', 'double'] },
    ReplayMatchResponse: {
      1: ['event', {
        1: ['topic', 'string'], 2: ['partition', 'int32'], 3: ['offset', 'int64'], 4: ['time', Timestamp],
        5: ['key', 'string'], 6: ['headers{}', 'string'], 7: ['type', 'string'], 8: ['dataJson', 'string'],
        9: ['error', 'string'], 10: ['raw', 'bytes'],
      }],
    },
  };
})();
