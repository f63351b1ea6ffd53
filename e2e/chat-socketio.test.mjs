// The hybrid chat protocol's clients, unchanged, against the real server: the socket.io
// client on the `/chats` namespace (`list_chats` → `chats_list`,
// `usage_info` on connect, `assistant_error` with ANON_LIMIT_REACHED), and
// the seed's fetch-and-read-lines reader of `POST /api/v1/messages/send`.
// No browser: Node's fetch and the npm `socket.io-client`.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startServer, register } from './harness.mjs';

let server;

before(async () => {
  server = await startServer(['--anon-message-limit', '2']);
});

after(async () => {
  await server?.stop();
});

/** Resolves with the first `name` event of `socket` (the seed's `on`). */
function once(socket, name) {
  return new Promise((resolve) => socket.once(name, resolve));
}

/**
 * The seed's `sendMessage`, kept line for line. The seed declares
 * `const event` inside the `event: ` branch, so the `data: ` branch reads an
 * undeclared variable; here `event` is declared once before the loop (a
 * `let`), which is what the seed's logic means. Returns what
 * `handleSSEEvent` saw.
 */
async function sendMessage(baseURL, headers, chatId, model, content) {
  const seen = [];
  function handleSSEEvent(event, data) {
    switch (event) {
      case 'assistant_typing':
      case 'assistant_delta':
      case 'assistant_complete':
      case 'assistant_error':
      case 'usage_info':
        seen.push([event, data]);
        break;
    }
  }
  const response = await fetch(`${baseURL}/api/v1/messages/send`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify({ chat_id: chatId, model, content, temperature: 0.7 }),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-cache');

  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let event; // declared here: the seed uses it across lines (and chunks)

  while (true) {
    const { done, value } = await reader.read();
    if (done) break;

    const chunk = decoder.decode(value);
    const lines = chunk.split('\n');

    for (const line of lines) {
      if (line.startsWith('event: ')) {
        event = line.slice(7);
      } else if (line.startsWith('data: ')) {
        const data = JSON.parse(line.slice(6));
        handleSSEEvent(event, data);
      }
    }
  }
  return seen;
}

test("the seed's socket.io client lists a user's chats on /chats", async () => {
  const token = await register(server.baseURL, 'seed_socketio');
  const seen = await sendMessage(server.baseURL, { Authorization: `Bearer ${token}` }, undefined, 'gpt-4o-mini', 'Hello from Node');
  const complete = seen.find(([e]) => e === 'assistant_complete')[1];

  // The seed's code, with the server's address (and promises around its
  // console.log handlers): it emits list_chats at once, before connecting.
  const socket = io(`${server.baseURL}/chats`, {
    auth: {
      token: token, // Optional for anonymous users
    },
  });

  // Listen to usage info
  const usageSeen = new Promise((resolve) => {
    socket.on('usage_info', (data) => {
      resolve(data);
    });
  });

  // List chats
  socket.emit('list_chats', { page: 0, limit: 20 });
  const chatsSeen = new Promise((resolve) => {
    socket.on('chats_list', (data) => {
      resolve(data);
    });
  });

  const usage = await usageSeen;
  assert.equal(usage.kind, 'user');
  assert.ok(usage.used > 0 && usage.used + usage.remaining === usage.limit, JSON.stringify(usage));
  const data = await chatsSeen;
  assert.equal(data.total, 1);
  assert.equal(data.page, 0);
  assert.equal(data.chats[0].id, complete.chat_id);
  assert.equal(data.chats[0].title, 'Hello from Node');

  const messages = once(socket, 'messages_list');
  socket.emit('list_messages', { chat_id: complete.chat_id, page: 0, limit: 20 });
  const history = await messages;
  assert.deepEqual(history.messages.map((m) => m.role), ['user', 'assistant']);
  assert.equal(history.messages[1].content, complete.content);

  // A bad event is answered in-band; the socket stays connected.
  const err = once(socket, 'error');
  socket.emit('list_messages', { chat_id: 'nope' });
  assert.equal((await err).code, 'NOT_FOUND');
  assert.ok(socket.connected);
  socket.disconnect();
});

test("the seed's fetch reader streams a reply; the limit reaches the socket as assistant_error", async () => {
  const anonId = 'anon-seed-node-1';
  const socket = io(`${server.baseURL}/chats`, { auth: { anonId } });
  await once(socket, 'usage_info');

  const first = await sendMessage(server.baseURL, { 'x-anon-id': anonId }, undefined, 'gpt-4o-mini', 'Hi');
  const events = first.map(([e]) => e);
  assert.equal(events[0], 'assistant_typing');
  assert.ok(events.includes('assistant_delta'));
  assert.deepEqual(events.slice(-2), ['assistant_complete', 'usage_info']);
  const complete = first.find(([e]) => e === 'assistant_complete')[1];
  const deltas = first.filter(([e]) => e === 'assistant_delta').map(([, d]) => d.delta).join('');
  assert.equal(deltas, complete.content);
  assert.deepEqual(first.at(-1)[1].remaining, 1);

  await sendMessage(server.baseURL, { 'x-anon-id': anonId }, complete.chat_id, 'gpt-4o-mini', 'Again');

  // The seed's error handler on the socket.
  let prompted = null;
  const handled = new Promise((resolve) => {
    socket.on('assistant_error', (data) => {
      switch (data.code) {
        case 'ANON_LIMIT_REACHED':
          prompted = 'login';
          break;
        case 'INSUFFICIENT_BALANCE':
          prompted = 'top-up';
          break;
        default:
          prompted = data.error;
      }
      resolve();
    });
  });
  const refused = await sendMessage(server.baseURL, { 'x-anon-id': anonId }, complete.chat_id, 'gpt-4o-mini', 'Third');
  assert.deepEqual(refused.map(([e]) => e), ['assistant_error', 'usage_info']);
  assert.equal(refused[0][1].code, 'ANON_LIMIT_REACHED');
  await handled;
  assert.equal(prompted, 'login');
  socket.disconnect();
});

test('a socket.io connection from another site or with a bad token is refused', async () => {
  const bad = io(`${server.baseURL}/chats`, { auth: { token: 'not-a-token' }, reconnection: false });
  const err = await once(bad, 'connect_error');
  assert.match(err.message, /^INVALID_TOKEN/);
  bad.disconnect();
  const foreign = io(`${server.baseURL}/chats`, {
    auth: { anonId: 'anon-foreign-1' },
    reconnection: false,
    extraHeaders: { Origin: 'http://evil.example' },
    transports: ['polling'],
  });
  const refused = await once(foreign, 'connect_error');
  assert.match(refused.message, /^FORBIDDEN/);
  foreign.disconnect();
});
