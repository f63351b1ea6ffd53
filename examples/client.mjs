// Chorus from Node: a chat reply over SSE, then a persona panel over a WebSocket.
import WebSocket from 'ws'; // npm install ws (Node 20 has no WebSocket of its own)

const base = process.argv[2] ?? 'http://localhost:3000';
const anon = 'node-client-1';

// SSE: the hybrid chat protocol's reply, printed as it is written.
const res = await fetch(`${base}/api/v1/messages/send`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', 'x-anon-id': anon },
  body: JSON.stringify({ model: 'gpt-4o-mini', content: 'Hello from Node', temperature: 0.7 }),
});
let buffer = '';
for await (const piece of res.body.pipeThrough(new TextDecoderStream())) {
  const events = (buffer += piece).split('\n\n');
  buffer = events.pop();
  for (const event of events) {
    const data = JSON.parse(event.match(/^data: ?(.*)$/m)?.[1] ?? '{}');
    if (data.type === 'assistant_delta') process.stdout.write(data.delta);
  }
}
console.log();

// WebSocket: the persona protocol on /ws, a panel of two, chunks as they come.
const ws = new WebSocket(`${base.replace('http', 'ws')}/ws?anon_id=${anon}`);
ws.on('open', () => ws.send(JSON.stringify({ type: 'multi_chat', data: { message: 'A good breakfast?', persona_ids: ['chef', 'historian'] } })));
ws.on('message', (raw) => {
  const msg = JSON.parse(raw);
  if (msg.type === 'persona_response') console.log(`${msg.persona_id}: ${msg.response}`);
  if (msg.type === 'response' || msg.type === 'error') ws.close();
  if (msg.type === 'error') console.error(`error: ${msg.message}`);
});
