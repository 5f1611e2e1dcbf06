import type { FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { clientErrorBody, toErrorBody } from '../common/exception.filter.js';

/** Errors Fastify answers before routing (a path that is not valid percent-encoding): the API's error shape. */
export function frameworkErrors(error: Error, request: FastifyRequest, reply: FastifyReply): void {
  const body = { ...toErrorBody(error), requestId: String(request.id) };
  void reply.status(body.statusCode).header('x-request-id', request.id).send(body);
}

/**
 * Errors Node's HTTP parser raises before there is a request (431 headers too large, 408 too slow, 400
 * not HTTP): Fastify's own answer has no `code`, `requestId` or x-request-id. Written straight to the
 * socket, as the Node docs ask of a 'clientError' listener, with a fresh x-request-id; the connection is
 * closed.
 */
export function answerClientError(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const answer = { ...clientErrorBody(error), requestId };
  const body = JSON.stringify(answer);
  socket.end(
    `HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode]}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`,
  );
}
