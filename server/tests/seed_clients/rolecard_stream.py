# The role-card protocol's Python client, unchanged (from "Python (using requests)"),
# with a driver below it: python3 rolecard_stream.py <base_url> <token>
import requests
import json

def generate_rolecard_stream(base_url, token, options=None):
    """Generate role card with SSE stream."""
    url = f"{base_url}/api/rolecard/generate/stream"
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "text/event-stream"
    }

    with requests.post(url, headers=headers, json=options or {}, stream=True) as response:
        response.raise_for_status()

        for line in response.iter_lines():
            if line:
                line = line.decode('utf-8')

                # SSE format: "data: {json}\n\n"
                if line.startswith('data: '):
                    data = json.loads(line[6:])
                    handle_sse_event(data)

def handle_sse_event(data):
    """Handle SSE event based on type."""
    event_type = data.get('type')

    if event_type == 'progress':
        print(f"Progress: {data['progress']}% - {data['message']}")
    elif event_type == 'complete':
        print("Generation complete!")
        print(f"Result: {data['result']}")
    elif event_type == 'error':
        print(f"Error: {data['error']}")

if __name__ == "__main__":
    import sys
    generate_rolecard_stream(sys.argv[1], sys.argv[2], {"options": {"includeCore": True, "includeRelations": True}})
