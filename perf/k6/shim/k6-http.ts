// Stand-in for `k6/http`: synchronous requests (like k6's) through the parent thread, which does
// the real fetch while this worker waits on a shared buffer. Requests to K6_API_URL are answered
// from the recorded metrics, like k6's REST API.
const shim = (globalThis as any).__k6shim;

interface ShimResponse {
  status: number;
  body: string;
  headers: Record<string, string>;
  json(): unknown;
}

function respond(status: number, body: string, headers: Record<string, string> = {}): ShimResponse {
  return { status, body, headers, json: () => JSON.parse(body) };
}

function k6Api(url: string): ShimResponse {
  const name = /\/v1\/metrics\/([\w-]+)$/.exec(url)?.[1];
  const samples = name ? shim.metrics[name] : undefined;
  if (!samples) return respond(404, '{}');
  const count = samples.reduce((sum: number, s: { value: number }) => sum + s.value, 0);
  return respond(200, JSON.stringify({ data: { attributes: { sample: { count } } } }));
}

export function request(
  method: string,
  url: string,
  body?: string | null,
  params: { headers?: Record<string, string>; tags?: Record<string, string> } = {},
): ShimResponse {
  if (shim.k6ApiUrl && url.startsWith(shim.k6ApiUrl)) return k6Api(url);
  const reply = shim.fetchSync({ method, url, body: body ?? undefined, headers: params.headers ?? {} });
  shim.requests.push({ method, url, status: reply.status, tags: params.tags ?? {} });
  return respond(reply.status, reply.body, reply.headers);
}

export const get = (url: string, params?: any) => request('GET', url, null, params);
export const post = (url: string, body?: string | null, params?: any) => request('POST', url, body, params);
export const patch = (url: string, body?: string | null, params?: any) => request('PATCH', url, body, params);
export const del = (url: string, body?: string | null, params?: any) => request('DELETE', url, body, params);
export const expectedStatuses = (...statuses: unknown[]) => ({ statuses });
export function setResponseCallback(_callback: unknown): void {}

export default { request, get, post, patch, del, expectedStatuses, setResponseCallback };
