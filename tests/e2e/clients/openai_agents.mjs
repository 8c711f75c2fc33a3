// The OpenAI Agents SDK's MCP clients (the closest stand-in for ChatGPT's own), over Streamable
// HTTP and over SSE: connect, list every tool, call one. Prints one JSON line for the test.
import { MCPServerStreamableHttp, MCPServerSSE } from '@openai/agents';

const url = process.argv[2];

async function exercise(server) {
  await server.connect();
  try {
    const tools = await server.listTools();
    const content = await server.callTool('get_single_gorgias_account', {});
    const text = Array.isArray(content) ? content[0].text : content.content[0].text;
    return { tools: tools.length, account: JSON.parse(text).domain };
  } finally {
    await server.close();
  }
}

const streamable = await exercise(new MCPServerStreamableHttp({ url, name: 'deskgate' }));
const sse = await exercise(new MCPServerSSE({ url: `${url}/sse`, name: 'deskgate-sse' }));
console.log(JSON.stringify({ streamable, sse }));
