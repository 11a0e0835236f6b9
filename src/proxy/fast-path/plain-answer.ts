import { STATUS_CODES } from 'node:http';
import { answerFields } from '../answer-texts.js';
import { connectionFields } from './field-lines.js';

/**
 * baton's own answer (502, 503, 504) as raw bytes, with the fields of `answerFields` (the
 * same node:http's path sends). A HEAD request gets the head only.
 */
export function plainAnswer(status: number, text: string, keepAlive: boolean, headRequest: boolean): string {
  const body = `${text}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
  for (const [name, value] of Object.entries(answerFields(status, body))) head += `${name}: ${value}\r\n`;
  return head + connectionFields(keepAlive) + (headRequest ? '' : body);
}
