/**
 * A plain-HTTP loopback proxy in front of a test cluster that holds chosen requests open (never
 * forwards nor answers them), so a test can act at the exact moment a client is waiting on one.
 * Everything else is forwarded with the cluster's own credentials.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';

import type { ClusterAccess } from './kube-request.js';

export interface HoldingProxy {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** A kubeconfig (YAML text) that reaches the cluster through this proxy, without credentials. */
  kubeconfig: string;
  /** Every request seen, as `METHOD path -> status` (`held` when held): for failure messages. */
  seen: string[];
  /** Requests held so far. */
  held(): number;
  /** Resolves once a request has been held. */
  firstHeld: Promise<void>;
  /** Breaks every open connection (watches, held requests) as a network failure would; the proxy stays up. */
  cut(): void;
  close(): Promise<void>;
}

export async function startHoldingProxy(
  access: ClusterAccess,
  hold: (req: IncomingMessage) => boolean,
): Promise<HoldingProxy> {
  const upstream = new URL(access.server);
  const heldResponses: ServerResponse[] = [];
  const seen: string[] = [];
  let markHeld!: () => void;
  const firstHeld = new Promise<void>((resolve) => (markHeld = resolve));
  const server: Server = createServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    if (hold(req)) {
      seen.push(`${line} -> held`);
      heldResponses.push(res);
      markHeld();
      return;
    }
    const headers = { ...req.headers, host: upstream.host };
    if (access.token) headers.authorization = `Bearer ${access.token}`;
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers,
        ...(access.caPem ? { ca: access.caPem } : {}),
        ...(access.certPem ? { cert: access.certPem } : {}),
        ...(access.keyPem ? { key: access.keyPem } : {}),
        rejectUnauthorized: access.insecureSkipTlsVerify !== true,
      },
      (answer) => {
        seen.push(`${line} -> ${answer.statusCode}`);
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => {
      seen.push(`${line} -> ${error.message}`);
      res.destroy();
    });
    res.on('close', () => forward.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const kubeconfig = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    // Plain HTTP on loopback; client-node wants this flag set to allow it at all.
    `- name: proxy\n  cluster:\n    server: ${url}\n    insecure-skip-tls-verify: true`,
    'users:',
    '- name: proxy\n  user: {}',
    'contexts:',
    '- name: proxy\n  context:\n    cluster: proxy\n    user: proxy',
    'current-context: proxy',
    '',
  ].join('\n');
  return {
    url,
    kubeconfig,
    seen,
    held: () => heldResponses.length,
    firstHeld,
    cut: () => {
      for (const res of heldResponses.splice(0)) res.destroy();
      server.closeAllConnections();
    },
    close: async () => {
      for (const res of heldResponses) res.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
