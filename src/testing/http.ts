import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { openApiChecker } from './openapi-check.js';
import { testAdminToken } from './admin.js';

export interface HttpResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/**
 * A thin fetch client for tests: JSON in, JSON out, optional bearer token. Every response is
 * checked against the API document (openapi-check.ts): one that the document does not describe
 * fails the test that received it.
 */
export class HttpClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(
    method: string,
    path: string,
    options: {
      body?: unknown;
      token?: string;
      headers?: Record<string, string>;
      raw?: string | Uint8Array | FormData;
    } = {},
  ): Promise<HttpResult<T>> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    let body: RequestInit['body'];
    if (options.raw !== undefined) body = options.raw as RequestInit['body'];
    else if (options.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(options.body);
    }
    const response = await fetch(this.baseUrl + path, { method, headers, body });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (metrics, docs): keep the text
    }
    openApiChecker().check(method, path, response.status, response.headers, parsed);
    return { status: response.status, body: parsed as T, headers: response.headers };
  }

  get<T = any>(path: string, token?: string) {
    return this.request<T>('GET', path, { token });
  }
  post<T = any>(path: string, body?: unknown, token?: string) {
    return this.request<T>('POST', path, { body, token });
  }
  patch<T = any>(path: string, body?: unknown, token?: string) {
    return this.request<T>('PATCH', path, { body, token });
  }
  delete<T = any>(path: string, token?: string) {
    return this.request<T>('DELETE', path, { token });
  }

  /**
   * Signs up a fresh member with unique fields and logs in; returns its id and tokens. A SELLER is
   * approved by an admin first (through the admin API), unless `approved: false` (a pending seller).
   */
  async member(
    role: 'CUSTOMER' | 'SELLER' = 'CUSTOMER',
    options: { approved?: boolean } = {},
  ): Promise<{ id: string; email: string; accessToken: string; refreshToken: string }> {
    const tag = randomUUID().replace(/-/g, '').slice(0, 12);
    const email = `${role.toLowerCase()}-${tag}@test.pick`;
    const signup = await this.post('/api/auth/signup', {
      email,
      password: 'password123',
      name: 'Test Member',
      nickname: `m${tag}`,
      phone: `010-${parseInt(tag.slice(0, 7), 16) % 10_000_000}`.padEnd(12, '0'),
      address: 'Seoul',
      role,
    });
    if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${JSON.stringify(signup.body)}`);
    if (role === 'SELLER' && options.approved !== false) {
      const approval = await this.post(
        `/api/admin/sellers/${signup.body.id}/approve`,
        undefined,
        await testAdminToken(),
      );
      if (approval.status !== 200)
        throw new Error(`seller approval failed: ${approval.status} ${JSON.stringify(approval.body)}`);
    }
    const login = await this.post('/api/auth/login', { email, password: 'password123' });
    if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
    return { id: signup.body.id, email, ...login.body };
  }
}

/**
 * A GET on a new TCP connection (no keep-alive pool): PM2 cluster mode hands each new
 * connection to the next worker, so repeated calls reach every worker (`servedBy`).
 */
export function freshGet<T = any>(url: string, timeoutMs = 10_000): Promise<HttpResult<T> & { servedBy: string }> {
  return freshRequest<T>('GET', url, { timeoutMs });
}

/**
 * Any method on a new TCP connection that is closed after the response (see freshGet), e.g. a
 * claim POST with a bearer token. Load tests through an nginx that is reloaded use it too: on a
 * reload, nginx's old workers close their idle client keep-alive connections, and a request
 * written onto one at that instant is reset (browsers retry those; fetch does not).
 */
export function freshRequest<T = any>(
  method: string,
  url: string,
  options: { token?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number } = {},
): Promise<HttpResult<T> & { servedBy: string }> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { connection: 'close', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    // An explicit length (0 without a body): never a chunked body the server did not ask for.
    if (options.body !== undefined || method !== 'GET')
      headers['content-length'] = String(Buffer.byteLength(options.body ?? ''));
    const request = httpRequest(url, { method, headers, agent: false, timeout: timeoutMs }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: keep the text
        }
        const headers = new Headers();
        for (const [name, value] of Object.entries(response.headers))
          if (typeof value === 'string') headers.set(name, value);
        try {
          openApiChecker().check(method, url, response.statusCode ?? 0, headers, body);
        } catch (error) {
          return reject(error);
        }
        resolve({
          status: response.statusCode ?? 0,
          body: body as T,
          headers,
          servedBy: String(response.headers['x-served-by'] ?? ''),
        });
      });
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${url} timed out after ${timeoutMs} ms`)));
    request.on('error', reject);
    request.end(options.body);
  });
}

/** fetch for clients under test (the typed client in src/client): every response checked against the API document. */
export async function checkedFetch(request: Request): Promise<Response> {
  const response = await fetch(request);
  const text = await response.clone().text();
  let body: unknown = text || undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the check says whether that is allowed
  }
  openApiChecker().check(request.method, request.url, response.status, response.headers, body);
  return response;
}
