"""Chorus from Python: a chat reply over SSE, then a persona over a WebSocket."""
import json, sys
import requests  # pip install requests websockets
from websockets.sync.client import connect

base = sys.argv[1] if len(sys.argv) > 1 else "http://localhost:3000"
anon = "python-client-1"

# SSE: the hybrid chat protocol's reply, printed as it is written.
body = {"model": "gpt-4o-mini", "content": "Hello from Python", "temperature": 0.7}
with requests.post(f"{base}/api/v1/messages/send", json=body, headers={"x-anon-id": anon}, stream=True) as res:
    for line in res.iter_lines(decode_unicode=True):
        event = json.loads(line[5:]) if line.startswith("data:") else {}
        if event.get("type") == "assistant_delta":
            print(event["delta"], end="", flush=True)
print()

# WebSocket: the persona protocol on /ws, one persona's reply in chunks.
with connect(base.replace("http", "ws", 1) + f"/ws?anon_id={anon}") as ws:
    ws.send(json.dumps({"type": "chat", "data": {"message": "A dish for a rainy day?", "persona_id": "chef"}}))
    while (msg := json.loads(ws.recv()))["type"] not in ("response", "error"):
        if msg["type"] == "chunk":
            print(msg["chunk"], end="", flush=True)
print("" if msg["type"] == "response" else f"\nerror: {msg['message']}")
