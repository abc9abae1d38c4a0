// How an app's backend calls the engine (Node 18+, fetch): award XP once per user action with
// an Idempotency-Key, retry on 503 and network errors with the same key, read the day's
// limits, and handle 429 (a daily limit or cap) with its Retry-After.
//
// Run against `make run`:  node examples/integration/backend.mjs [user_id]
// Environment: GAMIFICATION_URL (http://127.0.0.1:3000), GAMIFICATION_API_KEY (local-dev-key).
// Prints one JSON line per step. API reference: /docs on the local server, docs/openapi.json.
import { randomUUID } from "node:crypto";

const BASE = (process.env.GAMIFICATION_URL || "http://127.0.0.1:3000").replace(/\/$/, "");
const KEY = process.env.GAMIFICATION_API_KEY || "local-dev-key";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// One API call. Retries 503 (contention) and network errors with backoff; a write keeps the
// same Idempotency-Key on every attempt, so it takes effect once however often it is sent.
async function call(method, path, { body, idempotencyKey, attempts = 5 } = {}) {
  const headers = { Authorization: `Bearer ${KEY}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (idempotencyKey) headers["Idempotency-Key"] = idempotencyKey;
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(BASE + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status !== 503 || attempt === attempts - 1) return response;
    } catch (error) { // network error or timeout
      if (attempt === attempts - 1) throw error;
    }
    await sleep(Math.min(2000, 100 * 2 ** attempt));
  }
}

// Award XP for one user action; eventId is your own id of the action (e.g. the message id).
async function awardXp(userId, action, eventId) {
  const response = await call("POST", `/v1/users/${encodeURIComponent(userId)}/xp`, {
    body: { action }, idempotencyKey: `xp:${eventId}`,
  });
  const body = await response.json();
  if (response.status === 429) {
    return { awarded: false, code: body.error.code, retry_after_s: Number(response.headers.get("retry-after") || 0) };
  }
  if (!response.ok) throw new Error(`${response.status} ${body.error.code}: ${body.error.message}`);
  return { awarded: true, xp: body.xp_awarded, total_xp: body.total_xp, level: body.level,
           replayed: response.headers.get("idempotent-replayed") === "true" };
}

const user = process.argv[2] || `user-${randomUUID().slice(0, 8)}`;
const event = randomUUID();
const steps = {
  award: await awardXp(user, "daily_chat", event),
  retry_same_event: await awardXp(user, "daily_chat", event), // a retry: replayed, no double award
  second_chat_today: await awardXp(user, "daily_chat", randomUUID()), // daily_limit 1: 429
};
const limits = await call("GET", `/v1/users/${encodeURIComponent(user)}/limits`);
if (!limits.ok) throw new Error(`limits: ${limits.status}`);
const day = await limits.json();
steps.limits = { daily_chat: { count: day.actions.daily_chat.count, remaining: day.actions.daily_chat.remaining },
                 xp_remaining: day.xp_remaining };
for (const [step, result] of Object.entries(steps)) console.log(JSON.stringify({ step, ...result }));
