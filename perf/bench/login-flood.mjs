// One abusive client: `connections` closed-loop keep-alive connections sending wrong-password
// logins for `seconds`, in a process of its own (so it does not share the measuring process's
// event loop). Prints one JSON line: requests by status.
//   node perf/bench/login-flood.mjs <baseUrl> <connections> <seconds> <email>
import http from 'node:http';

const [baseUrl, connectionsArg, secondsArg, email] = process.argv.slice(2);
const connections = Number(connectionsArg);
const deadline = Date.now() + Number(secondsArg) * 1000;
const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
const url = new URL('/api/auth/login', baseUrl);
const body = JSON.stringify({ email, password: 'wrong-password-0' });
const statuses = {};
let requests = 0;
let errors = 0;

const login = () =>
  new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: 15_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });

async function loop() {
  while (Date.now() < deadline) {
    try {
      const status = await login();
      statuses[status] = (statuses[status] ?? 0) + 1;
      requests++;
    } catch {
      errors++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

await Promise.all(Array.from({ length: connections }, loop));
agent.destroy();
console.log(JSON.stringify({ requests, errors, statuses }));
